//! Inlining remote images for Gemini, which takes no image URLs: each `https` image in
//! the IR is fetched (at most [`MAX_IMAGE_BYTES`], content type `image/*`) and replaced by
//! base64 data. Only public addresses are reached unless the operator sets
//! `[upstream] allow_private_image_hosts` (`switchyard_core::upstream::guard`). A fetch
//! that fails or is refused leaves the URL in place (the Gemini encoder then sends it as
//! `fileData`, and the upstream's error reaches the client).

use crate::state::AppState;
use base64::Engine;
use switchyard_types::ir::{ChatRequest, ImageSource, Part, ToolResultContent};

/// Largest image inlined.
pub const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;

fn is_remote(source: &ImageSource) -> bool {
    matches!(source, ImageSource::Url { url } if url.starts_with("https://"))
}

fn sources_mut(request: &mut ChatRequest) -> impl Iterator<Item = &mut ImageSource> {
    request
        .messages
        .iter_mut()
        .flat_map(|m| m.parts.iter_mut())
        .flat_map(|part| {
            let mut found: Vec<&mut ImageSource> = Vec::new();
            match part {
                Part::Image { source } => found.push(source),
                Part::ToolResult { content, .. } => {
                    for c in content.iter_mut() {
                        if let ToolResultContent::Image { source } = c {
                            found.push(source);
                        }
                    }
                }
                Part::Text { .. }
                | Part::ToolCall { .. }
                | Part::Thinking { .. }
                | Part::RedactedThinking { .. } => {}
            }
            found
        })
}

/// Whether the request holds any `https` image.
pub fn has_remote(request: &ChatRequest) -> bool {
    request
        .messages
        .iter()
        .flat_map(|m| &m.parts)
        .any(|part| match part {
            Part::Image { source } => is_remote(source),
            Part::ToolResult { content, .. } => content
                .iter()
                .any(|c| matches!(c, ToolResultContent::Image { source } if is_remote(source))),
            Part::Text { .. }
            | Part::ToolCall { .. }
            | Part::Thinking { .. }
            | Part::RedactedThinking { .. } => false,
        })
}

/// Replace every fetchable `https` image with its base64 data.
pub async fn inline_remote(state: &AppState, request_id: &str, request: &mut ChatRequest) {
    for source in sources_mut(request) {
        let ImageSource::Url { url } = source else {
            continue;
        };
        if !url.starts_with("https://") {
            continue;
        }
        match state.upstream.fetch(url, MAX_IMAGE_BYTES).await {
            Ok((bytes, media_type)) if media_type.starts_with("image/") => {
                let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
                *source = ImageSource::Base64 { media_type, data };
            }
            Ok((_, media_type)) => {
                tracing::warn!(request_id, %media_type, "not inlining a non-image URL");
            }
            Err(e) => tracing::warn!(request_id, error = %e, "could not fetch an image to inline"),
        }
    }
}

//! Part-level conversions shared by requests, responses and streams: the thought-signature
//! convention (see the module docs of [`super`]), images, and function-call arguments.

use serde_json::{Map, Value};
use switchyard_types::Protocol;
use switchyard_types::ir::{ImageSource, Part, Signature};

use super::wire;

/// The value of a signature Gemini issued; other origins are dropped (§4.6).
pub fn gemini_signature(signature: Option<&Signature>) -> Option<String> {
    signature
        .filter(|s| s.origin == Protocol::Gemini)
        .map(|s| s.value.clone())
}

pub fn signature(value: &str) -> Signature {
    Signature {
        value: value.to_owned(),
        origin: Protocol::Gemini,
    }
}

/// A part that carries only a signature (Gemini sends such parts, e.g. at a turn's end).
pub fn signature_only(value: String) -> wire::Part {
    wire::Part {
        text: Some(String::new()),
        thought_signature: Some(value),
        ..wire::Part::default()
    }
}

/// Builds one content's parts, attaching a pending signature (from an empty-text
/// `Part::Thinking`) to the next part emitted.
#[derive(Debug, Default)]
pub struct PartEncoder {
    parts: Vec<wire::Part>,
    pending: Option<String>,
}

impl PartEncoder {
    pub fn push(&mut self, mut part: wire::Part) {
        if let Some(sig) = self.pending.take() {
            part.thought_signature = Some(sig);
        }
        self.parts.push(part);
    }

    /// A signature for the next part; a previous one still waiting goes out on its own.
    pub fn signature(&mut self, value: String) {
        if let Some(previous) = self.pending.replace(value) {
            self.parts.push(signature_only(previous));
        }
    }

    /// A thought part with its text; its own signature, or else a pending one.
    pub fn thought(&mut self, text: &str, own: Option<String>) {
        let mut part = wire::Part {
            text: Some(text.to_owned()),
            thought: Some(true),
            ..wire::Part::default()
        };
        if let Some(sig) = own {
            if let Some(previous) = self.pending.take() {
                self.parts.push(signature_only(previous));
            }
            part.thought_signature = Some(sig);
            self.parts.push(part);
        } else {
            self.push(part);
        }
    }

    /// An IR part that is one of Thinking/Text/Image/ToolCall (model-side content).
    /// `keep_unsigned_thoughts`: thought text without a Gemini signature is kept (towards
    /// a client) or dropped (towards the Gemini API, which takes no foreign thoughts).
    pub fn thinking(&mut self, text: &str, sig: Option<&Signature>, keep_unsigned_thoughts: bool) {
        let sig = gemini_signature(sig);
        match (text.is_empty(), sig) {
            (true, Some(sig)) => self.signature(sig),
            (true, None) => {}
            (false, Some(sig)) => self.thought(text, Some(sig)),
            (false, None) if keep_unsigned_thoughts => self.thought(text, None),
            (false, None) => {}
        }
    }

    pub fn finish(mut self) -> Vec<wire::Part> {
        if let Some(sig) = self.pending.take() {
            self.parts.push(signature_only(sig));
        }
        self.parts
    }
}

/// Function-call arguments (JSON text) as the object Gemini wants; anything that is not a
/// JSON object becomes `{}` (§4.2).
pub fn args_object(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(m)) => Value::Object(m),
        _ => Value::Object(Map::new()),
    }
}

/// Function-call arguments as JSON text for the IR.
pub fn args_text(args: Option<&Value>) -> String {
    match args {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(v) => v.to_string(),
    }
}

/// An IR image as a Gemini part: base64 and `data:` URLs inline, other URLs as `fileData`
/// with a MIME type guessed from the extension. `Err` for a `data:` URL that is not base64.
pub fn image_part(source: &ImageSource) -> Result<wire::Part, &'static str> {
    match source {
        ImageSource::Base64 { media_type, data } => Ok(inline(media_type, data)),
        ImageSource::Url { url } => {
            if let Some(rest) = url.strip_prefix("data:") {
                let (meta, data) = rest.split_once(',').ok_or("a data URL needs a comma")?;
                let mime = meta
                    .strip_suffix(";base64")
                    .ok_or("only base64 data URLs can be sent to Gemini")?;
                let mime = mime.split(';').next().unwrap_or(mime);
                return Ok(inline(mime, data));
            }
            let file = wire::FileData {
                mime_type: Some(guess_mime(url).to_owned()),
                file_uri: url.clone(),
            };
            Ok(wire::Part {
                file_data: Some(file),
                ..wire::Part::default()
            })
        }
    }
}

fn inline(mime: &str, data: &str) -> wire::Part {
    let blob = wire::Blob {
        mime_type: mime.to_owned(),
        data: data.to_owned(),
    };
    wire::Part {
        inline_data: Some(blob),
        ..wire::Part::default()
    }
}

/// The image MIME type of a URL, from its extension; `image/jpeg` when unknown.
pub fn guess_mime(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let file = path.rsplit('/').next().unwrap_or(path);
    let ext = file
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        _ => "image/jpeg",
    }
}

/// IR parts of a Gemini image part (`inlineData` / `fileData`).
pub fn ir_image(part: &wire::Part) -> Option<Part> {
    if let Some(blob) = &part.inline_data {
        let source = ImageSource::Base64 {
            media_type: blob.mime_type.clone(),
            data: blob.data.clone(),
        };
        return Some(Part::Image { source });
    }
    part.file_data.as_ref().map(|f| Part::Image {
        source: ImageSource::Url {
            url: f.file_uri.clone(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_guess_and_data_urls() {
        assert_eq!(
            guess_mime("https://x.test/a/b.PNG?size=2#frag"),
            "image/png"
        );
        assert_eq!(guess_mime("https://x.test/a.webp"), "image/webp");
        assert_eq!(guess_mime("https://x.test/photo"), "image/jpeg");
        assert_eq!(guess_mime("gs://bucket/x.gif"), "image/gif");
        let part = image_part(&ImageSource::Url {
            url: "data:image/png;base64,AAAA".into(),
        })
        .unwrap();
        assert_eq!(
            part.inline_data,
            Some(wire::Blob {
                mime_type: "image/png".into(),
                data: "AAAA".into()
            })
        );
        assert!(
            image_part(&ImageSource::Url {
                url: "data:text/plain,hello".into()
            })
            .is_err()
        );
        assert!(
            image_part(&ImageSource::Url {
                url: "data:nocomma".into()
            })
            .is_err()
        );
    }

    #[test]
    fn args_are_objects() {
        assert_eq!(args_object(r#"{"a":1}"#), serde_json::json!({"a": 1}));
        assert_eq!(args_object("[1]"), serde_json::json!({}));
        assert_eq!(args_object("{broken"), serde_json::json!({}));
        assert_eq!(args_text(None), "{}");
        assert_eq!(
            args_text(Some(&serde_json::json!({"b": [1, 2]}))),
            r#"{"b":[1,2]}"#
        );
    }
}

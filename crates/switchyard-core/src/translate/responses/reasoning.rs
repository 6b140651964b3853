//! The `encrypted_content` of the reasoning items we emit: what a non-OpenAI upstream
//! needs to continue a thinking conversation (Anthropic thinking text + signature,
//! Anthropic redacted thinking, Gemini thought signatures), carried by the client to the
//! next turn.
//!
//! Format: `sy1.` + unpadded base64url of a small JSON object `{"p": origin protocol,
//! "t": thinking text, "s": signature}` or `{"p": "anthropic", "r": redacted data}`. It is
//! opaque to clients and not secret (it only repeats what the upstream sent). A string
//! without the prefix is some other issuer's (real OpenAI's Fernet tokens, which a
//! passthrough never touches): it is no use to another provider and is ignored. A string
//! *with* the prefix that does not decode is the client's mistake: a 400 naming the field.

use crate::translate::TranslateError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use switchyard_types::Protocol;
use switchyard_types::ir::{Part, Signature};

/// Marks content this gateway issued.
pub(super) const PREFIX: &str = "sy1.";

#[derive(Debug, Serialize, Deserialize)]
struct Payload<'a> {
    p: Protocol,
    #[serde(default, skip_serializing_if = "str::is_empty", borrow)]
    t: std::borrow::Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
    s: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
    r: Option<std::borrow::Cow<'a, str>>,
}

/// The `encrypted_content` for a thinking part: its text and signature. `None` when there
/// is no signature (nothing an upstream could verify).
pub(super) fn seal_thinking(text: &str, signature: Option<&Signature>) -> Option<String> {
    let signature = signature?;
    seal(&Payload {
        p: signature.origin,
        t: text.into(),
        s: Some(signature.value.as_str().into()),
        r: None,
    })
}

/// The `encrypted_content` for Anthropic redacted thinking.
pub(super) fn seal_redacted(data: &str) -> Option<String> {
    seal(&Payload {
        p: Protocol::Anthropic,
        t: "".into(),
        s: None,
        r: Some(data.into()),
    })
}

fn seal(payload: &Payload<'_>) -> Option<String> {
    let json = serde_json::to_vec(payload).ok()?;
    let mut out = String::with_capacity(PREFIX.len() + json.len() * 4 / 3 + 4);
    out.push_str(PREFIX);
    URL_SAFE_NO_PAD.encode_string(json, &mut out);
    Some(out)
}

/// The part a reasoning item stands for. `summary` is the item's visible text, used
/// when the content is not ours (or absent). `Ok(None)`: nothing worth sending on.
pub(super) fn open(
    content: Option<&str>,
    summary: String,
    field: &str,
) -> Result<Option<Part>, TranslateError> {
    let Some(sealed) = content.and_then(|c| c.strip_prefix(PREFIX)) else {
        // Not ours (or none): only the visible summary is left, unsigned.
        return Ok((!summary.is_empty()).then_some(Part::Thinking {
            text: summary,
            signature: None,
        }));
    };
    let bad = |why: &str| {
        TranslateError::field(
            field,
            format!(
                "is not reasoning content this gateway issued ({why}); send reasoning items back unchanged"
            ),
        )
    };
    let json = URL_SAFE_NO_PAD
        .decode(sealed.trim_end_matches('='))
        .map_err(|_| bad("not base64url"))?;
    let payload: Payload<'_> = serde_json::from_slice(&json).map_err(|_| bad("not its JSON"))?;
    if let Some(data) = payload.r {
        return Ok(Some(Part::RedactedThinking {
            data: data.into_owned(),
        }));
    }
    let Some(value) = payload.s else {
        return Err(bad("no signature"));
    };
    Ok(Some(Part::Thinking {
        text: payload.t.into_owned(),
        signature: Some(Signature {
            value: value.into_owned(),
            origin: payload.p,
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_thinking_opens_to_the_same_part() {
        let sig = Signature {
            value: "c2lnbmF0dXJl+/=".into(),
            origin: Protocol::Anthropic,
        };
        let sealed = seal_thinking("Let me think \"hard\" ✓", Some(&sig)).unwrap();
        assert!(sealed.starts_with(PREFIX));
        let part = open(Some(&sealed), "summary".into(), "input[0]").unwrap();
        assert_eq!(
            part,
            Some(Part::Thinking {
                text: "Let me think \"hard\" ✓".into(),
                signature: Some(sig),
            })
        );
        let redacted = seal_redacted("opaque").unwrap();
        assert_eq!(
            open(Some(&redacted), String::new(), "x").unwrap(),
            Some(Part::RedactedThinking {
                data: "opaque".into()
            })
        );
        assert_eq!(seal_thinking("t", None), None);
    }

    #[test]
    fn foreign_content_keeps_the_summary_and_broken_content_is_a_400() {
        assert_eq!(
            open(Some("gAAAAABfernet"), "sum".into(), "x").unwrap(),
            Some(Part::Thinking {
                text: "sum".into(),
                signature: None
            })
        );
        assert_eq!(open(None, String::new(), "x").unwrap(), None);
        for broken in ["sy1.!!!", "sy1.e30", "sy1.bm90IGpzb24"] {
            let e = open(Some(broken), String::new(), "input[3].encrypted_content");
            assert!(
                matches!(&e, Err(TranslateError::InvalidField { field, .. }) if field == "input[3].encrypted_content"),
                "{broken}: {e:?}"
            );
        }
    }
}

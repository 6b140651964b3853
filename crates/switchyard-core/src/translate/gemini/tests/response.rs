//! decode_response and encode_response.

use serde_json::json;
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatResponse, FinishReason, Part, Usage};

use super::{body_json, sig, text};
use crate::translate::gemini::GeminiCodec;
use crate::translate::{Codec, TranslateError};

#[test]
fn decode_response_with_thoughts_parallel_calls_and_usage() {
    let body = json!({
        "candidates": [{
            "content": {"role": "model", "parts": [
                {"text": "**Checking** both cities", "thought": true, "thoughtSignature": "dGhvdWdodC1zaWc="},
                {"text": "I'll look both up."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "Y2FsbC1zaWc="},
                {"functionCall": {"name": "get_weather", "args": {"city": "Lyon"}}},
                {"functionCall": {"id": "given-id", "name": "get_time", "args": {}}}
            ]},
            "finishReason": "STOP",
            "index": 0,
            "safetyRatings": []
        }],
        "usageMetadata": {"promptTokenCount": 1200, "cachedContentTokenCount": 1000, "candidatesTokenCount": 40,
            "thoughtsTokenCount": 25, "toolUsePromptTokenCount": 10, "totalTokenCount": 1275},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "resp-abc"
    });
    let ir = GeminiCodec::decode_response(body.to_string().as_bytes()).unwrap();
    assert_eq!(ir.finish, FinishReason::ToolCalls);
    assert_eq!(
        ir.usage,
        Usage {
            input_tokens: 1210,
            output_tokens: 65,
            cached_input_tokens: 1000,
            cache_creation_input_tokens: 0,
            reasoning_tokens: 25
        }
    );
    insta::assert_json_snapshot!(ir);
}

#[test]
fn decode_response_finish_reasons() {
    let reason_of = |reason: &str, call: bool| {
        let part = if call {
            json!({"functionCall": {"name": "f", "args": {}}})
        } else {
            json!({"text": "x"})
        };
        let body = json!({"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": reason, "index": 0}]});
        GeminiCodec::decode_response(body.to_string().as_bytes())
            .unwrap()
            .finish
    };
    let filter = |r: &str| FinishReason::ContentFilter(r.into());
    let other = |r: &str| FinishReason::Other(r.into());
    let cases = [
        ("STOP", false, FinishReason::Stop),
        ("STOP", true, FinishReason::ToolCalls),
        ("MAX_TOKENS", false, FinishReason::Length),
        ("MAX_TOKENS", true, FinishReason::Length),
        ("SAFETY", false, filter("SAFETY")),
        ("RECITATION", false, filter("RECITATION")),
        ("BLOCKLIST", false, filter("BLOCKLIST")),
        ("PROHIBITED_CONTENT", false, filter("PROHIBITED_CONTENT")),
        ("SPII", false, filter("SPII")),
        ("IMAGE_SAFETY", false, filter("IMAGE_SAFETY")),
        (
            "IMAGE_PROHIBITED_CONTENT",
            false,
            filter("IMAGE_PROHIBITED_CONTENT"),
        ),
        ("IMAGE_RECITATION", false, filter("IMAGE_RECITATION")),
        ("IMAGE_OTHER", false, filter("IMAGE_OTHER")),
        (
            "MALFORMED_FUNCTION_CALL",
            false,
            other("MALFORMED_FUNCTION_CALL"),
        ),
        ("UNEXPECTED_TOOL_CALL", true, other("UNEXPECTED_TOOL_CALL")),
        ("TOO_MANY_TOOL_CALLS", true, other("TOO_MANY_TOOL_CALLS")),
        ("OTHER", false, other("OTHER")),
        ("LANGUAGE", false, other("LANGUAGE")),
        (
            "FINISH_REASON_UNSPECIFIED",
            false,
            other("FINISH_REASON_UNSPECIFIED"),
        ),
        ("NO_IMAGE", false, other("NO_IMAGE")),
    ];
    for (reason, call, want) in cases {
        assert_eq!(reason_of(reason, call), want, "{reason} call={call}");
    }
    // A blocked prompt: no candidates.
    let blocked = json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"promptTokenCount": 9}, "responseId": "r"});
    let ir = GeminiCodec::decode_response(blocked.to_string().as_bytes()).unwrap();
    assert_eq!(
        (ir.parts.len(), ir.finish, ir.usage.input_tokens),
        (0, filter("PROHIBITED_CONTENT"), 9)
    );
    for bad in [
        &b"{}"[..],
        b"not json",
        br#"{"error":{"code":500,"message":"x"}}"#,
    ] {
        assert!(matches!(
            GeminiCodec::decode_response(bad),
            Err(TranslateError::UpstreamMalformed(_))
        ));
    }
}

fn answer() -> ChatResponse {
    ChatResponse {
        id: "msg_01".into(),
        model: "claude-sonnet-4-5".into(),
        created: 1_700_000_000,
        parts: vec![
            Part::Thinking {
                text: "Two cities: two calls.".into(),
                signature: sig("EqQBCkYIBxgCKkD", Protocol::Anthropic),
            },
            Part::Thinking {
                text: String::new(),
                signature: sig("Z2VtLXNpZw==", Protocol::Gemini),
            },
            text("Checking both."),
            Part::ToolCall {
                id: "toolu_1".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris"}"#.into(),
            },
            Part::ToolCall {
                id: "toolu_2".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Lyon"}"#.into(),
            },
            Part::RedactedThinking { data: "x".into() },
        ],
        finish: FinishReason::ToolCalls,
        usage: Usage {
            input_tokens: 1500,
            output_tokens: 90,
            cached_input_tokens: 1200,
            cache_creation_input_tokens: 100,
            reasoning_tokens: 30,
        },
    }
}

#[test]
fn encode_response_golden() {
    insta::assert_json_snapshot!(body_json(&GeminiCodec::encode_response(&answer())));
}

#[test]
fn encode_response_finish_reasons_and_round_trip() {
    let finish_of = |finish: FinishReason| {
        let body = GeminiCodec::encode_response(&ChatResponse { finish, ..answer() });
        body_json(&body)["candidates"][0]["finishReason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let cases = [
        (FinishReason::Stop, "STOP"),
        (FinishReason::StopSequence(Some("END".into())), "STOP"),
        (FinishReason::ToolCalls, "STOP"),
        (FinishReason::Pause, "STOP"),
        (FinishReason::Length, "MAX_TOKENS"),
        (FinishReason::ContextExceeded, "MAX_TOKENS"),
        (
            FinishReason::ContentFilter("RECITATION".into()),
            "RECITATION",
        ),
        (
            FinishReason::ContentFilter("content_filter".into()),
            "SAFETY",
        ),
        (FinishReason::Refusal, "SAFETY"),
        (
            FinishReason::Other("MALFORMED_FUNCTION_CALL".into()),
            "MALFORMED_FUNCTION_CALL",
        ),
        (FinishReason::Other("end_turn".into()), "STOP"),
    ];
    for (finish, want) in cases {
        assert_eq!(finish_of(finish.clone()), want, "{finish:?}");
    }
    // Our own output decodes back to the same answer, less what Gemini cannot carry.
    let back = GeminiCodec::decode_response(&GeminiCodec::encode_response(&answer())).unwrap();
    let mut want = answer();
    want.created = 0;
    want.parts[0] = Part::Thinking {
        text: "Two cities: two calls.".into(),
        signature: None,
    };
    want.parts.pop();
    want.usage.cache_creation_input_tokens = 0;
    assert_eq!(back, want);
}

use super::{decode_stream, decode_stream_any_split, request_for};
use crate::translate::TranslateError;
use switchyard_types::ir::{FinishReason, StreamEvent, Usage};

/// OpenAI's own sequence (§1.4): text, two parallel calls, finish, usage chunk, [DONE];
/// with a keep-alive comment and CRLF line ends thrown in.
const TEXT_AND_PARALLEL_CALLS: &str = concat!(
    ": OPENROUTER PROCESSING\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1760000000,\"model\":\"gpt-4.1-2025-04-14\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1760000000,\"model\":\"gpt-4.1-2025-04-14\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Let me check.\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1760000000,\"model\":\"gpt-4.1-2025-04-14\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_A\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\r\n\r\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1760000000,\"model\":\"gpt-4.1-2025-04-14\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1760000000,\"model\":\"gpt-4.1-2025-04-14\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_B\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"\"}}]},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1760000000,\"model\":\"gpt-4.1-2025-04-14\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1760000000,\"model\":\"gpt-4.1-2025-04-14\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{\\\"tz\\\":\\\"CET\\\"}\"}}]},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1760000000,\"model\":\"gpt-4.1-2025-04-14\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1760000000,\"model\":\"gpt-4.1-2025-04-14\",\"choices\":[],\"usage\":{\"prompt_tokens\":1200,\"completion_tokens\":60,\"total_tokens\":1260,\"prompt_tokens_details\":{\"cached_tokens\":1024,\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0}}}\n\n",
    "data: [DONE]\n\n",
);

#[test]
fn decodes_text_and_parallel_tool_calls_at_any_split() {
    let events = decode_stream_any_split(&request_for("gpt-4.1", false), TEXT_AND_PARALLEL_CALLS);
    insta::assert_json_snapshot!("stream_decode_parallel_calls", events);
}

/// DeepSeek-style reasoning, then text, `stop`, and usage with reasoning tokens.
const REASONING: &str = concat!(
    "data: {\"id\":\"0193-ds\",\"object\":\"chat.completion.chunk\",\"created\":1760000001,\"model\":\"deepseek-reasoner\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"0193-ds\",\"object\":\"chat.completion.chunk\",\"created\":1760000001,\"model\":\"deepseek-reasoner\",\"choices\":[{\"index\":0,\"delta\":{\"content\":null,\"reasoning_content\":\"Count the letters\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"0193-ds\",\"object\":\"chat.completion.chunk\",\"created\":1760000001,\"model\":\"deepseek-reasoner\",\"choices\":[{\"index\":0,\"delta\":{\"content\":null,\"reasoning_content\":\": r, r, r.\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"0193-ds\",\"object\":\"chat.completion.chunk\",\"created\":1760000001,\"model\":\"deepseek-reasoner\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Three \",\"reasoning_content\":null},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"0193-ds\",\"object\":\"chat.completion.chunk\",\"created\":1760000001,\"model\":\"deepseek-reasoner\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"r's.\",\"reasoning_content\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":90,\"total_tokens\":110,\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":70},\"prompt_cache_hit_tokens\":0,\"prompt_cache_miss_tokens\":20}}\n\n",
    "data: [DONE]\n\n",
);

#[test]
fn decodes_reasoning_text_and_usage_in_the_finish_chunk() {
    let events = decode_stream_any_split(&request_for("deepseek-reasoner", false), REASONING);
    insta::assert_json_snapshot!("stream_decode_reasoning", events);
}

fn chunk(delta: &str, finish: &str) -> String {
    format!(
        "data: {{\"id\":\"c\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n"
    )
}

fn decode(transcript: &str) -> Vec<StreamEvent> {
    decode_stream(&request_for("fallback", false), transcript, 7).unwrap()
}

fn calls_of(events: &[StreamEvent]) -> Vec<(u32, String, String)> {
    let mut calls: Vec<(u32, String, String)> = Vec::new();
    for e in events {
        match e {
            StreamEvent::ToolCallStart { index, id, name } => {
                calls.push((*index, id.clone(), format!("{name}:")));
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                let call = calls.iter_mut().find(|c| c.0 == *index).unwrap();
                call.2.push_str(arguments);
            }
            _ => {}
        }
    }
    calls
}

/// §4.4: Gemini's compatible endpoint (and others) put every parallel call on index 0.
#[test]
fn parallel_calls_all_on_index_zero_get_their_own_indexes() {
    let t = [
        chunk(r#"{"role":"assistant"}"#, "null"),
        chunk(r#"{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"A\"}"}}]}"#, "null"),
        chunk(r#"{"tool_calls":[{"index":0,"id":"call_2","type":"function","function":{"name":"weather","arguments":"{\"city\":"}}]}"#, "null"),
        chunk(r#"{"tool_calls":[{"index":0,"function":{"arguments":"\"B\"}"}}]}"#, "null"),
        chunk("{}", "\"tool_calls\""),
    ]
    .concat();
    let events = decode(&t);
    assert_eq!(
        calls_of(&events),
        vec![
            (
                0,
                "call_1".to_owned(),
                "weather:{\"city\":\"A\"}".to_owned()
            ),
            (
                1,
                "call_2".to_owned(),
                "weather:{\"city\":\"B\"}".to_owned()
            )
        ]
    );
    let tail: Vec<_> = events.iter().rev().take(3).rev().cloned().collect();
    assert_eq!(
        tail,
        vec![
            StreamEvent::ToolCallEnd { index: 0 },
            StreamEvent::ToolCallEnd { index: 1 },
            StreamEvent::Finish {
                reason: FinishReason::ToolCalls
            }
        ]
    );
}

#[test]
fn missing_index_and_missing_ids_are_tolerated() {
    // No `index` at all; a new id starts a new call, later fragments continue the last.
    let t = [
        chunk(
            r#"{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{"}}]}"#,
            "null",
        ),
        chunk(r#"{"tool_calls":[{"function":{"arguments":"}"}}]}"#, "null"),
        chunk(
            r#"{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"[]"}}]}"#,
            "null",
        ),
        // A different function name without an id is a new call too.
        chunk(
            r#"{"tool_calls":[{"function":{"name":"h","arguments":"1"}}]}"#,
            "null",
        ),
        // Same name repeated without id: the same call.
        chunk(
            r#"{"tool_calls":[{"function":{"name":"h","arguments":"2"}}]}"#,
            "\"stop\"",
        ),
    ]
    .concat();
    let events = decode(&t);
    let calls = calls_of(&events);
    assert_eq!(calls.len(), 3, "{events:#?}");
    assert_eq!(calls[0], (0, "a".to_owned(), "f:{}".to_owned()));
    assert_eq!(calls[1], (1, "b".to_owned(), "g:[]".to_owned()));
    assert_eq!((calls[2].0, calls[2].2.as_str()), (2, "h:12"));
    assert_eq!(calls[2].1, crate::translate::ids::synthesize("c", 2, "h"));
    // `stop` after calls is a tool-call finish.
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::ToolCalls
        })
    );

    // Distinct indexes, no ids; arguments before the name are held until it comes.
    let t = [
        chunk(
            r#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\""}}]}"#,
            "null",
        ),
        chunk(
            r#"{"tool_calls":[{"index":0,"function":{"name":"f","arguments":":1}"}}]}"#,
            "null",
        ),
        chunk(
            r#"{"tool_calls":[{"index":1,"function":{"name":"f","arguments":"{}"}}]}"#,
            "null",
        ),
    ]
    .concat();
    let events = decode(&t);
    let calls = calls_of(&events);
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.0, c.2.as_str()))
            .collect::<Vec<_>>(),
        vec![(0, "f:{\"x\":1}"), (1, "f:{}")]
    );
    assert_ne!(calls[0].1, calls[1].1);
    // Cut short: the open calls are ended, and no Finish is invented.
    assert_eq!(
        events[events.len() - 2..],
        [
            StreamEvent::ToolCallEnd { index: 0 },
            StreamEvent::ToolCallEnd { index: 1 }
        ]
    );
}

#[test]
fn arguments_are_forwarded_as_they_arrive() {
    let mut d = crate::translate::openai::OpenAiStreamDecoder::new("m");
    let mut out = Vec::new();
    use crate::translate::StreamDecode;
    d.feed(chunk(r#"{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"q\":"}}]}"#, "null").as_bytes(), &mut out)
        .unwrap();
    assert_eq!(
        out.last(),
        Some(&StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "{\"q\":".to_owned()
        })
    );
}

#[test]
fn each_finish_reason_and_refusal() {
    for (wire, want) in [
        ("\"stop\"", FinishReason::Stop),
        ("\"length\"", FinishReason::Length),
        ("\"tool_calls\"", FinishReason::ToolCalls),
        ("\"function_call\"", FinishReason::ToolCalls),
        (
            "\"content_filter\"",
            FinishReason::ContentFilter("content_filter".to_owned()),
        ),
        ("\"eos\"", FinishReason::Other("eos".to_owned())),
    ] {
        let events = decode(
            &[
                chunk(r#"{"content":"x"}"#, "null"),
                chunk("{}", wire),
                "data: [DONE]\n\n".to_owned(),
            ]
            .concat(),
        );
        assert_eq!(
            events.last(),
            Some(&StreamEvent::Finish { reason: want }),
            "{wire}"
        );
    }
    let events = decode(
        &[
            chunk(r#"{"refusal":"I can't."}"#, "null"),
            chunk("{}", "\"stop\""),
        ]
        .concat(),
    );
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "c".to_owned(),
                model: "m".to_owned()
            },
            StreamEvent::TextDelta {
                text: "I can't.".to_owned()
            },
            StreamEvent::Finish {
                reason: FinishReason::Refusal
            },
        ]
    );
}

#[test]
fn an_error_chunk_ends_the_stream() {
    let t = [
        chunk(r#"{"content":"partial"}"#, "null"),
        "data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n".to_owned(),
        chunk(r#"{"content":"ignored"}"#, "null"),
    ]
    .concat();
    let events = decode(&t);
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "c".to_owned(),
                model: "m".to_owned()
            },
            StreamEvent::TextDelta {
                text: "partial".to_owned()
            },
            StreamEvent::Error {
                message: "The server had an error while processing your request.".to_owned()
            },
        ]
    );
    // An error before anything else still comes after a Start (the request's model).
    let events = decode("data: {\"error\":{\"message\":\"overloaded\"}}\n\n");
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: String::new(),
                model: "fallback".to_owned()
            },
            StreamEvent::Error {
                message: "overloaded".to_owned()
            }
        ]
    );
}

#[test]
fn content_after_finish_is_ignored_and_usage_is_kept() {
    let t = [
        chunk(r#"{"content":"a"}"#, "\"length\""),
        chunk(r#"{"content":"late"}"#, "\"stop\""),
        "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7}}\n\n".to_owned(),
        "data: [DONE]\n\ndata: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"after done\"}}]}\n\n".to_owned(),
    ]
    .concat();
    let events = decode(&t);
    assert_eq!(
        events[1..],
        [
            StreamEvent::TextDelta {
                text: "a".to_owned()
            },
            StreamEvent::Finish {
                reason: FinishReason::Length
            },
            StreamEvent::Usage {
                usage: Usage {
                    input_tokens: 5,
                    output_tokens: 7,
                    ..Usage::default()
                }
            },
        ]
    );
}

#[test]
fn pings_and_unknown_events_are_ignored_but_garbage_is_an_error() {
    let t = [
        "event: ping\ndata: {\"type\":\"ping\"}\n\n".to_owned(),
        chunk(r#"{"content":"x"}"#, "null"),
    ]
    .concat();
    assert_eq!(decode(&t).len(), 2);
    // An OpenRouter-style reasoning field.
    let events = decode(&chunk(r#"{"reasoning":"hm","content":""}"#, "null"));
    assert_eq!(
        events[1],
        StreamEvent::ThinkingDelta {
            text: "hm".to_owned()
        }
    );
    let e = decode_stream(&request_for("m", false), "data: {not json\n\n", 3).unwrap_err();
    assert!(matches!(e, TranslateError::UpstreamMalformed(_)), "{e:?}");
    // A body that is only the final line, without its blank line.
    assert_eq!(
        decode(chunk(r#"{"content":"x"}"#, "null").trim_end()).len(),
        2
    );
    assert!(decode("").is_empty());
}

//! Reading usage from a JSON answer at the finish (`pipeline::usage::UsageTap`): an
//! OpenAI answer whose content is 4 KB, read by the tap (the top-level usage found from
//! the end, `pipeline::json_tail`) and, for comparison, by a parse of the whole answer
//! that deserialises only the usage (what the tap falls back to).

#![expect(
    clippy::expect_used,
    reason = "benchmark harness: a broken fixture should abort loudly"
)]

use bytes::Bytes;
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use switchyard_core::pipeline::usage::UsageTap;
use switchyard_types::Protocol;

fn answer() -> Bytes {
    let content = "The quick brown fox jumps over the lazy dog. ".repeat(92);
    serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 300,
                  "prompt_tokens_details": {"cached_tokens": 256}},
        "system_fingerprint": "fp"
    })
    .to_string()
    .into()
}

#[derive(serde::Deserialize)]
struct Body {
    #[expect(dead_code, reason = "deserialised for the comparison")]
    usage: Option<serde::de::IgnoredAny>,
}

fn bench(c: &mut Criterion) {
    let body = answer();
    c.bench_function("usage/json-4k/tap", |b| {
        b.iter(|| {
            let mut tap = UsageTap::new(Protocol::OpenAi, false);
            tap.feed_bytes(black_box(&body));
            tap.finish().expect("usage")
        });
    });
    c.bench_function("usage/json-4k/full-parse", |b| {
        b.iter(|| serde_json::from_slice::<Body>(black_box(&body)).expect("parses"));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

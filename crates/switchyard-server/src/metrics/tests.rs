use super::*;
use switchyard_core::pipeline::context::{AttemptRecord, Cost, Usage};

fn render(m: &Metrics) -> String {
    m.render(&scrape::Snapshot {
        accounts: &[],
        client_keys: 2,
        log_queue_depth: 0,
        log_dropped: 5,
        unpriced: 1,
    })
}

#[test]
fn a_stream_observes_first_byte_plus_reencoding_once_committed() {
    let m = Metrics::new().unwrap();
    StreamOverhead::new().finish(&m, Duration::from_micros(10));
    assert!(render(&m).contains("switchyard_overhead_seconds_count 0"));
    let stream = StreamOverhead::new();
    stream.set_first_byte(40);
    stream.finish(&m, Duration::from_micros(20));
    let text = render(&m);
    assert!(
        text.contains("switchyard_overhead_seconds_bucket{le=\"0.00005\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("switchyard_overhead_seconds_bucket{le=\"0.0001\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("switchyard_overhead_seconds_count 1"),
        "{text}"
    );
}

#[test]
fn renders_counts_with_their_labels() {
    let m = Metrics::new().unwrap();
    m.request(Protocol::Anthropic, 429);
    m.attempt(
        Outcome::RateLimited { retry_after: None },
        Provider::OpenRouter,
    );
    m.overhead(40);
    m.overhead(1_000_000);
    let text = render(&m);
    for line in [
        "switchyard_overhead_seconds_bucket{le=\"0.00005\"} 1",
        "switchyard_overhead_seconds_bucket{le=\"+Inf\"} 2",
        "switchyard_requests_total{protocol=\"anthropic\",status=\"4xx\"} 1",
        "switchyard_requests_total{protocol=\"responses\",status=\"2xx\"} 0",
        "switchyard_upstream_attempts_total{provider=\"openrouter\",result=\"rate_limited\"} 1",
        "switchyard_upstream_attempts_total{provider=\"gemini\",result=\"relayed\"} 0",
        "switchyard_client_keys 2",
        "switchyard_log_dropped_total 5",
        "switchyard_unpriced_requests_total 1",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

#[test]
fn finished_requests_add_latency_ttfb_tokens_and_cost_by_model_and_provider() {
    let m = Metrics::new().unwrap();
    for _ in 0..2 {
        let mut c = RequestContext::new("r".into(), Protocol::OpenAi);
        c.status = 200;
        c.upstream_model = Some("gpt-4o".into());
        c.ttfb = Some(Duration::from_millis(30));
        c.attempts.push(AttemptRecord {
            account_id: "acc".into(),
            provider: Provider::OpenAi,
            outcome: Outcome::Relayed,
            status: Some(200),
            duration: Duration::from_millis(40),
        });
        c.usage = Some(Usage::new(10, 5, 1, 7, 3));
        c.cost = Some(Cost {
            micro_usd: 1_250_001,
            price_version: "v".into(),
        });
        c.end = Some(BodyEnd::Complete);
        m.observe(&c);
    }
    m.observe(&RequestContext::new("unpriced".into(), Protocol::Gemini));
    let text = render(&m);
    for line in [
        "switchyard_tokens_total{kind=\"input\",model=\"gpt-4o\",provider=\"openai\"} 20",
        "switchyard_tokens_total{kind=\"cache_read\",model=\"gpt-4o\",provider=\"openai\"} 10",
        "switchyard_tokens_total{kind=\"cache_write\",model=\"gpt-4o\",provider=\"openai\"} 2",
        "switchyard_tokens_total{kind=\"output\",model=\"gpt-4o\",provider=\"openai\"} 14",
        "switchyard_tokens_total{kind=\"reasoning\",model=\"gpt-4o\",provider=\"openai\"} 6",
        "switchyard_cost_usd_total{model=\"gpt-4o\",provider=\"openai\"} 2.500002",
        "switchyard_requests_finished_total{end=\"complete\"} 2",
        "switchyard_requests_finished_total{end=\"refused\"} 1",
        "switchyard_request_duration_seconds_count{protocol=\"openai\"} 2",
        "switchyard_request_duration_seconds_count{protocol=\"gemini\"} 1",
        "switchyard_ttfb_seconds_bucket{protocol=\"openai\",le=\"0.05\"} 2",
        "switchyard_ttfb_seconds_bucket{protocol=\"openai\",le=\"0.025\"} 0",
        "switchyard_ttfb_seconds_count{protocol=\"gemini\"} 0",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

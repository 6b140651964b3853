//! Redeploys under load: a new `switchyard serve` on the same port and data dir takes
//! the listening socket over, the old one drains on SIGTERM and exits 0; no request is
//! lost and no stream cut. And the drain deadline: what is still open then ends with an
//! error in its protocol, not a silent cut.

use crate::harness::{Gateway, Options, anthropic_msg, free_port, openai_chat};
use serde_json::{Value, json};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchyard_testkit::FakeProvider;

/// `READY=1` / `STOPPING=1` datagrams received on a `$NOTIFY_SOCKET`.
#[derive(Default)]
struct Notified {
    ready: AtomicU64,
    stopping: AtomicU64,
}

/// Bind a notify socket at `path` and count what arrives.
fn notify_socket(path: &Path) -> Arc<Notified> {
    let socket = UnixDatagram::bind(path).unwrap();
    let notified = Arc::new(Notified::default());
    let counts = Arc::clone(&notified);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]);
            for line in text.lines() {
                match line {
                    "READY=1" => counts.ready.fetch_add(1, Ordering::SeqCst),
                    "STOPPING=1" => counts.stopping.fetch_add(1, Ordering::SeqCst),
                    _ => 0,
                };
            }
        }
    });
    notified
}

/// What the load saw.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    streams: AtomicU64,
    failed: AtomicU64,
    truncated: AtomicU64,
    problems: Mutex<Vec<String>>,
}

impl Tally {
    fn fail(&self, what: String) {
        self.failed.fetch_add(1, Ordering::SeqCst);
        let mut problems = self.problems.lock().unwrap();
        if problems.len() < 20 {
            problems.push(what);
        }
    }
}

#[derive(Clone, Copy)]
enum Client {
    /// One kept-alive connection, reused request after request.
    KeepAlive,
    /// A new connection for every request.
    Fresh,
    /// Streams, on a kept-alive connection.
    Streaming,
}

async fn load(client: Client, url: String, key: String, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let builder = reqwest::Client::builder().timeout(Duration::from_secs(60));
    let http = match client {
        Client::KeepAlive | Client::Streaming => builder.pool_max_idle_per_host(1),
        Client::Fresh => builder.pool_max_idle_per_host(0),
    }
    .build()
    .unwrap();
    let mut body = openai_chat("gpt-4o", "hello #fake:chunk_delay=20");
    if matches!(client, Client::Streaming) {
        body["stream"] = json!(true);
    }
    while !stop.load(Ordering::SeqCst) {
        let sent = http
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                tally.fail(format!("send: {e:?}"));
                continue;
            }
        };
        let status = response.status();
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => {
                tally.truncated.fetch_add(1, Ordering::SeqCst);
                tally.fail(format!("body: {e:?}"));
                continue;
            }
        };
        if status != 200 {
            tally.fail(format!("{status}: {text}"));
            continue;
        }
        if matches!(client, Client::Streaming) {
            if text.trim_end().ends_with("data: [DONE]") && !text.contains("\"error\"") {
                tally.streams.fetch_add(1, Ordering::SeqCst);
            } else {
                tally.truncated.fetch_add(1, Ordering::SeqCst);
                tally.fail(format!("stream: {text}"));
            }
        } else if serde_json::from_str::<Value>(&text).is_ok() {
            tally.ok.fetch_add(1, Ordering::SeqCst);
        } else {
            tally.fail(format!("not JSON: {text}"));
        }
    }
}

struct Deployment {
    port: u16,
    data_dir: PathBuf,
    notify: PathBuf,
    config: String,
}

impl Deployment {
    async fn start(&self) -> Gateway {
        Gateway::start_with(Options {
            port: Some(self.port),
            shared_data_dir: Some(self.data_dir.clone()),
            config_toml: Some(self.config.clone()),
            env: vec![(
                "NOTIFY_SOCKET".into(),
                self.notify.to_string_lossy().into_owned(),
            )],
            ..Default::default()
        })
        .await
    }
}

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_redeploys_under_load_lose_no_request_and_cut_no_stream() {
    let fake = FakeProvider::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    std::fs::create_dir(&data_dir).unwrap();
    let notify = dir.path().join("notify.sock");
    let notified = notify_socket(&notify);
    let deploy = Deployment {
        port: free_port(),
        data_dir,
        notify,
        config: "[server]\ndrain_secs = 20\nlame_duck_ms = 500\n".into(),
    };
    let mut current = deploy.start().await;
    wait_for("READY=1", Duration::from_secs(10), || {
        notified.ready.load(Ordering::SeqCst) == 1
    })
    .await;
    current
        .add_account(json!({"provider": "openai", "label": "o", "api_key": "k", "base_url": fake.openai_base_url()}))
        .await;
    let key = current.create_key().await;
    let url = format!("http://127.0.0.1:{}", deploy.port);

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut clients = Vec::new();
    for (kind, n) in [
        (Client::KeepAlive, 8),
        (Client::Fresh, 16),
        (Client::Streaming, 8),
    ] {
        for _ in 0..n {
            clients.push(tokio::spawn(load(
                kind,
                url.clone(),
                key.clone(),
                Arc::clone(&stop),
                Arc::clone(&tally),
            )));
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    for round in 1..=10u64 {
        let next = deploy.start().await;
        wait_for("the successor's READY=1", Duration::from_secs(10), || {
            notified.ready.load(Ordering::SeqCst) == round + 1
        })
        .await;
        assert!(
            next.log().contains("predecessor"),
            "round {round}: the successor took the running socket:\n{}",
            next.log()
        );
        current.terminate();
        let code = current.wait_exit(Duration::from_secs(30)).await;
        assert_eq!(code, Some(0), "round {round}: the old process exits 0");
        current = next;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    let (ok, streams) = (
        tally.ok.load(Ordering::SeqCst),
        tally.streams.load(Ordering::SeqCst),
    );
    let problems = tally.problems.lock().unwrap().clone();
    assert_eq!(
        tally.failed.load(Ordering::SeqCst),
        0,
        "failed requests: {problems:#?}"
    );
    assert_eq!(tally.truncated.load(Ordering::SeqCst), 0);
    assert!(
        ok > 500 && streams > 50,
        "the load ran: {ok} answers, {streams} streams"
    );
    eprintln!(
        "10 redeploys in {took:?}: {ok} answers ({:.0}/s), {streams} streams, 0 failed",
        ok as f64 / took.as_secs_f64()
    );
    assert_eq!(notified.stopping.load(Ordering::SeqCst), 10);
    current.terminate();
    assert_eq!(current.wait_exit(Duration::from_secs(30)).await, Some(0));
}

#[tokio::test]
async fn at_the_drain_deadline_streams_end_with_an_error_event_and_waiting_requests_get_503() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::with_config("[server]\ndrain_secs = 1\nlame_duck_ms = 0\n").await;
    gw.add_account(json!({"provider": "openai", "label": "o", "api_key": "k", "base_url": fake.openai_base_url()}))
        .await;
    gw.add_account(
        json!({"provider": "anthropic", "label": "a", "api_key": "k", "base_url": fake.base_url()}),
    )
    .await;
    let key = gw.create_key().await;

    let mut openai = openai_chat("gpt-4o", "a long story #fake:chunk_delay=1500");
    openai["stream"] = json!(true);
    let mut anthropic = anthropic_msg("claude-sonnet-4-5", "a long story #fake:chunk_delay=1500");
    anthropic["stream"] = json!(true);
    let waiting = openai_chat("gpt-4o", "slow to answer #fake:latency=20000");
    let open_stream = |path: &'static str, body: &Value| {
        let request = gw.post(path, &key).json(body);
        async move {
            let mut response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            let first = response.chunk().await.unwrap().unwrap();
            (path, response, String::from_utf8_lossy(&first).into_owned())
        }
    };
    // Both open at once (each first chunk takes a chunk delay), then the signal: the
    // streams have several chunks to go, the deadline is a second away.
    let (a, b) = tokio::join!(
        open_stream("/v1/chat/completions", &openai),
        open_stream("/v1/messages", &anthropic)
    );
    let open = vec![a, b];
    let pending = tokio::spawn(gw.post("/v1/chat/completions", &key).json(&waiting).send());
    tokio::time::sleep(Duration::from_millis(200)).await;

    let signalled = Instant::now();
    gw.terminate();
    for (path, mut response, mut text) in open {
        while let Some(chunk) = response.chunk().await.unwrap() {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(
            text.contains("shutting down"),
            "{path}: the stream ends with an error event: {text}\nlog:\n{}",
            gw.log()
        );
        assert!(!text.contains("[DONE]"), "{path}: {text}");
        let last = text.trim_end().lines().last().unwrap_or_default();
        let data: Value = serde_json::from_str(last.trim_start_matches("data: ")).unwrap();
        assert!(data.get("error").is_some(), "{path}: {last}");
        if path == "/v1/messages" {
            assert!(text.contains("event: error"), "{text}");
        }
    }
    let waited = pending.await.unwrap().unwrap();
    assert_eq!(waited.status(), 503);
    assert!(waited.headers().contains_key("retry-after"));
    let body: Value = waited.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("shutting down"),
        "{body}"
    );
    assert_eq!(gw.wait_exit(Duration::from_secs(10)).await, Some(0));
    assert!(
        signalled.elapsed() < Duration::from_secs(8),
        "the deadline bounded the drain: {:?}",
        signalled.elapsed()
    );
}

#[tokio::test]
async fn while_draining_readyz_is_503_and_kept_alive_connections_are_told_to_close() {
    let gw = Gateway::with_config("[server]\ndrain_secs = 5\nlame_duck_ms = 3000\n").await;
    // A kept-alive connection opened before the signal is kept for the lame duck: a
    // request on it is still served, with `Connection: close`.
    let http = reqwest::Client::new();
    let readyz = || http.get(format!("{}/readyz", gw.url)).send();
    let before = readyz().await.unwrap();
    assert_eq!(before.status(), 200);
    assert!(before.headers().get("connection").is_none());
    gw.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = readyz().await.unwrap();
    assert_eq!(during.status(), 503);
    assert_eq!(
        during
            .headers()
            .get("connection")
            .and_then(|v| v.to_str().ok()),
        Some("close")
    );
    // New connections are not accepted any more.
    assert!(
        reqwest::Client::new()
            .get(format!("{}/readyz", gw.url))
            .send()
            .await
            .is_err()
    );
    assert_eq!(gw.wait_exit(Duration::from_secs(10)).await, Some(0));
}

/// Socket activation: `systemd-socket-activate` (from Debian's systemd, which the test
/// tools install) holds the listening socket, starts the gateway on the first connection
/// with `LISTEN_FDS`, and that first connection is served from the inherited socket.
#[tokio::test]
async fn a_socket_handed_in_by_systemd_is_served_and_ready_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let notify = dir.path().join("notify.sock");
    let notified = notify_socket(&notify);
    let port = free_port();
    let mut child = std::process::Command::new("systemd-socket-activate")
        .arg("-l")
        .arg(format!("127.0.0.1:{port}"))
        .arg("-E")
        .arg(format!(
            "SWITCHYARD_ADMIN_KEY={}",
            crate::harness::ADMIN_KEY
        ))
        .arg("-E")
        .arg(format!(
            "SWITCHYARD_MASTER_KEY={}",
            crate::harness::MASTER_KEY
        ))
        .arg("-E")
        .arg("SWITCHYARD_LOG_FORMAT=text")
        .arg("-E")
        .arg(format!("NOTIFY_SOCKET={}", notify.display()))
        .arg(env!("CARGO_BIN_EXE_switchyard"))
        .arg("serve")
        .arg("--port")
        .arg(port.to_string())
        .arg("--data-dir")
        .arg(&data_dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("systemd-socket-activate (Debian package systemd) runs");
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let lines = Arc::clone(&log);
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            lines.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    // The listener exists before the gateway does: connecting starts it.
    let http = reqwest::Client::new();
    let mut status = None;
    for _ in 0..100 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            status = Some(r.status().as_u16());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, Some(200), "log:\n{}", log.lock().unwrap());
    wait_for("READY=1", Duration::from_secs(10), || {
        notified.ready.load(Ordering::SeqCst) == 1
    })
    .await;
    assert!(
        log.lock().unwrap().contains("socket=\"systemd\""),
        "log:\n{}",
        log.lock().unwrap()
    );
    // The exec'd gateway is the child itself.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(code, Some(0));
    assert_eq!(notified.stopping.load(Ordering::SeqCst), 1);
}

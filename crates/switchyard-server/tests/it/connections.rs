//! Client-connection limits (`[server]`): stalled, idle and trickling clients are cut
//! off, cannot use up the gateway's file descriptors, and do not hold up a shutdown.

use crate::harness::{ADMIN_KEY, Gateway, MASTER_KEY, Options, openai_chat};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchyard_testkit::{Behaviour, FakeProvider};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn server(table: &str) -> Options {
    Options {
        config_toml: Some(format!("[server]\n{table}\n")),
        ..Default::default()
    }
}

async fn connect(url: &str) -> TcpStream {
    TcpStream::connect(url.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Read (and discard) until the peer closes or resets; how long that took, or `None` if
/// the connection is still open after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((start + limit).into(), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// Read one HTTP/1.1 response with a `content-length`: status and body.
async fn read_response(stream: &mut (impl AsyncRead + Unpin)) -> (u16, String) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
            let status = head[9..12].parse().unwrap();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            while data.len() < end + 4 + length {
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "connection closed inside a response body");
                data.extend_from_slice(&buf[..n]);
            }
            return (
                status,
                String::from_utf8_lossy(&data[end + 4..end + 4 + length]).into_owned(),
            );
        }
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed before a response");
        data.extend_from_slice(&buf[..n]);
    }
}

/// `GET /healthz` on an open keep-alive connection; the status.
async fn healthz(stream: &mut TcpStream) -> u16 {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    read_response(stream).await.0
}

#[tokio::test]
async fn a_stalled_request_is_closed_after_the_header_timeout() {
    let gw = Gateway::start_with(server("header_timeout_secs = 1")).await;
    let opened = Instant::now();
    let mut half = connect(&gw.url).await;
    half.write_all(b"GET /healthz HT").await.unwrap();
    let mut silent = connect(&gw.url).await;
    for (name, stream) in [("half a request line", &mut half), ("nothing", &mut silent)] {
        closed_within(stream, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("a connection that sent {name} is still open after 10 s"));
        let after = opened.elapsed();
        assert!(
            after >= Duration::from_millis(500),
            "closed after {after:?}, before the header timeout"
        );
    }
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout_not_the_header_timeout() {
    let gw = Gateway::start_with(server("header_timeout_secs = 1\nidle_timeout_secs = 4")).await;
    let mut kept = connect(&gw.url).await;
    assert_eq!(healthz(&mut kept).await, 200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        healthz(&mut kept).await,
        200,
        "a kept-alive connection outlives the header timeout"
    );
    let after = closed_within(&mut kept, Duration::from_secs(15))
        .await
        .expect("an idle keep-alive connection is never closed");
    assert!(after >= Duration::from_secs(3), "closed after {after:?}");
    // The idle clock starts when the response ends, not at the next timer that happens
    // to wake the connection (it once closed after ~8 s here).
    assert!(after < Duration::from_secs(6), "closed after {after:?}");

    // On a kept-alive connection, a request that starts and stalls gets the header
    // timeout again, not the idle one.
    let mut stalls = connect(&gw.url).await;
    assert_eq!(healthz(&mut stalls).await, 200);
    stalls.write_all(b"GET /heal").await.unwrap();
    let after = closed_within(&mut stalls, Duration::from_secs(15))
        .await
        .expect("a stalled second request is never closed");
    assert!(after < Duration::from_secs(3), "closed after {after:?}");
}

/// The gateway under `ulimit -n {nofile}`, its log collected.
struct Limited {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Limited {
    fn start(nofile: u32, config: &str) -> Limited {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, config).unwrap();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -n {nofile} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_switchyard"))
            .args(["serve", "--port", "0", "--data-dir"])
            .arg(dir.path())
            .arg("--config")
            .arg(&config_path)
            .env_remove("SWITCHYARD_HOST")
            .env_remove("SWITCHYARD_PORT")
            .env_remove("SWITCHYARD_CONFIG")
            .env_remove("SWITCHYARD_DATA_DIR")
            .env("SWITCHYARD_ADMIN_KEY", ADMIN_KEY)
            .env("SWITCHYARD_MASTER_KEY", MASTER_KEY)
            .env("SWITCHYARD_LOG", "info")
            .env("SWITCHYARD_LOG_FORMAT", "text")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let writer = Arc::clone(&log);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                }
                let mut log = writer.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("gateway did not start; log:\n{}", log.lock().unwrap()));
        Limited {
            child,
            url: format!("http://{addr}"),
            log,
            _dir: dir,
        }
    }
}

impl Drop for Limited {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn stalled_sockets_beyond_the_open_file_limit_do_not_starve_other_clients() {
    let gw = Limited::start(256, "[server]\nheader_timeout_secs = 1\n");
    // More half-open requests than the process has file descriptors.
    let mut stalled = Vec::new();
    for _ in 0..250 {
        let mut s = connect(&gw.url).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nhos").await.unwrap();
        stalled.push(s);
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let r = http.get(format!("{}/healthz", gw.url)).send().await;
    let log = gw.log.lock().unwrap().clone();
    assert_eq!(
        r.map(|r| r.status().as_u16()).ok(),
        Some(200),
        "log:\n{log}"
    );
    assert!(log.contains("max_connections=96"), "{log}");
    assert!(log.contains("connection limit reached"), "{log}");
    assert!(!log.contains("Too many open files"), "{log}");
    drop(stalled);
}

#[tokio::test]
async fn sigterm_closes_idle_and_stalled_connections_at_once_and_drains_a_stream() {
    let fake = FakeProvider::start().await.unwrap();
    fake.set_key_behaviour(
        "slow",
        Behaviour::SlowStream {
            chunk_delay_millis: 150,
        },
    );
    let gw = Gateway::start().await;
    gw.add_account(json!({"provider": "openai", "label": "o", "api_key": "slow", "base_url": fake.openai_base_url()}))
        .await;
    let key = gw.create_key().await;

    let mut idle = connect(&gw.url).await;
    assert_eq!(healthz(&mut idle).await, 200);
    let mut half = connect(&gw.url).await;
    half.write_all(b"GET /healthz HT").await.unwrap();
    let mut silent = connect(&gw.url).await;
    let mut body = openai_chat("gpt-4o", "hi");
    body["stream"] = json!(true);
    let mut stream = gw
        .post("/v1/chat/completions", &key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut text = String::from_utf8_lossy(&stream.chunk().await.unwrap().unwrap()).into_owned();

    let pid = gw.pid().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    for (name, conn) in [
        ("idle", &mut idle),
        ("half a request line", &mut half),
        ("nothing", &mut silent),
    ] {
        assert!(
            closed_within(conn, Duration::from_secs(5)).await.is_some(),
            "a connection that sent {name} is still open 5 s after SIGTERM"
        );
    }
    while let Some(chunk) = stream.chunk().await.unwrap() {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        text.trim_end().ends_with("data: [DONE]"),
        "the stream in flight finished: {text}"
    );
    let started = Instant::now();
    let code = gw.wait_exit(Duration::from_secs(5)).await;
    assert_eq!(
        code,
        Some(0),
        "no exit {:?} after the last stream ended",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_trickling_body_gets_a_408_in_the_protocol_shape() {
    let gw = Gateway::start_with(server("body_timeout_secs = 1")).await;
    let key = gw.create_key().await;
    let (mut rd, mut wr) = connect(&gw.url).await.into_split();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: 4096\r\n\r\n{{"
    );
    wr.write_all(head.as_bytes()).await.unwrap();
    // One byte every 200 ms: the 4 KiB body would take over 13 minutes.
    let trickle = tokio::spawn(async move {
        while wr.write_all(b" ").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let start = Instant::now();
    let (status, body) = tokio::time::timeout(Duration::from_secs(10), read_response(&mut rd))
        .await
        .expect("no answer within 10 s to a body that never completes");
    trickle.abort();
    assert_eq!(status, 408, "{body}");
    assert!(start.elapsed() >= Duration::from_millis(800));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did not arrive within 1s"),
        "{v}"
    );
}

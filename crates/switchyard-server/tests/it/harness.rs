//! Harness: spawn the real `switchyard` binary on port 0 with a private data dir, learn
//! its address from its start-up log line, and talk to it over real HTTP.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ADMIN_KEY: &str = "test-admin-key-0123";
pub const MASTER_KEY: &str = "0f0e0d0c0b0a09080706050403020100000102030405060708090a0b0c0d0e0f";

pub struct Gateway {
    child: Child,
    pub url: String,
    pub data_dir: DataDir,
    pub http: reqwest::Client,
    log: Arc<Mutex<String>>,
}

#[derive(Default)]
pub struct Options {
    pub env: Vec<(String, String)>,
    pub config_toml: Option<String>,
    pub no_admin_key_env: bool,
    /// Serve from this existing data dir (another gateway's: a redeploy) instead of a
    /// fresh one.
    pub shared_data_dir: Option<PathBuf>,
    /// Set the fresh data dir's mode before starting.
    pub data_dir_mode: Option<u32>,
    /// Listen on this port instead of any free one (a redeploy's successor).
    pub port: Option<u16>,
}

/// The gateway's data dir: its own temporary one, or one it shares.
pub struct DataDir {
    _owned: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl DataDir {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Gateway {
    pub async fn start() -> Gateway {
        Self::start_with(Options::default()).await
    }

    /// A gateway with this config file.
    pub async fn with_config(toml: &str) -> Gateway {
        Self::start_with(Options {
            config_toml: Some(toml.to_owned()),
            ..Default::default()
        })
        .await
    }

    pub async fn start_with(options: Options) -> Gateway {
        let data_dir = match options.shared_data_dir {
            Some(path) => DataDir { _owned: None, path },
            None => {
                let dir = tempfile::tempdir().unwrap();
                DataDir {
                    path: dir.path().to_owned(),
                    _owned: Some(dir),
                }
            }
        };
        #[cfg(unix)]
        if let Some(mode) = options.data_dir_mode {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(data_dir.path(), std::fs::Permissions::from_mode(mode))
                .unwrap();
        }
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
        cmd.arg("serve")
            .arg("--port")
            .arg(options.port.unwrap_or(0).to_string())
            .arg("--data-dir")
            .arg(data_dir.path());
        if let Some(toml) = &options.config_toml {
            let path = data_dir.path().join("config.toml");
            std::fs::write(&path, toml).unwrap();
            cmd.arg("--config").arg(path);
        }
        for var in [
            "SWITCHYARD_HOST",
            "SWITCHYARD_PORT",
            "SWITCHYARD_CONFIG",
            "SWITCHYARD_DATA_DIR",
            "SWITCHYARD_ADMIN_KEY",
            "SWITCHYARD_SYNC_REMOTE",
            "SWITCHYARD_SYNC_KEY",
        ] {
            cmd.env_remove(var);
        }
        if !options.no_admin_key_env {
            cmd.env("SWITCHYARD_ADMIN_KEY", ADMIN_KEY);
        }
        // Text lines (stderr is a pipe here, which would mean JSON); a test may ask for
        // JSON through `options.env`.
        cmd.env("SWITCHYARD_MASTER_KEY", MASTER_KEY)
            .env("SWITCHYARD_LOG", "info")
            .env("SWITCHYARD_LOG_FORMAT", "text");
        for (k, v) in &options.env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log_writer = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Logged first, so the log has the line by the time the start returns.
                log_writer.lock().unwrap().push_str(&line);
                log_writer.lock().unwrap().push('\n');
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    // Ends at a space (text) or at the closing quote (JSON).
                    let addr = rest
                        .split(|c: char| c.is_whitespace() || c == '"')
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("gateway did not start; log:\n{}", log.lock().unwrap()));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Gateway {
            child,
            url: format!("http://{addr}"),
            data_dir,
            http,
            log,
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn admin(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/api{path}", self.url))
            .bearer_auth(ADMIN_KEY)
    }

    /// Send an admin request with `body` as JSON; the status and the answer's JSON
    /// (`Null` for a 204; any other answer that is not JSON fails the test).
    pub async fn admin_json(
        &self,
        method: Method,
        path: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        status_and_json(self.admin(method, path).json(body).send().await.unwrap()).await
    }

    /// Send a bodiless admin request; the status and the answer's JSON, as `admin_json`.
    pub async fn admin_send(&self, method: Method, path: &str) -> (StatusCode, Value) {
        status_and_json(self.admin(method, path).send().await.unwrap()).await
    }

    /// GET an admin path that must answer 200; its JSON.
    pub async fn admin_get(&self, path: &str) -> Value {
        let (status, v) = self.admin_send(Method::GET, path).await;
        assert_eq!(status, 200, "{path}: {v}");
        v
    }

    /// GET an admin path; the answer as text (status not checked).
    pub async fn admin_text(&self, path: &str) -> String {
        self.admin(Method::GET, path)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn add_account(&self, body: Value) -> String {
        let (status, v) = self.admin_json(Method::POST, "/accounts", &body).await;
        assert_eq!(status, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// Create a client key named `name`; the answer (`id`, `key`, …).
    pub async fn create_key_named(&self, name: &str) -> Value {
        let (status, v) = self
            .admin_json(Method::POST, "/keys", &json!({ "name": name }))
            .await;
        assert_eq!(status, 201, "{v}");
        v
    }

    pub async fn create_key(&self) -> String {
        self.create_key_named("test").await["key"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn post(&self, path: &str, key: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.url))
            .bearer_auth(key)
    }

    /// POST a one-message OpenAI chat request for `model` to the proxy; the response
    /// (status not checked).
    pub async fn chat(&self, key: &str, model: &str, text: &str) -> reqwest::Response {
        self.post("/v1/chat/completions", key)
            .json(&openai_chat(model, text))
            .send()
            .await
            .unwrap()
    }

    /// POST a one-message Anthropic Messages request for `model` to the proxy; the
    /// response (status not checked).
    pub async fn messages(&self, key: &str, model: &str, text: &str) -> reqwest::Response {
        self.post("/v1/messages", key)
            .json(&anthropic_msg(model, text))
            .send()
            .await
            .unwrap()
    }

    /// POST a one-message Gemini `generateContent` request for `model` to the proxy; the
    /// response (status not checked).
    pub async fn generate(&self, key: &str, model: &str, text: &str) -> reqwest::Response {
        self.post(&format!("/v1beta/models/{model}:generateContent"), key)
            .json(&gemini_body(text))
            .send()
            .await
            .unwrap()
    }

    /// POST `body` as JSON and read the whole answer as text (status not checked).
    pub async fn post_text(&self, path: &str, key: &str, body: &Value) -> String {
        self.post(path, key)
            .json(body)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Wait until the in-flight gauge reads `want` (the lease is released asynchronously
    /// when a response body is dropped).
    pub async fn wait_inflight(&self, want: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = self.admin_text("/metrics").await;
            let value = text
                .lines()
                .find_map(|l| l.strip_prefix("switchyard_inflight_requests "))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap();
            if value == want || Instant::now() > deadline {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status and JSON of an answer: `Null` for a 204, a failed test for any other body
/// that is not JSON.
async fn status_and_json(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.unwrap();
    if status == StatusCode::NO_CONTENT && text.is_empty() {
        return (status, Value::Null);
    }
    let v =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"));
    (status, v)
}

pub fn openai_chat(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

pub fn anthropic_msg(model: &str, text: &str) -> Value {
    json!({"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": text}]})
}

pub fn gemini_body(text: &str) -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": text}]}]})
}

impl Gateway {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send SIGTERM.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Wait for the process to exit on its own; its exit code.
    pub async fn wait_exit(mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

/// A port free at the time of asking (for a gateway that must know its port first).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The regular files of a data dir (not its handover socket).
pub fn data_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.path())
        .collect()
}

//! Start-up, configuration errors and shutdown of the real binary.

use crate::harness::{Gateway, Options};
use std::process::Command;
use std::time::Duration;

#[tokio::test]
async fn zero_config_start_generates_a_private_admin_key() {
    let gw = Gateway::start_with(Options {
        no_admin_key_env: true,
        ..Default::default()
    })
    .await;
    let path = gw.data_dir.path().join("admin.key");
    let key = std::fs::read_to_string(&path).unwrap().trim().to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(
        gw.log().contains("admin.key"),
        "the log says where the key is"
    );
    assert!(!gw.log().contains(&key), "the log never shows the key");
    let r = gw
        .http
        .get(format!("{}/api/accounts", gw.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        gw.http
            .get(format!("{}/healthz", gw.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        gw.http
            .get(format!("{}/readyz", gw.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

fn serve_fails(args: &[&str], env: &[(&str, &str)], config: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(dir.path())
        .args(args);
    if let Some(toml) = config {
        let path = dir.path().join("c.toml");
        std::fs::write(&path, toml).unwrap();
        cmd.arg("--config").arg(path);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn bad_configuration_exits_non_zero_naming_the_field() {
    assert!(serve_fails(&["--port", "http"], &[], None).contains("--port"));
    assert!(serve_fails(&[], &[("SWITCHYARD_PORT", "99999")], None).contains("SWITCHYARD_PORT"));
    assert!(serve_fails(&[], &[], Some("port = \"x\"")).contains("`port`"));
    assert!(
        serve_fails(&[], &[], Some("[retry]\nmax_attempts = 99")).contains("retry.max_attempts")
    );
    assert!(serve_fails(&[], &[], Some("colour = 1")).contains("colour"));
    assert!(
        serve_fails(&[], &[("SWITCHYARD_MASTER_KEY", "short")], None)
            .contains("SWITCHYARD_MASTER_KEY")
    );
    assert!(
        serve_fails(&["--config", "/nonexistent/x.toml"], &[], None)
            .contains("/nonexistent/x.toml")
    );
}

#[tokio::test]
async fn sigterm_drains_and_exits_zero() {
    let gw = Gateway::start().await;
    let pid = gw.pid();
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let code = gw.wait_exit(Duration::from_secs(10)).await;
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn sighup_reloads_routing_settings_and_keeps_them_on_a_bad_file() {
    use serde_json::{Value, json};
    let gw = Gateway::start_with(Options {
        config_toml: Some("[aimd]\ninitial_limit = 4\nmax_limit = 4\n".into()),
        ..Default::default()
    })
    .await;
    gw.add_account(json!({"provider": "openai", "label": "a", "api_key": "k"}))
        .await;
    let limit = |gw: &Gateway| {
        let req = gw.admin(reqwest::Method::GET, "/resilience/aimd");
        async move {
            req.send().await.unwrap().json::<Value>().await.unwrap()["accounts"][0]["limit"]
                .as_u64()
        }
    };
    assert_eq!(limit(&gw).await, Some(4));
    let config = gw.data_dir.path().join("config.toml");
    let hup = |pid: u32| {
        Command::new("kill")
            .arg("-HUP")
            .arg(pid.to_string())
            .status()
            .unwrap()
    };

    std::fs::write(&config, "[aimd]\ninitial_limit = 2\nmax_limit = 2\n").unwrap();
    assert!(hup(gw.pid()).success());
    let mut seen = None;
    for _ in 0..100 {
        seen = limit(&gw).await;
        if seen == Some(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, Some(2), "the new ceiling applied without a restart");

    std::fs::write(&config, "[aimd]\nmax_limit = 0\n").unwrap();
    assert!(hup(gw.pid()).success());
    for _ in 0..100 {
        if gw.log().contains("configuration reload failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        gw.log().contains("aimd.max_limit"),
        "the bad field is named"
    );
    assert_eq!(limit(&gw).await, Some(2), "the running settings stay");
    assert_eq!(
        gw.http
            .get(format!("{}/healthz", gw.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// Status of `GET /v1/models` with client key `key`, polled until it is `want` or a
/// second has passed.
async fn models_status_within_a_second(gw: &Gateway, key: &str, want: u16) -> u16 {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        let status = gw
            .http
            .get(format!("{}/v1/models", gw.url))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == want || std::time::Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_processes_on_one_data_dir_see_each_others_key_changes() {
    let a = Gateway::start().await;
    let b = Gateway::start_with(Options {
        shared_data_dir: Some(a.data_dir.path().to_owned()),
        ..Default::default()
    })
    .await;
    assert_ne!(a.url, b.url);
    let created = a.create_key_named("redeploy").await;
    let key = created["key"].as_str().unwrap();
    assert_eq!(models_status_within_a_second(&a, key, 200).await, 200);
    assert_eq!(
        models_status_within_a_second(&b, key, 200).await,
        200,
        "a key created through A works on B"
    );

    let (status, _) = b
        .admin_send(
            reqwest::Method::DELETE,
            &format!("/keys/{}", created["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(models_status_within_a_second(&b, key, 401).await, 401);
    assert_eq!(
        models_status_within_a_second(&a, key, 401).await,
        401,
        "a key revoked through B stops working on A within a second"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn an_open_data_dir_is_reported_and_the_database_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let gw = Gateway::start_with(Options {
        data_dir_mode: Some(0o755),
        no_admin_key_env: true,
        ..Default::default()
    })
    .await;
    let mode = |name: &str| {
        std::fs::metadata(gw.data_dir.path().join(name))
            .map(|m| m.permissions().mode() & 0o777)
            .ok()
    };
    assert_eq!(mode("switchyard.db"), Some(0o600));
    assert_eq!(mode("admin.key"), Some(0o600));
    for name in ["switchyard.db-wal", "switchyard.db-shm"] {
        assert!(matches!(mode(name), None | Some(0o600)), "{name}");
    }
    let log = gw.log();
    let warning = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("data directory"))
        .unwrap_or_else(|| panic!("no warning about the data dir; log:\n{log}"));
    assert!(
        warning.contains(&gw.data_dir.path().display().to_string()),
        "{warning}"
    );
    assert!(warning.contains("0755"), "{warning}");
    let key = std::fs::read_to_string(gw.data_dir.path().join("admin.key")).unwrap();
    assert!(!log.contains(key.trim()), "the log never shows the key");
}

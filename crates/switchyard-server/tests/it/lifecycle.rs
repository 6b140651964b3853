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

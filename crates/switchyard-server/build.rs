//! Builds the browser dashboard (`src-leptos/`, a Leptos app) with trunk and generates
//! the table of files `src/dashboard.rs` embeds, each precompressed (gzip, brotli) and
//! with an ETag.
//!
//! - Default: `trunk build --release` into `OUT_DIR`, with its own target dir
//!   (`SWITCHYARD_LEPTOS_TARGET_DIR`, else `~/.cache/switchyard-leptos-target`: sharing
//!   ours would deadlock on cargo's lock) and a cleaned environment (the variables cargo
//!   hands build scripts would steer the nested cargo).
//! - `SKIP_TRUNK_BUILD=1`: no trunk run; embeds `src-leptos/dist` when a build left one
//!   there (scripts/test.sh builds it once), else a "dashboard not built" page.
//!
//! Reruns only when the frontend's inputs change; never watches a path it writes.

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

/// A build failure, shown by cargo as written (multi-line, not escaped).
struct BuildError(String);

impl std::fmt::Debug for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! from_error {
    ($($t:ty),*) => {$(
        impl From<$t> for BuildError {
            fn from(e: $t) -> Self {
                Self(e.to_string())
            }
        }
    )*};
}
from_error!(
    std::io::Error,
    env::VarError,
    env::JoinPathsError,
    std::fmt::Error
);

impl From<String> for BuildError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<&str> for BuildError {
    fn from(message: &str) -> Self {
        Self(message.to_owned())
    }
}

type BuildResult<T> = Result<T, BuildError>;

/// The frontend's inputs (relative to `src-leptos/`), watched in trunk mode.
const FRONTEND_INPUTS: [&str; 7] = [
    "src",
    "index.html",
    "style.css",
    "Cargo.toml",
    "Cargo.lock",
    "Trunk.toml",
    "package-lock.json",
];

/// Variables passed to trunk as they are; everything else cargo set is dropped.
const KEEP_VARS: [&str; 16] = [
    "HOME",
    "USER",
    "TMPDIR",
    "LANG",
    "LC_ALL",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
];
/// Prefixes of cargo's network / registry settings, also passed on.
const KEEP_PREFIXES: [&str; 4] = [
    "CARGO_HTTP_",
    "CARGO_NET_",
    "CARGO_REGISTRIES_",
    "CARGO_REGISTRY_",
];

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard</title><link rel="icon" href="data:,"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>Switchyard</h1>
<p><strong>The dashboard is not built into this binary</strong> (it was built with
<code>SKIP_TRUNK_BUILD=1</code> and no prebuilt <code>src-leptos/dist</code>).</p>
<p>Build it with <code>scripts/install-tools.sh --dashboard</code> and then <code>cargo build</code>
without <code>SKIP_TRUNK_BUILD</code>, or serve a built dist with <code>SWITCHYARD_STATIC_DIR</code>.</p>
<p>The management API is at <code>/api</code> (admin bearer key), described at
<code>/api/openapi.json</code>.</p>
</body></html>
"#;

fn main() -> BuildResult<()> {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let frontend = manifest.join("../../src-leptos");
    let out = PathBuf::from(env::var("OUT_DIR")?);
    println!("cargo:rerun-if-env-changed=SKIP_TRUNK_BUILD");
    println!("cargo:rerun-if-env-changed=SWITCHYARD_LEPTOS_TARGET_DIR");

    let skip = env::var("SKIP_TRUNK_BUILD").is_ok_and(|v| !v.is_empty() && v != "0");
    let dist = if skip {
        let prebuilt = frontend.join("dist");
        // Nothing here writes into src-leptos in this mode: watching it is safe, and
        // notices a dist that appears or changes.
        let watched = if prebuilt.is_dir() {
            &prebuilt
        } else {
            &frontend
        };
        println!("cargo:rerun-if-changed={}", watched.display());
        prebuilt.join("index.html").is_file().then_some(prebuilt)
    } else {
        for input in FRONTEND_INPUTS {
            println!("cargo:rerun-if-changed={}", frontend.join(input).display());
        }
        // The dashboard compiles the shared DTOs too.
        let types = manifest.join("../switchyard-types");
        println!("cargo:rerun-if-changed={}", types.join("src").display());
        println!(
            "cargo:rerun-if-changed={}",
            types.join("Cargo.toml").display()
        );
        Some(trunk_build(&frontend, &out)?)
    };
    let source = match dist {
        Some(dist) => dist,
        None => {
            let placeholder = out.join("dashboard-placeholder");
            fs::create_dir_all(&placeholder)?;
            fs::write(placeholder.join("index.html"), NOT_BUILT)?;
            placeholder
        }
    };
    let built = !source.ends_with("dashboard-placeholder");
    embed(&source, &out, built)
}

/// Where the frontend's cargo builds go.
fn leptos_target_dir(out: &Path) -> PathBuf {
    if let Some(dir) = env::var_os("SWITCHYARD_LEPTOS_TARGET_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    match env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache/switchyard-leptos-target"),
        None => out.join("leptos-target"),
    }
}

fn trunk_build(frontend: &Path, out: &Path) -> BuildResult<PathBuf> {
    let frontend = frontend.canonicalize()?;
    let dist = out.join("dashboard-dist");
    let node_bin = frontend.join("node_modules/.bin");
    if !node_bin.join("wasm-opt").exists() {
        return Err(format!(
            "{} is missing: run scripts/install-tools.sh --dashboard (it runs `npm ci` in src-leptos), \
             or build without the dashboard with SKIP_TRUNK_BUILD=1",
            node_bin.join("wasm-opt").display()
        )
        .into());
    }
    let path = env::var_os("PATH").unwrap_or_default();
    let path = env::join_paths(std::iter::once(node_bin).chain(env::split_paths(&path)))?;

    let mut command = Command::new("trunk");
    command
        .current_dir(&frontend)
        .args(["build", "index.html", "--release", "--dist"])
        .arg(&dist)
        .arg("--locked")
        .env_clear()
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", leptos_target_dir(out))
        .env("TRUNK_SKIP_VERSION_CHECK", "true")
        .env("NO_COLOR", "true");
    for (name, value) in env::vars_os() {
        let Some(name_str) = name.to_str() else {
            continue;
        };
        if KEEP_VARS.contains(&name_str) || KEEP_PREFIXES.iter().any(|p| name_str.starts_with(p)) {
            command.env(&name, value);
        }
    }
    let output = match command.output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(
                "trunk not found on PATH: run scripts/install-tools.sh --dashboard, \
                        or build without the dashboard with SKIP_TRUNK_BUILD=1"
                    .into(),
            );
        }
        Err(e) => return Err(format!("could not run trunk: {e}").into()),
    };
    if !output.status.success() {
        let log = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
        let tail: String = log
            .lines()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        return Err(format!(
            "trunk build of src-leptos failed ({}); check the tools with scripts/install-tools.sh --dashboard, \
             or build without the dashboard with SKIP_TRUNK_BUILD=1. Last lines:\n{tail}",
            output.status
        )
        .into());
    }
    Ok(dist)
}

/// Files under `dir`, as paths relative to it; trunk's staging folder and dotfiles skipped.
fn files(dir: &Path, prefix: &str, list: &mut Vec<(String, PathBuf)>) -> BuildResult<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let route = format!("{prefix}/{name}");
        if entry.file_type()?.is_dir() {
            files(&entry.path(), &route, list)?;
        } else {
            list.push((route, entry.path()));
        }
    }
    Ok(())
}

/// Whether a compressed copy is worth keeping for this file.
fn compressible(route: &str) -> bool {
    let ext = route.rsplit_once('.').map_or("", |(_, e)| e);
    matches!(
        ext,
        "html" | "js" | "mjs" | "css" | "wasm" | "json" | "svg" | "txt" | "map"
    )
}

fn gzip(bytes: &[u8]) -> BuildResult<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

fn brotli(bytes: &[u8]) -> BuildResult<Vec<u8>> {
    let mut compressed = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 9,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut compressed, &params)?;
    Ok(compressed)
}

/// Copies the files into `OUT_DIR/dashboard-assets` with their compressed variants and
/// writes `dashboard_assets.rs`: `BUILT` and the `ASSETS` table.
fn embed(source: &Path, out: &Path, built: bool) -> BuildResult<()> {
    let mut list = Vec::new();
    files(source, "", &mut list)?;
    let assets = out.join("dashboard-assets");
    if assets.exists() {
        fs::remove_dir_all(&assets)?;
    }
    fs::create_dir_all(&assets)?;
    let mut code = String::from("// @generated by build.rs: the embedded dashboard files.\n");
    writeln!(
        code,
        "/// Whether the dashboard was built into this binary (else a placeholder page)."
    )?;
    writeln!(code, "pub const BUILT: bool = {built};")?;
    writeln!(code, "pub static ASSETS: &[Asset] = &[")?;
    for (i, (route, path)) in list.iter().enumerate() {
        let bytes = fs::read(path)?;
        let etag = hex(&Sha256::digest(&bytes)[..12]);
        let raw = assets.join(i.to_string());
        fs::write(&raw, &bytes)?;
        let variant = |suffix: &str, data: BuildResult<Vec<u8>>| -> BuildResult<String> {
            let data = data?;
            // Keep a compressed copy only when it saves something worth a header.
            if !compressible(route) || data.len() + 64 >= bytes.len() {
                return Ok("None".to_owned());
            }
            let file = assets.join(format!("{i}.{suffix}"));
            fs::write(&file, data)?;
            Ok(format!(
                "Some(include_bytes!({:?}))",
                file.display().to_string()
            ))
        };
        let gz = variant("gz", gzip(&bytes))?;
        let br = variant("br", brotli(&bytes))?;
        writeln!(
            code,
            "    Asset {{ path: {route:?}, etag: {:?}, raw: include_bytes!({:?}), gzip: {gz}, brotli: {br} }},",
            format!("\"{etag}\""),
            raw.display().to_string(),
        )?;
    }
    writeln!(code, "];")?;
    fs::write(out.join("dashboard_assets.rs"), code)?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

//! `switchyard-fake [--port P]`: serves the fake OpenAI / Anthropic / Gemini upstream on
//! `127.0.0.1:P` (default 0, any free port), prints `listening on http://127.0.0.1:PORT` as its
//! only stdout line, and serves until SIGTERM or ctrl-c. Behaviour is scripted through API keys
//! and `#fake:` prompt directives (see the library docs).

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};

use switchyard_testkit::FakeProvider;

const USAGE: &str = "usage: switchyard-fake [--port PORT]";

/// The port from the command line (0 when not given).
fn parse_port(args: impl Iterator<Item = String>) -> Result<u16, String> {
    let mut port = 0;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--port" | "-p" => args
                .next()
                .ok_or_else(|| format!("--port needs a value\n{USAGE}"))?,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => match other.strip_prefix("--port=") {
                Some(v) => v.to_owned(),
                None => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            },
        };
        port = value
            .parse()
            .map_err(|e| format!("invalid port {value:?}: {e}"))?;
    }
    Ok(port)
}

/// Resolves on ctrl-c or (on Unix) SIGTERM.
async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

/// Prints the one line a harness reads to learn the port, and flushes it.
#[expect(
    clippy::print_stdout,
    reason = "the listening line is this binary's interface to test harnesses"
)]
fn announce(addr: SocketAddr) -> std::io::Result<()> {
    println!("listening on http://{addr}");
    std::io::stdout().flush()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = parse_port(std::env::args().skip(1))?;
    let provider = FakeProvider::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    announce(provider.addr())?;
    shutdown_signal().await?;
    drop(provider);
    Ok(())
}

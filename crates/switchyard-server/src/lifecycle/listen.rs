//! Where the listening socket comes from: systemd, a running predecessor, or a new bind.

use super::handover;
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::TcpListener;

/// How this process got its socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Handed in by systemd socket activation (`LISTEN_FDS`).
    Systemd,
    /// Taken from the process serving the same data dir.
    Predecessor,
    /// Bound here (SO_REUSEPORT).
    Bound,
}

impl Source {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Systemd => "systemd",
            Self::Predecessor => "predecessor",
            Self::Bound => "bound",
        }
    }
}

/// The listening socket for `addr`: the first TCP listener systemd passed in, else the
/// predecessor's (see [`handover`]), else a new bind.
pub async fn acquire(
    addr: SocketAddr,
    data_dir: &Path,
    mut activated: listenfd::ListenFd,
) -> std::io::Result<(TcpListener, Source)> {
    for index in 0..activated.len() {
        match activated.take_tcp_listener(index) {
            Ok(Some(listener)) => {
                listener.set_nonblocking(true)?;
                return Ok((TcpListener::from_std(listener)?, Source::Systemd));
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(index, error = %e, "a socket passed by systemd is not a TCP listener; skipped");
            }
        }
    }
    let dir = data_dir.to_owned();
    let taken = tokio::task::spawn_blocking(move || handover::take(&dir, addr))
        .await
        .ok()
        .flatten();
    if let Some(listener) = taken {
        listener.set_nonblocking(true)?;
        return Ok((TcpListener::from_std(listener)?, Source::Predecessor));
    }
    Ok((bind(addr)?, Source::Bound))
}

/// A listener with SO_REUSEADDR and SO_REUSEPORT, so a new process can bind the same
/// port even when the running one cannot hand its socket over.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    socket.set_reuse_port(true)?;
    socket.set_nodelay(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// The accept queue asked for (the kernel caps it at `net.core.somaxconn`): deep enough
/// for a burst of new connections while a redeploy's successor starts.
const LISTEN_BACKLOG: i32 = 4096;

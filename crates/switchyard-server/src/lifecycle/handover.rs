//! Handing the listening socket to a successor over `<data dir>/handover.sock`.
//!
//! The serving process binds a unix socket in its data dir (0600, in the 0700 dir; peers
//! of another uid are refused too) and [`serve`]s it. A new process for the same data
//! dir [`take`]s the listener: it connects, sends `listen <ip>:<port>\n`, and gets back
//! one byte — `1` with the socket attached (`SCM_RIGHTS`) when the address is the one
//! being served, `0` otherwise — then becomes the one serving `handover.sock` (bound
//! beside it and renamed over it, so there is no moment without one). Both processes
//! now hold the same socket and so one accept queue; see the module docs of
//! [`super`] for why that matters. Once draining, a process withdraws its offer
//! ([`Offer::withdraw`]) and answers `0`.

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use std::io::{self, IoSlice, IoSliceMut, Write};
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, Interest};
use tokio::net::{UnixListener, UnixStream};

/// The socket's file name in the data dir.
pub const FILE: &str = "handover.sock";

/// How long either side waits for the other.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The longest request line read.
const MAX_REQUEST: usize = 128;

fn request_line(addr: SocketAddr) -> String {
    format!("listen {addr}\n")
}

/// Ask the process serving `data_dir` for its listening socket on `addr`. `None` when
/// there is no such process (or it does not serve that address, or is draining).
/// Blocking (for at most a few seconds): call it from a blocking context.
pub fn take(data_dir: &Path, addr: SocketAddr) -> Option<std::net::TcpListener> {
    if addr.port() == 0 {
        return None;
    }
    let path = data_dir.join(FILE);
    match ask(&path, addr) {
        Ok(listener) => listener,
        Err(e) if is_nobody_there(&e) => None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "listener handover failed; binding a new socket");
            None
        }
    }
}

fn is_nobody_there(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
    )
}

fn ask(path: &Path, addr: SocketAddr) -> io::Result<Option<std::net::TcpListener>> {
    let mut stream = StdUnixStream::connect(path)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    stream.write_all(request_line(addr).as_bytes())?;
    let mut answer = [0u8; 1];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let received = rustix::net::recvmsg(
        &stream,
        &mut [IoSliceMut::new(&mut answer)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    let mut fds: Vec<OwnedFd> = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    if received.bytes != 1 || answer != *b"1" {
        return Ok(None);
    }
    let Some(fd) = fds.into_iter().next() else {
        return Err(io::Error::other("the answer carried no socket"));
    };
    let listener = std::net::TcpListener::from(fd);
    let local = listener.local_addr()?;
    if local != addr {
        return Err(io::Error::other(format!(
            "was handed a socket on {local}, not {addr}"
        )));
    }
    Ok(Some(listener))
}

/// The listening socket this process offers to a successor (a duplicate of the one it
/// accepts on), until it starts draining.
#[derive(Debug)]
pub struct Offer {
    addr: SocketAddr,
    socket: Mutex<Option<OwnedFd>>,
}

impl Offer {
    pub fn new(listener: &tokio::net::TcpListener) -> io::Result<Self> {
        Ok(Self {
            addr: listener.local_addr()?,
            socket: Mutex::new(Some(listener.as_fd().try_clone_to_owned()?)),
        })
    }

    /// Stop offering (and close this duplicate, so only the accept loop's copy — and a
    /// successor's — keeps the socket open).
    pub fn withdraw(&self) {
        drop(
            self.socket
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
    }

    fn duplicate(&self) -> io::Result<Option<OwnedFd>> {
        let guard = self.socket.lock().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().map(|fd| fd.try_clone()).transpose()
    }
}

/// `handover.sock`, bound by this process; removed on drop unless a successor has
/// replaced it since.
#[derive(Debug)]
pub struct Bound {
    listener: UnixListener,
    path: PathBuf,
    inode: (u64, u64),
}

impl Drop for Bound {
    fn drop(&mut self) {
        if std::fs::metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.inode) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Bind `<data_dir>/handover.sock`, replacing a predecessor's atomically.
pub fn bind(data_dir: &Path) -> io::Result<Bound> {
    use std::os::unix::fs::PermissionsExt;
    let path = data_dir.join(FILE);
    let staging = data_dir.join(format!("{FILE}.{}", std::process::id()));
    let _ = std::fs::remove_file(&staging);
    let listener = UnixListener::bind(&staging)?;
    std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))?;
    let meta = std::fs::metadata(&staging)?;
    std::fs::rename(&staging, &path)?;
    Ok(Bound {
        listener,
        path,
        inode: (meta.dev(), meta.ino()),
    })
}

/// Answer successors until the task is cancelled (see [`super::Lifecycle::spawn`]).
pub async fn serve(bound: Bound, offer: Arc<Offer>) {
    loop {
        let stream = match bound.listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "handover socket: accept failed");
                tokio::time::sleep(TIMEOUT).await;
                continue;
            }
        };
        let offer = Arc::clone(&offer);
        tokio::spawn(async move {
            match tokio::time::timeout(TIMEOUT, answer(stream, &offer)).await {
                Ok(Ok(true)) => {
                    tracing::info!(addr = %offer.addr, "handed the listening socket to a new process");
                }
                Ok(Ok(false)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "handover socket: answering failed"),
                Err(_) => tracing::warn!("handover socket: the peer was too slow"),
            }
        });
    }
}

/// Read one request and answer it; whether the socket was sent.
async fn answer(mut stream: UnixStream, offer: &Offer) -> io::Result<bool> {
    let peer = rustix::net::sockopt::socket_peercred(&stream)?;
    if peer.uid != rustix::process::getuid() {
        return Err(io::Error::other("a peer of another user was refused"));
    }
    let mut request = Vec::with_capacity(MAX_REQUEST);
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\n") {
        if request.len() >= MAX_REQUEST || stream.read(&mut byte).await? == 0 {
            return Err(io::Error::other("malformed request"));
        }
        request.extend_from_slice(&byte);
    }
    let socket = if request == request_line(offer.addr).as_bytes() {
        offer.duplicate()?
    } else {
        None
    };
    let sent = socket.is_some();
    send_answer(&stream, socket).await?;
    Ok(sent)
}

async fn send_answer(stream: &UnixStream, socket: Option<OwnedFd>) -> io::Result<()> {
    loop {
        stream.writable().await?;
        let result = stream.try_io(Interest::WRITABLE, || {
            let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
            let mut control = SendAncillaryBuffer::new(&mut space);
            let fds;
            let byte: &[u8] = match &socket {
                Some(fd) => {
                    fds = [fd.as_fd()];
                    control.push(SendAncillaryMessage::ScmRights(&fds));
                    b"1"
                }
                None => b"0",
            };
            rustix::net::sendmsg(
                stream,
                &[IoSlice::new(byte)],
                &mut control,
                SendFlags::empty(),
            )
            .map_err(io::Error::from)
        });
        match result {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_successor_gets_the_same_socket() {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let offer = Arc::new(Offer::new(&listener).unwrap());
        let bound = bind(dir.path()).unwrap();
        let server = tokio::spawn(serve(bound, Arc::clone(&offer)));

        let path = dir.path().to_owned();
        let taken = tokio::task::spawn_blocking(move || take(&path, addr))
            .await
            .unwrap()
            .expect("the socket is handed over");
        assert_eq!(taken.local_addr().unwrap(), addr);
        // One socket, one queue: a connection made now is accepted through the copy
        // even after the original is closed.
        drop(listener);
        // The copy shares the original's open file description, non-blocking included.
        taken.set_nonblocking(false).unwrap();
        let client = std::net::TcpStream::connect(addr).unwrap();
        let (accepted, _) = taken.accept().unwrap();
        assert_eq!(accepted.peer_addr().unwrap(), client.local_addr().unwrap());

        // Another address, or a withdrawn offer: nothing is handed over.
        let path = dir.path().to_owned();
        let other: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert!(
            tokio::task::spawn_blocking(move || take(&path, other))
                .await
                .unwrap()
                .is_none()
        );
        offer.withdraw();
        let path = dir.path().to_owned();
        assert!(
            tokio::task::spawn_blocking(move || take(&path, addr))
                .await
                .unwrap()
                .is_none()
        );
        server.abort();
    }

    #[test]
    fn no_predecessor_means_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(take(dir.path(), "127.0.0.1:8045".parse().unwrap()).is_none());
        // A stale socket file nobody listens on.
        drop(std::os::unix::net::UnixListener::bind(dir.path().join(FILE)).unwrap());
        assert!(take(dir.path(), "127.0.0.1:8045".parse().unwrap()).is_none());
    }

    #[tokio::test]
    async fn the_socket_file_is_private_and_cleaned_up_unless_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = bind(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = bind(dir.path()).unwrap();
        drop(first);
        assert!(dir.path().join(FILE).exists(), "the successor's stays");
        drop(second);
        assert!(!dir.path().join(FILE).exists());
    }
}

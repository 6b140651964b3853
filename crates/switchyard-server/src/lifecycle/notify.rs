//! The systemd notify protocol (`$NOTIFY_SOCKET`), through the `sd-notify` crate. Without
//! the variable these do nothing; a failed send is logged, never fatal.

use sd_notify::NotifyState;

/// `READY=1`: the store is open and the listener accepts.
pub fn ready() {
    send(&[NotifyState::Ready, NotifyState::Status("serving")]);
}

/// `STOPPING=1`: the drain has started.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("draining")]);
}

fn send(states: &[NotifyState<'_>]) {
    match sd_notify::notify(false, states) {
        Ok(()) => {}
        // The receiver is gone (a deploy script that only waited for READY=1).
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            tracing::debug!(error = %e, "the service manager's notify socket is gone");
        }
        Err(e) => tracing::warn!(error = %e, "cannot notify the service manager ($NOTIFY_SOCKET)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_the_protocol_lines() {
        assert_eq!(NotifyState::Ready.to_string(), "READY=1");
        assert_eq!(NotifyState::Stopping.to_string(), "STOPPING=1");
    }
}

//! Secrets at rest and in memory.
//!
//! - [`MasterKey`]: AES-256-GCM over account credentials, with a fresh 96-bit random nonce
//!   per encryption and the record's id as associated data (a ciphertext copied onto
//!   another row fails to decrypt). The key comes from `SWITCHYARD_MASTER_KEY` or a
//!   `master.key` file (mode 0600) created on first start.
//! - [`Secret`]: a string whose `Debug`/`Display` never show it.
//! - [`KeyDigest`]: SHA-256 of a client or admin key. Keys are compared by digest in
//!   constant time, so neither a timing side channel nor the stored table reveals them.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;
use subtle::ConstantTimeEq;

/// Failure to obtain the master key or to decrypt.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error(
        "SWITCHYARD_MASTER_KEY must be 32 bytes as 64 hex characters or base64 (got {len} characters)"
    )]
    BadMasterKey { len: usize },
    #[error("master key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error("cannot decrypt a stored secret: wrong master key or corrupted data")]
    Decrypt,
    #[error("encryption failed")]
    Encrypt,
}

/// A string secret (API key, token). Redacted in every formatted output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself: call only where it goes on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// SHA-256 digest of a key, compared in constant time.
#[derive(Clone, Copy, Eq, Hash, PartialEq)]
pub struct KeyDigest(pub [u8; 32]);

impl KeyDigest {
    pub fn of(key: &str) -> Self {
        Self(Sha256::digest(key.as_bytes()).into())
    }
    /// Constant-time equality.
    pub fn ct_eq(&self, other: &KeyDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyDigest({}…)", hex::encode(&self.0[..4]))
    }
}

/// An encrypted secret as stored: nonce and ciphertext (with the GCM tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// The AES-256-GCM key for secrets at rest.
pub struct MasterKey(Aes256Gcm);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// Parse 32 bytes given as 64 hex characters or standard/url-safe base64.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let t = text.trim();
        let bytes = if t.len() == 64 {
            hex::decode(t).ok()
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t))
                .ok()
        };
        match bytes {
            Some(b) if b.len() == 32 => Ok(Self::from_bytes(&b)),
            _ => Err(CryptoError::BadMasterKey { len: t.len() }),
        }
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        Self(Aes256Gcm::new(aes_gcm::Key::<Aes256Gcm>::from_slice(bytes)))
    }

    /// The key from `configured` (the env value) or from `<dir>/master.key`, creating the
    /// file with mode 0600 on first start. Returns the key and whether it was generated.
    pub fn load_or_create(
        configured: Option<&str>,
        dir: &Path,
    ) -> Result<(Self, bool), CryptoError> {
        if let Some(text) = configured {
            return Ok((Self::parse(text)?, false));
        }
        let path = dir.join("master.key");
        let file_err = |message: String| CryptoError::KeyFile {
            path: path.display().to_string(),
            message,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok((
                Self::parse(&text).map_err(|e| file_err(e.to_string()))?,
                false,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                write_private_file(&path, &format!("{}\n", hex::encode(bytes)))
                    .map_err(|e| file_err(e.to_string()))?;
                Ok((Self::from_bytes(&bytes), true))
            }
            Err(e) => Err(file_err(e.to_string())),
        }
    }

    /// Encrypt `plaintext`, binding it to `context` (e.g. the record id).
    pub fn seal(&self, plaintext: &str, context: &str) -> Result<Sealed, CryptoError> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        Ok(Sealed {
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// Decrypt what [`seal`](Self::seal) produced with the same `context`.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<Secret, CryptoError> {
        if sealed.nonce.len() != 12 {
            return Err(CryptoError::Decrypt);
        }
        let plain = self
            .0
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(plain)
            .map(Secret)
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// Write a file readable only by its owner (0600 on Unix), failing if it exists.
pub fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// A random token: `prefix` followed by 32 random bytes in URL-safe base64 (43 chars).
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// A short random identifier: `prefix` + 16 hex characters.
pub fn random_id(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_context_binding() {
        let key = MasterKey::parse(&"11".repeat(32)).unwrap();
        let sealed = key.seal("sk-live-secret", "account:a1").unwrap();
        assert!(!sealed.ciphertext.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            key.open(&sealed, "account:a1").unwrap().expose(),
            "sk-live-secret"
        );
        assert!(key.open(&sealed, "account:a2").is_err());
        let other = MasterKey::parse(&"22".repeat(32)).unwrap();
        assert!(other.open(&sealed, "account:a1").is_err());
        // Fresh nonce each time.
        assert_ne!(
            key.seal("x", "c").unwrap().nonce,
            key.seal("x", "c").unwrap().nonce
        );
    }

    #[test]
    fn master_key_formats() {
        assert!(MasterKey::parse(&"ab".repeat(32)).is_ok());
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(MasterKey::parse(&b64).is_ok());
        assert!(MasterKey::parse("too-short").is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (k1, created) = MasterKey::load_or_create(None, dir.path()).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (k2, created) = MasterKey::load_or_create(None, dir.path()).unwrap();
        assert!(!created);
        let sealed = k1.seal("v", "c").unwrap();
        assert_eq!(k2.open(&sealed, "c").unwrap().expose(), "v");
    }

    #[test]
    fn secrets_are_redacted_and_digests_compare() {
        let s = Secret::new("sk-abc");
        assert!(!format!("{s:?} {s}").contains("abc"));
        assert!(KeyDigest::of("a").ct_eq(&KeyDigest::of("a")));
        assert!(!KeyDigest::of("a").ct_eq(&KeyDigest::of("b")));
        assert!(random_token("sy-").starts_with("sy-"));
        assert_eq!(random_token("sy-").len(), 46);
    }
}

//! Secrets: the card PIN MAC and password hashes.
//!
//! PINs are stored as `v1$<salt hex>$<HMAC-SHA256 hex>` where the MAC is keyed by the PIN key,
//! which lives in a key file or the environment, never in the database. A stolen database alone
//! therefore does not allow brute-forcing the 10^6 PIN space. Comparison is constant-time.
//! Staff and portal passwords use argon2id.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{ErrorKind, ServiceError};

type HmacSha256 = Hmac<Sha256>;

/// The key for PIN MACs. Debug output never shows it.
#[derive(Clone)]
pub struct PinKey(Vec<u8>);

impl std::fmt::Debug for PinKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinKey(***)")
    }
}

impl PinKey {
    /// A key of at least 16 bytes.
    pub fn new(bytes: Vec<u8>) -> Result<PinKey, ServiceError> {
        if bytes.len() < 16 {
            return Err(ServiceError::new(
                ErrorKind::BadRequest,
                "PIN_KEY_SHORT",
                "PIN 密钥至少需要 16 字节",
                "The PIN key must be at least 16 bytes",
            ));
        }
        Ok(PinKey(bytes))
    }

    /// Reads a key file: hex text (64 hex digits recommended) or raw bytes.
    pub fn from_file(path: &std::path::Path) -> Result<PinKey, ServiceError> {
        let raw = std::fs::read(path).map_err(|e| {
            ServiceError::new(
                ErrorKind::BadRequest,
                "PIN_KEY_UNREADABLE",
                format!("无法读取 PIN 密钥文件 {}:{e}", path.display()),
                format!("Cannot read the PIN key file {}: {e}", path.display()),
            )
        })?;
        let text = String::from_utf8_lossy(&raw);
        match hex::decode(text.trim()) {
            Ok(b) => PinKey::new(b),
            Err(_) => PinKey::new(raw),
        }
    }

    fn mac(&self, salt: &[u8], pin: &str) -> Vec<u8> {
        let mut m =
            <HmacSha256 as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        m.update(b"sscard-pin-v1\0");
        m.update(salt);
        m.update(b"\0");
        m.update(pin.as_bytes());
        m.finalize().into_bytes().to_vec()
    }

    /// Stores a PIN under a fresh random salt.
    pub fn seal_new_pin(&self, pin: &str) -> String {
        self.seal_pin(pin, random_salt())
    }

    /// Stores a PIN with the given 16-byte salt (deterministic: the demo loader).
    pub fn seal_pin(&self, pin: &str, salt: [u8; 16]) -> String {
        format!(
            "v1${}${}",
            hex::encode(salt),
            hex::encode(self.mac(&salt, pin))
        )
    }

    /// Whether `pin` matches the stored value (constant-time comparison of the MACs).
    pub fn verify_pin(&self, stored: &str, pin: &str) -> bool {
        let mut parts = stored.split('$');
        let (Some("v1"), Some(salt), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let (Ok(salt), Ok(mac)) = (hex::decode(salt), hex::decode(mac)) else {
            return false;
        };
        let mut m =
            <HmacSha256 as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        m.update(b"sscard-pin-v1\0");
        m.update(&salt);
        m.update(b"\0");
        m.update(pin.as_bytes());
        m.verify_slice(&mac).is_ok()
    }
}

/// A fresh random 16-byte salt.
pub fn random_salt() -> [u8; 16] {
    use rand::RngCore;
    let mut s = [0u8; 16];
    rand::rng().fill_bytes(&mut s);
    s
}

fn argon() -> Argon2<'static> {
    // OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with argon2id and the given 16-byte salt (PHC string format).
pub fn hash_password(password: &str, salt: [u8; 16]) -> String {
    let salt = SaltString::encode_b64(&salt).expect("16-byte salt encodes");
    argon()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing cannot fail with valid params")
        .to_string()
}

/// Verifies a password against a PHC string (constant-time inside argon2).
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => argon()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_verify_only_with_the_right_pin_and_key() {
        let k = PinKey::new(vec![7; 32]).unwrap();
        let sealed = k.seal_pin("123456", [1; 16]);
        assert!(sealed.starts_with("v1$"));
        assert!(!sealed.contains("123456"));
        assert!(k.verify_pin(&sealed, "123456"));
        assert!(!k.verify_pin(&sealed, "123457"));
        let other = PinKey::new(vec![8; 32]).unwrap();
        assert!(!other.verify_pin(&sealed, "123456"));
        assert!(!k.verify_pin("garbage", "123456"));
        // Different salts give different stored values for the same PIN.
        assert_ne!(sealed, k.seal_pin("123456", [2; 16]));
    }

    #[test]
    fn short_keys_are_refused_and_never_printed() {
        assert!(PinKey::new(vec![1; 8]).is_err());
        assert_eq!(
            format!("{:?}", PinKey::new(vec![1; 16]).unwrap()),
            "PinKey(***)"
        );
    }

    #[test]
    fn passwords_hash_with_argon2id() {
        let h = hash_password("s3cret!Pass", [3; 16]);
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "s3cret!Pass"));
        assert!(!verify_password(&h, "s3cret!pass"));
        assert!(!verify_password("nonsense", "x"));
    }
}

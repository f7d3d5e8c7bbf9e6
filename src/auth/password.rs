//! argon2id with the OWASP parameters (m=19456 KiB, t=2, p=1). Hashing and verification run on
//! the blocking pool; unknown users are verified against a dummy hash so that timing does not
//! reveal which emails have accounts.

use std::sync::LazyLock;

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::{NewPassword, PasswordInput};

fn hasher() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19_456, 2, 1, None).expect("valid argon2 parameters"),
    )
}

/// A hash of a random password with the production parameters, computed once.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(uuid::Uuid::new_v4().to_string().as_bytes(), &salt)
        .expect("hashing the dummy password")
        .to_string()
});

pub fn hash_now(password: &NewPassword) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(hasher()
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?
        .to_string())
}

/// Verifies `candidate` against `stored` (or the dummy hash when there is no stored hash).
pub fn verify_now(stored: Option<&str>, candidate: &PasswordInput) -> bool {
    let (hash, real) = match stored {
        Some(h) => (h, true),
        None => (DUMMY_HASH.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let ok = hasher()
        .verify_password(candidate.expose().as_bytes(), &parsed)
        .is_ok();
    ok && real
}

pub async fn hash(password: NewPassword) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .context("password hashing task")?
}

pub async fn verify(stored: Option<String>, candidate: PasswordInput) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || verify_now(stored.as_deref(), &candidate))
        .await
        .context("password verification task")
}

/// Forces the dummy hash to be computed (at start-up, not on the first login).
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let p = NewPassword::parse("a long and unusual passphrase").unwrap();
        let h = hash_now(&p).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_now(
            Some(&h),
            &PasswordInput::new("a long and unusual passphrase".into())
        ));
        assert!(!verify_now(
            Some(&h),
            &PasswordInput::new("a long and unusual passphrasE".into())
        ));
        assert!(!verify_now(None, &PasswordInput::new("anything".into())));
    }
}

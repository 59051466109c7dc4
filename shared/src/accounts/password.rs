//! Password hashing with argon2id (m = 19456 KiB, t = 2, p = 1: OWASP's first choice),
//! stored as PHC strings so the parameters travel with each hash and can be raised later.

use std::sync::LazyLock;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;
const SALT_BYTES: usize = 16;

/// Verified against when the email is unknown, so an unknown email costs the same argon2
/// work as a known one and timing does not reveal which emails have accounts. Built from a
/// random password on first use; `warm_up` makes that first use the cold start.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| hash(&random_password()).ok());

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("the argon2id parameters are valid constants");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn random_password() -> String {
    crate::ids::random_id().unwrap_or_default()
}

/// Hashing failed at the named step (a server fault, never seen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashFailed(&'static str);

/// The PHC string of `password` with a fresh random salt. CPU-bound (tens of ms): call it
/// from `spawn_blocking`.
pub fn hash(password: &str) -> Result<String, HashFailed> {
    let mut salt = [0u8; SALT_BYTES];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| HashFailed("salt generation"))?;
    hasher()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| HashFailed("hashing"))
}

/// Whether `password` matches `phc`; a malformed stored hash never matches. With no stored
/// hash (unknown email) the dummy is checked, costing the same time, and the answer is no.
pub fn verify(password: &str, phc: Option<&str>) -> bool {
    match phc {
        Some(phc) => hasher().verify_password(password.as_bytes(), phc).is_ok(),
        None => {
            match DUMMY_HASH.as_deref() {
                Some(dummy) => {
                    let _ = hasher().verify_password(password.as_bytes(), dummy);
                }
                // No dummy (its hashing failed, never seen): hashing costs the same work.
                None => {
                    let _ = hash(password);
                }
            }
            false
        }
    }
}

/// Computes the dummy hash now, at cold start, rather than in the first unknown-email login.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_with_the_spec_parameters() {
        let phc = hash("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_ne!(phc, hash("correct horse battery staple").unwrap(), "salted");
    }

    #[test]
    fn verifies_the_right_password_only() {
        let phc = hash("correct horse battery staple").unwrap();
        assert!(verify("correct horse battery staple", Some(&phc)));
        assert!(!verify("correct horse battery stapler", Some(&phc)));
        assert!(!verify("anything", Some("not a phc string")));
        assert!(!verify("anything", None));
    }
}

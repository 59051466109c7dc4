//! Password hashing with argon2id (m = 19456 KiB, t = 2, p = 1: OWASP's first choice),
//! stored as PHC strings so the parameters travel with each hash and can be raised later.
//!
//! Every hash and every check runs in one working memory, allocated once per process and
//! reused. Letting argon2 allocate its 19 MiB per call made each blocking thread's allocator
//! arena keep one freed copy: a login function grew to about 240 MB. One buffer keeps it near
//! 19 MiB above the rest; a Lambda instance serves one request at a time, so the lock that
//! guards it costs nothing there.

use std::sync::{LazyLock, Mutex, PoisonError};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use aws_lc_rs::constant_time::verify_slices_are_equal;

const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;
const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;

/// Verified against when the email is unknown, so an unknown email costs the same argon2
/// work as a known one and timing does not reveal which emails have accounts. Built from a
/// random password on first use; `warm_up` makes that first use the cold start.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| hash(&random_password()).ok());

/// The working memory every hash and check of this process runs in (grown, never shrunk,
/// should a stored hash ask for more than today's parameters).
static MEMORY: Mutex<Vec<Block>> = Mutex::new(Vec::new());

/// Hashing failed at the named step (a server fault, never seen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashFailed(&'static str);

fn params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(OUTPUT_BYTES))
        .expect("the argon2id parameters are valid constants")
}

fn random_password() -> String {
    crate::ids::random_id().unwrap_or_default()
}

/// Runs argon2id with `params` into `out`, in the process's one working memory.
fn compute(params: Params, password: &str, salt: &[u8], out: &mut [u8]) -> Result<(), HashFailed> {
    let blocks = params.block_count();
    let mut memory = MEMORY.lock().unwrap_or_else(PoisonError::into_inner);
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut memory[..blocks])
        .map_err(|_| HashFailed("hashing"))
}

/// The PHC string of `password` with a fresh random salt. CPU-bound (tens of ms): call it
/// from `spawn_blocking`.
pub fn hash(password: &str) -> Result<String, HashFailed> {
    let mut salt = [0u8; SALT_BYTES];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| HashFailed("salt generation"))?;
    let mut out = [0u8; OUTPUT_BYTES];
    compute(params(), password, &salt, &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params()).map_err(|_| HashFailed("encoding"))?,
        salt: Some(Salt::new(&salt).map_err(|_| HashFailed("encoding"))?),
        hash: Some(Output::new(&out).map_err(|_| HashFailed("encoding"))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches `phc`; a malformed stored hash never matches. With no stored
/// hash (unknown email) the dummy is checked, costing the same time, and the answer is no.
pub fn verify(password: &str, phc: Option<&str>) -> bool {
    match phc {
        Some(phc) => matches(password, phc),
        None => {
            match DUMMY_HASH.as_deref() {
                Some(dummy) => {
                    matches(password, dummy);
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

/// Recomputes the hash with the stored salt and parameters and compares in constant time.
fn matches(password: &str, phc: &str) -> bool {
    let Ok(stored) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&stored) else {
        return false;
    };
    if stored.algorithm != Algorithm::Argon2id.ident() {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    compute(params, password, salt.as_ref(), &mut out).is_ok()
        && verify_slices_are_equal(&out, expected.as_bytes()).is_ok()
}

/// Computes the dummy hash now, at cold start, rather than in the first unknown-email login.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier;

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

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
        let ours = hash("correct horse battery staple").unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            theirs
                .verify_password(b"correct horse battery staple", &parsed)
                .is_ok()
        );
        // And a hash the crate made, with other parameters (more memory), verifies here.
        let other = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(32_768, 1, 1, None).unwrap(),
        );
        let salt = [7u8; SALT_BYTES];
        let made = argon2::PasswordHasher::hash_password_with_salt(&other, b"pw-12345", &salt)
            .unwrap()
            .to_string();
        assert!(verify("pw-12345", Some(&made)));
        assert!(!verify("pw-12346", Some(&made)));
        let argon2i = made.replacen("$argon2id$", "$argon2i$", 1);
        assert!(
            !verify("pw-12345", Some(&argon2i)),
            "only argon2id is accepted"
        );
    }
}

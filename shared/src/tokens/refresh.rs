//! Refresh tokens: rotated on every use, in families a login starts (RFC 9700, §4.14).
//!
//! A refresh token is `{account}.{family}.{secret}`, opaque to clients. The account and the
//! family name the two Redis keys a refresh touches, so the refresh script gets them in `KEYS`
//! as key-level locking requires. The family id starts with its login time (ms, 12 hex
//! digits) followed by 256 bits from the CSPRNG; it bounds the family's life without Redis.
//!
//! No secret is stored, only SHA-256 hashes, and none needs to be: a family's first secret is
//! a keyed hash of its account and id, and each successor a keyed hash of the whole token it
//! replaces, under a key derived from the JWT signing secret. The account is bound into both,
//! and into the family's Redis key, so a token's account part cannot be swapped for another. So a login writes nothing (its family exists in
//! Redis from its first refresh on), and a client that re-sends a refresh whose answer it lost
//! gets the very same successor back, so the family never forks.

use std::fmt;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::TokenConfig;
use crate::ids::{RandomUnavailable, hex};

/// The label the refresh key is derived under, so it is never the signing key itself.
const KEY_LABEL: &[u8] = b"edgestate refresh-token key v1";
/// Hex digits of a family's start time, then of its random part.
const STARTED_DIGITS: usize = 12;
const RANDOM_BYTES: usize = 32;
/// A secret is 32 bytes (256 bits), base64url without padding.
const SECRET_CHARS: usize = 43;

/// The refresh-token side of the token keys, built once per cold start.
pub struct RefreshTokens {
    /// Derives successors, and first secrets of new families.
    current: hmac::Key,
    /// During a JWT key rotation: still recognises first secrets of families started under
    /// the previous key.
    previous: Option<hmac::Key>,
    ttl_ms: u64,
    grace_ms: u64,
}

impl fmt::Debug for RefreshTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokens")
            .field("ttl_ms", &self.ttl_ms)
            .field("grace_ms", &self.grace_ms)
            .finish_non_exhaustive()
    }
}

/// A family: its id, which begins with when its login happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    pub id: String,
    pub started_ms: u64,
}

/// A refresh token as a client presented it, well formed.
#[derive(Clone, PartialEq, Eq)]
pub struct Presented {
    pub account: String,
    pub family: Family,
    secret: String,
}

impl fmt::Debug for Presented {
    /// The secret is a credential: never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Presented")
            .field("family", &self.family.id)
            .finish_non_exhaustive()
    }
}

impl Family {
    /// A new family, started at `now_ms`.
    pub fn start(now_ms: u64) -> Result<Family, RandomUnavailable> {
        let mut random = [0u8; RANDOM_BYTES];
        aws_lc_rs::rand::fill(&mut random).map_err(|_| RandomUnavailable)?;
        Ok(Family {
            id: format!("{now_ms:0width$x}{}", hex(&random), width = STARTED_DIGITS),
            started_ms: now_ms,
        })
    }

    /// A family id as [`Family::start`] spells it, or `None`.
    pub fn parse(id: &str) -> Option<Family> {
        if id.len() != STARTED_DIGITS + 2 * RANDOM_BYTES || !is_lower_hex(id) {
            return None;
        }
        let started_ms = u64::from_str_radix(&id[..STARTED_DIGITS], 16).ok()?;
        Some(Family {
            id: id.to_owned(),
            started_ms,
        })
    }
}

impl RefreshTokens {
    pub fn new(config: &TokenConfig) -> RefreshTokens {
        let derive = |secret: &str| {
            let root = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
            hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&root, KEY_LABEL).as_ref())
        };
        RefreshTokens {
            current: derive(config.current.secret.expose()),
            previous: config
                .previous
                .as_ref()
                .map(|key| derive(key.secret.expose())),
            ttl_ms: config.refresh_ttl_seconds.saturating_mul(1000),
            grace_ms: config.refresh_grace_seconds.saturating_mul(1000),
        }
    }

    /// When a family started at `started_ms` ends (epoch ms).
    pub fn expires_at_ms(&self, family: &Family) -> u64 {
        family.started_ms.saturating_add(self.ttl_ms)
    }

    pub fn grace_ms(&self) -> u64 {
        self.grace_ms
    }

    /// The first refresh token of a new family.
    pub fn first(&self, account: &str, family: &Family) -> String {
        token(
            account,
            &family.id,
            &first_secret(&self.current, account, family),
        )
    }

    /// A presented token if it is well formed and its family has not outlived its lifetime at
    /// `now_ms`; `None` for anything else, which the caller answers like an unknown token.
    pub fn parse(&self, token: &str, now_ms: u64) -> Option<Presented> {
        let mut parts = token.split('.');
        let (account, family, secret) = (parts.next()?, parts.next()?, parts.next()?);
        let well_formed = parts.next().is_none()
            && account.len() == 64
            && is_lower_hex(account)
            && secret.len() == SECRET_CHARS
            && URL_SAFE_NO_PAD
                .decode(secret)
                .is_ok_and(|raw| raw.len() == 32);
        let family = Family::parse(family).filter(|_| well_formed)?;
        (now_ms < self.expires_at_ms(&family)).then(|| Presented {
            account: account.to_owned(),
            family,
            secret: secret.to_owned(),
        })
    }

    /// Whether `presented` is its family's first token (under the current or previous key).
    pub fn is_first(&self, presented: &Presented) -> bool {
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .any(|key| {
                let first = first_secret(key, &presented.account, &presented.family);
                verify_slices_are_equal(first.as_bytes(), presented.secret.as_bytes()).is_ok()
            })
    }

    /// The token that replaces `presented`: always the same for the same presented token.
    pub fn successor(&self, presented: &Presented) -> String {
        let replaced = token(&presented.account, &presented.family.id, &presented.secret);
        token(
            &presented.account,
            &presented.family.id,
            &mac(&self.current, replaced.as_bytes()),
        )
    }
}

/// The SHA-256 of a refresh token's secret, in hex: all Redis ever holds of it.
pub fn secret_hash(token: &str) -> String {
    let secret = token.rsplit('.').next().unwrap_or_default();
    hex(digest(&SHA256, secret.as_bytes()).as_ref())
}

fn first_secret(key: &hmac::Key, account: &str, family: &Family) -> String {
    mac(key, format!("{account}.{}", family.id).as_bytes())
}

fn token(account: &str, family: &str, secret: &str) -> String {
    format!("{account}.{family}.{secret}")
}

fn mac(key: &hmac::Key, input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(hmac::sign(key, input).as_ref())
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Pairs;

    const ACCOUNT: &str = "a3c1e0f1d2b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f708192a3b4c5d6e7f8";

    fn refresh(pairs: &[(&str, &str)]) -> RefreshTokens {
        let mut all = vec![("JWT_SECRET", "a-test-secret-of-at-least-32-bytes-long")];
        all.extend_from_slice(pairs);
        RefreshTokens::new(&TokenConfig::from_env(&Pairs::new(&all)).unwrap())
    }

    #[test]
    fn a_family_names_its_start_and_256_random_bits() {
        let family = Family::start(1_795_314_000_123).unwrap();
        assert_eq!(family.id.len(), 76);
        assert_eq!(Family::parse(&family.id), Some(family.clone()));
        assert_ne!(Family::start(1).unwrap().id[12..], family.id[12..]);
        assert_eq!(Family::parse("xyz"), None);
        assert_eq!(Family::parse(&family.id.to_uppercase()), None);
    }

    #[test]
    fn first_tokens_parse_and_successors_are_stable_and_distinct() {
        let tokens = refresh(&[]);
        let family = Family::start(1_000).unwrap();
        let first = tokens.first(ACCOUNT, &family);
        let presented = tokens
            .parse(&first, 2_000)
            .expect("a fresh first token parses");
        assert_eq!(presented.account, ACCOUNT);
        assert_eq!(presented.family, family);
        assert!(tokens.is_first(&presented));
        let next = tokens.successor(&presented);
        assert_eq!(
            next,
            tokens.successor(&presented),
            "a retry gets the same successor"
        );
        assert_ne!(next, first);
        let next = tokens.parse(&next, 2_000).unwrap();
        assert!(!tokens.is_first(&next));
        assert_ne!(secret_hash(&first), secret_hash(&tokens.successor(&next)));
        assert!(!format!("{next:?}").contains(&next.secret));
    }

    #[test]
    fn expired_forged_and_malformed_tokens_do_not_parse() {
        let tokens = refresh(&[("REFRESH_TTL_SECONDS", "60")]);
        let family = Family::start(1_000).unwrap();
        let first = tokens.first(ACCOUNT, &family);
        assert!(tokens.parse(&first, 60_999).is_some());
        assert!(
            tokens.parse(&first, 61_000).is_none(),
            "the family has ended"
        );
        for bad in [
            "",
            "a.b.c",
            &format!("{first}.x"),
            &first.replacen(ACCOUNT, "A3C1", 1),
            &first[..first.len() - 1],
        ] {
            assert!(tokens.parse(bad, 2_000).is_none(), "{bad}");
        }
        let forged = format!("{ACCOUNT}.{}.{}", family.id, "A".repeat(43));
        let forged = tokens.parse(&forged, 2_000).expect("well formed");
        assert!(!tokens.is_first(&forged));
        let other_account = first.replacen(ACCOUNT, &"b".repeat(64), 1);
        let swapped = tokens.parse(&other_account, 2_000).expect("well formed");
        assert!(
            !tokens.is_first(&swapped),
            "the account is bound into the secret"
        );
    }

    #[test]
    fn first_tokens_survive_a_key_rotation() {
        let old_key = "the-old-secret-of-at-least-32-bytes-long";
        let before = RefreshTokens::new(
            &TokenConfig::from_env(&Pairs::new(&[("JWT_SECRET", old_key)])).unwrap(),
        );
        let family = Family::start(1_000).unwrap();
        let first = before.first(ACCOUNT, &family);
        let during = refresh(&[
            ("JWT_KEY_ID", "k2"),
            ("JWT_PREVIOUS_SECRET", old_key),
            ("JWT_PREVIOUS_KEY_ID", "k1"),
        ]);
        assert!(during.is_first(&during.parse(&first, 2_000).unwrap()));
        assert!(!refresh(&[]).is_first(&refresh(&[]).parse(&first, 2_000).unwrap()));
    }
}

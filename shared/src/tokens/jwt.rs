//! Issuing and verifying, with keys and validation rules prepared once per cold start.

use jsonwebtoken::errors::{Error as JwtError, ErrorKind};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

use super::LEEWAY_SECONDS;
use super::claims::{Claims, Expected, IssuedToken, REQUIRED_CLAIMS, RawClaims, Subject};
use super::error::TokenError;
use super::header::hs256_key_id;
use super::refresh::RefreshTokens;
use super::signing::TokenConfig;
use crate::ids;

/// A key that verifies tokens naming `kid`.
#[derive(Debug)]
struct VerifyingKey {
    kid: String,
    key: DecodingKey,
}

/// Issues and verifies access tokens. Build it once per cold start: it holds the prepared
/// keys, header and validation rules, and verifying touches nothing outside memory.
#[derive(Debug)]
pub struct Tokens {
    header: Header,
    signing_key: EncodingKey,
    /// The current key first, then the previous one if configured.
    verifying_keys: Vec<VerifyingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_seconds: u64,
    refresh: RefreshTokens,
}

impl Tokens {
    pub fn new(config: TokenConfig) -> Tokens {
        // Name the backend instead of letting jsonwebtoken infer it from its features: should
        // feature unification ever also enable its `rust_crypto`, inference fails with a panic
        // on the first token. `Err` only means a provider is installed already, which is fine.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();

        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(config.current.kid.clone());

        let verifying_keys = std::iter::once(&config.current)
            .chain(config.previous.as_ref())
            .map(|key| VerifyingKey {
                kid: key.kid.clone(),
                key: DecodingKey::from_secret(key.secret.expose().as_bytes()),
            })
            .collect();

        // The library's checks, as a second line behind our own: HS256 only, and iss, aud,
        // sub and exp must be present and iss/aud equal ours (without `required_spec_claims`
        // it checks iss/aud only when the token carries them). Its clock checks are off:
        // they read the system clock, and we check time against the caller's `now`.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.validate_aud = true;
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = LEEWAY_SECONDS;

        let refresh = RefreshTokens::new(&config);
        Tokens {
            refresh,
            header,
            signing_key: EncodingKey::from_secret(config.current.secret.expose().as_bytes()),
            verifying_keys,
            validation,
            issuer: config.issuer,
            audience: config.audience,
            ttl_seconds: config.ttl_seconds,
        }
    }

    /// The refresh tokens that go with these access tokens.
    pub fn refresh(&self) -> &RefreshTokens {
        &self.refresh
    }

    /// A token for `subject`, valid from `now_epoch_s` for the configured TTL, signed with the
    /// current key and naming it in `kid`. Its `jti` is 128 random bits.
    pub fn issue(&self, subject: &Subject, now_epoch_s: u64) -> Result<IssuedToken, TokenError> {
        let expires_at = now_epoch_s
            .checked_add(self.ttl_seconds)
            .ok_or_else(|| TokenError::Signing("expiry out of range".to_owned()))?;
        let jti =
            ids::random_id().map_err(|_| TokenError::Signing("no random token id".to_owned()))?;
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.user_id.clone(),
            email: subject.email.clone(),
            iat: now_epoch_s,
            exp: expires_at,
            nbf: None,
            jti: jti.clone(),
            ver: subject.token_version,
            fam: subject.family.clone(),
        };
        let token = jsonwebtoken::encode(&self.header, &claims, &self.signing_key)
            .map_err(|error| TokenError::Signing(error.to_string()))?;
        Ok(IssuedToken {
            token,
            jti,
            expires_at,
            expires_in: self.ttl_seconds,
        })
    }

    /// The claims of `token` if, at `now_epoch_s`, it is an HS256 JWT naming one of our keys,
    /// correctly signed with it, carrying every claim we issue with our issuer and audience,
    /// and within its lifetime give or take [`LEEWAY_SECONDS`]. Whether it was logged out or
    /// its token version revoked is for the caller to check next, in Redis.
    pub fn verify(&self, token: &str, now_epoch_s: u64) -> Result<Claims, TokenError> {
        let kid = hs256_key_id(token)?;
        let key = self
            .verifying_keys
            .iter()
            .find(|key| key.kid == kid)
            .ok_or(TokenError::UnknownKey)?;
        // Checks the algorithm again, then the signature, and only then reads the payload.
        let raw = jsonwebtoken::decode::<RawClaims>(token, &key.key, &self.validation)?.claims;
        raw.check(
            &Expected {
                issuer: &self.issuer,
                audience: &self.audience,
            },
            now_epoch_s,
        )
    }
}

impl From<JwtError> for TokenError {
    /// jsonwebtoken's verdicts in our terms. Its time checks are switched off (we check time
    /// against the caller's clock), so its time errors only map for completeness.
    fn from(error: JwtError) -> TokenError {
        match error.kind() {
            ErrorKind::InvalidSignature => TokenError::InvalidSignature,
            ErrorKind::InvalidAlgorithm
            | ErrorKind::MissingAlgorithm
            | ErrorKind::UnsupportedAlgorithm
            | ErrorKind::InvalidAlgorithmName
            | ErrorKind::InvalidKeyFormat => TokenError::WrongAlgorithm,
            ErrorKind::MissingRequiredClaim(claim) => REQUIRED_CLAIMS
                .iter()
                .find(|name| **name == claim.as_str())
                .map_or(TokenError::Malformed, |name| TokenError::MissingClaim(name)),
            ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
            ErrorKind::InvalidAudience => TokenError::WrongAudience,
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            _ => TokenError::Malformed,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The library's half of the defence, on its own: if our header check were removed, these
    //! keep failing tokens the library would otherwise have to catch.

    use super::*;
    use crate::secret::Secret;
    use crate::tokens::signing::SigningKey;
    use jsonwebtoken::errors::ErrorKind;
    use serde_json::json;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn tokens() -> Tokens {
        Tokens::new(TokenConfig {
            current: SigningKey {
                kid: "k1".to_owned(),
                secret: Secret::new(SECRET),
            },
            previous: None,
            issuer: "edgestate".to_owned(),
            audience: "edgestate-api".to_owned(),
            ttl_seconds: 3600,
            refresh_ttl_seconds: 2_592_000,
            refresh_grace_seconds: 10,
        })
    }

    fn library_verdict(tokens: &Tokens, alg: Algorithm, claims: &serde_json::Value) -> ErrorKind {
        let mut header = Header::new(alg);
        header.kid = Some("k1".to_owned());
        let token = jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        jsonwebtoken::decode::<RawClaims>(&token, &tokens.verifying_keys[0].key, &tokens.validation)
            .err()
            .map(|error| error.into_kind())
            .unwrap_or(ErrorKind::InvalidToken)
    }

    #[test]
    fn the_prepared_validation_pins_hs256_and_requires_iss_and_aud() {
        let tokens = tokens();
        let full = json!({"iss": "edgestate", "aud": "edgestate-api", "sub": "u", "exp": 1});
        // Control: a complete HS256 token passes the library (time checks are ours).
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".to_owned());
        let token =
            jsonwebtoken::encode(&header, &full, &EncodingKey::from_secret(SECRET.as_bytes()))
                .unwrap();
        assert!(
            jsonwebtoken::decode::<RawClaims>(
                &token,
                &tokens.verifying_keys[0].key,
                &tokens.validation
            )
            .is_ok()
        );

        for alg in [Algorithm::HS384, Algorithm::HS512] {
            assert_eq!(
                library_verdict(&tokens, alg, &full),
                ErrorKind::InvalidAlgorithm
            );
        }
        for claim in ["iss", "aud", "sub", "exp"] {
            let mut claims = full.clone();
            claims.as_object_mut().unwrap().remove(claim);
            assert_eq!(
                library_verdict(&tokens, Algorithm::HS256, &claims),
                ErrorKind::MissingRequiredClaim(claim.to_owned())
            );
        }
        let mut claims = full.clone();
        claims["iss"] = json!("someone-else");
        assert_eq!(
            library_verdict(&tokens, Algorithm::HS256, &claims),
            ErrorKind::InvalidIssuer
        );
        let mut claims = full;
        claims["aud"] = json!("someone-else");
        assert_eq!(
            library_verdict(&tokens, Algorithm::HS256, &claims),
            ErrorKind::InvalidAudience
        );
    }
}

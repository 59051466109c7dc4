//! Issue/verify round trips and the attacks verification must refuse. Attack tokens are built
//! by hand (base64url + aws-lc-rs), so they are exactly what an attacker would send; each
//! family of them has a control built the same way that is accepted, so a refusal cannot come
//! from a broken test helper.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::claims::REQUIRED_CLAIMS;
use super::*;

const NOW: u64 = 1_700_000_000;
const SECRET: &str = "current-secret-0123456789abcdef-0123";
const OLD_SECRET: &str = "previous-secret-0123456789abcdef-0123";
const JTI: &str = "00112233445566778899aabbccddeeff";
const FAMILY: &str = "018b0000000aabbccdd";

fn tokens_from(pairs: &[(&'static str, &str)]) -> Tokens {
    let pairs: Vec<(&'static str, String)> = pairs
        .iter()
        .map(|(name, value)| (*name, (*value).to_owned()))
        .collect();
    let env = move |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.clone())
    };
    Tokens::new(TokenConfig::from_env(&env).unwrap())
}

/// Defaults: kid k1, iss edgestate, aud edgestate-api, TTL 900.
fn tokens() -> Tokens {
    tokens_from(&[("JWT_SECRET", SECRET)])
}

fn subject() -> Subject {
    Subject {
        user_id: "user-1".to_owned(),
        email: "ada@example.com".to_owned(),
        token_version: 3,
        family: FAMILY.to_owned(),
    }
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn header(alg: &str) -> Value {
    json!({"alg": alg, "typ": "JWT", "kid": "k1"})
}

fn claims() -> Value {
    json!({
        "iss": "edgestate",
        "aud": "edgestate-api",
        "sub": "user-1",
        "email": "ada@example.com",
        "iat": NOW,
        "exp": NOW + 3600,
        "jti": JTI,
        "ver": 3,
        "fam": FAMILY,
    })
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", b64(header.to_string()), b64(claims.to_string()))
}

fn hmac_token(header: &Value, claims: &Value, algorithm: hmac::Algorithm, secret: &str) -> String {
    let input = signing_input(header, claims);
    let tag = hmac::sign(
        &hmac::Key::new(algorithm, secret.as_bytes()),
        input.as_bytes(),
    );
    format!("{input}.{}", b64(tag))
}

/// HS256 with the current secret: what we issue, as far as header and signature go.
fn hs256(header: &Value, claims: &Value) -> String {
    hmac_token(header, claims, hmac::HMAC_SHA256, SECRET)
}

fn with(mut value: Value, name: &str, claim: Value) -> Value {
    value[name] = claim;
    value
}

fn without(mut value: Value, name: &str) -> Value {
    value.as_object_mut().unwrap().remove(name);
    value
}

/// The refusal, after checking that its message and debug form do not carry the token.
fn refused(tokens: &Tokens, token: &str, now: u64) -> TokenError {
    let error = match tokens.verify(token, now) {
        Ok(claims) => panic!("accepted: {claims:?}"),
        Err(error) => error,
    };
    let shown = format!("{error} {error:?}");
    let signature = token.rsplit('.').next().unwrap_or_default();
    assert!(
        token.len() < 8 || !shown.contains(token),
        "{shown} shows the token"
    );
    assert!(signature.len() < 8 || !shown.contains(signature), "{shown}");
    error
}

#[test]
fn issue_then_verify_round_trips() {
    let tokens = tokens();
    let issued = tokens.issue(&subject(), NOW).unwrap();
    assert_eq!(issued.expires_at, NOW + 900);
    assert_eq!(issued.expires_in, 900);
    assert_eq!(issued.jti.len(), 32);
    assert!(
        issued
            .jti
            .chars()
            .all(|c| matches!(c, '0'..='9' | 'a'..='f'))
    );

    let header = jsonwebtoken::decode_header(&issued.token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::HS256);
    assert_eq!(header.kid.as_deref(), Some("k1"));
    assert_eq!(header.typ.as_deref(), Some("JWT"));

    let claims = tokens.verify(&issued.token, NOW).unwrap();
    assert_eq!(
        claims,
        Claims {
            iss: "edgestate".to_owned(),
            aud: "edgestate-api".to_owned(),
            sub: "user-1".to_owned(),
            email: "ada@example.com".to_owned(),
            iat: NOW,
            exp: NOW + 900,
            nbf: None,
            jti: issued.jti.clone(),
            ver: 3,
            fam: FAMILY.to_owned(),
        }
    );

    // Exactly the claims of the contract's "Tokens" section on the wire.
    let payload = issued.token.split('.').nth(1).unwrap();
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let mut names: Vec<&str> = payload
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    let mut required = REQUIRED_CLAIMS.to_vec();
    required.sort_unstable();
    assert_eq!(names, required);

    // Every token gets its own id.
    assert_ne!(tokens.issue(&subject(), NOW).unwrap().jti, issued.jti);
}

#[test]
fn configured_issuer_audience_and_ttl_are_used() {
    let tokens = tokens_from(&[
        ("JWT_SECRET", SECRET),
        ("JWT_KEY_ID", "2026-01"),
        ("JWT_ISSUER", "iss-x"),
        ("JWT_AUDIENCE", "aud-x"),
        ("JWT_TTL_SECONDS", "60"),
    ]);
    let issued = tokens.issue(&subject(), NOW).unwrap();
    assert_eq!((issued.expires_at, issued.expires_in), (NOW + 60, 60));
    let claims = tokens.verify(&issued.token, NOW).unwrap();
    assert_eq!(
        (claims.iss.as_str(), claims.aud.as_str()),
        ("iss-x", "aud-x")
    );
    assert_eq!(
        jsonwebtoken::decode_header(&issued.token)
            .unwrap()
            .kid
            .as_deref(),
        Some("2026-01")
    );
    // A default deployment does not accept it: it does not hold key 2026-01.
    assert_eq!(
        refused(&self::tokens(), &issued.token, NOW),
        TokenError::UnknownKey
    );
}

#[test]
fn issued_token_debug_redacts_the_token() {
    let issued = tokens().issue(&subject(), NOW).unwrap();
    let debug = format!("{issued:?}");
    assert!(!debug.contains(&issued.token), "{debug}");
    assert!(debug.contains("<redacted>") && debug.contains(&issued.jti));
}

#[test]
fn tokens_debug_shows_no_secret() {
    let tokens = tokens_from(&[
        ("JWT_SECRET", SECRET),
        ("JWT_KEY_ID", "k2"),
        ("JWT_PREVIOUS_SECRET", OLD_SECRET),
        ("JWT_PREVIOUS_KEY_ID", "k1"),
    ]);
    let debug = format!("{tokens:?}");
    assert!(
        !debug.contains(SECRET) && !debug.contains(OLD_SECRET),
        "{debug}"
    );
    // Not even as the byte list a derived Debug of a Vec<u8> would print.
    let first_bytes = format!("{:?}", &SECRET.as_bytes()[..4]);
    assert!(
        !debug.contains(first_bytes.trim_matches(['[', ']'])),
        "{debug}"
    );
}

#[test]
fn hand_built_hs256_token_is_accepted() {
    // The control for every attack below: same helpers, nothing wrong.
    let verified = tokens()
        .verify(&hs256(&header("HS256"), &claims()), NOW)
        .unwrap();
    assert_eq!(
        (verified.sub.as_str(), verified.jti.as_str()),
        ("user-1", JTI)
    );
    // typ is optional and case-insensitive.
    let tokens = tokens();
    assert!(
        tokens
            .verify(&hs256(&without(header("HS256"), "typ"), &claims()), NOW)
            .is_ok()
    );
    assert!(
        tokens
            .verify(
                &hs256(&with(header("HS256"), "typ", json!("jwt")), &claims()),
                NOW
            )
            .is_ok()
    );
}

#[test]
fn alg_none_is_refused() {
    let tokens = tokens();
    for alg in ["none", "None", "NONE", "nOnE", ""] {
        let unsigned = format!("{}.", signing_input(&header(alg), &claims()));
        assert_eq!(
            refused(&tokens, &unsigned, NOW),
            TokenError::WrongAlgorithm,
            "{alg}"
        );
        // Not even with a valid HS256 signature attached.
        let signed = hs256(&header(alg), &claims());
        assert_eq!(
            refused(&tokens, &signed, NOW),
            TokenError::WrongAlgorithm,
            "{alg}"
        );
    }
    // A header without any alg is not a JWS at all.
    let unsigned = format!(
        "{}.",
        signing_input(&without(header("x"), "alg"), &claims())
    );
    assert_eq!(refused(&tokens, &unsigned, NOW), TokenError::Malformed);
}

#[test]
fn other_hmac_algorithms_are_refused_even_with_the_right_secret() {
    let tokens = tokens();
    for (alg, algorithm) in [("HS384", hmac::HMAC_SHA384), ("HS512", hmac::HMAC_SHA512)] {
        let token = hmac_token(&header(alg), &claims(), algorithm, SECRET);
        assert_eq!(
            refused(&tokens, &token, NOW),
            TokenError::WrongAlgorithm,
            "{alg}"
        );
    }
    // Lower case is another algorithm name, not HS256.
    let token = hs256(&header("hs256"), &claims());
    assert_eq!(refused(&tokens, &token, NOW), TokenError::WrongAlgorithm);
}

#[test]
fn public_key_algorithms_in_the_header_are_refused_with_an_hmac_signature() {
    // Key confusion: header says RS256/ES256, signature is HMAC over the right secret.
    let tokens = tokens();
    for alg in ["RS256", "RS512", "PS256", "ES256", "ES384", "EdDSA"] {
        let token = hs256(&header(alg), &claims());
        assert_eq!(
            refused(&tokens, &token, NOW),
            TokenError::WrongAlgorithm,
            "{alg}"
        );
    }
}

#[test]
fn tokens_signed_with_real_rsa_and_ec_keys_are_refused() {
    let tokens = tokens();
    let rng = SystemRandom::new();

    let rsa = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let input = signing_input(&header("RS256"), &claims());
    let mut signature = vec![0; rsa.public_modulus_len()];
    rsa.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut signature)
        .unwrap();
    let token = format!("{input}.{}", b64(&signature));
    assert_eq!(refused(&tokens, &token, NOW), TokenError::WrongAlgorithm);

    let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let input = signing_input(&header("ES256"), &claims());
    let signature = ec.sign(&rng, input.as_bytes()).unwrap();
    let token = format!("{input}.{}", b64(signature.as_ref()));
    assert_eq!(refused(&tokens, &token, NOW), TokenError::WrongAlgorithm);

    // The RSA signature under an HS256 header is just a wrong signature.
    let input = signing_input(&header("HS256"), &claims());
    let mut signature = vec![0; rsa.public_modulus_len()];
    rsa.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut signature)
        .unwrap();
    let token = format!("{input}.{}", b64(&signature));
    assert_eq!(refused(&tokens, &token, NOW), TokenError::InvalidSignature);
}

#[test]
fn a_tampered_payload_is_refused() {
    let tokens = tokens();
    let issued = tokens.issue(&subject(), NOW).unwrap();
    let parts: Vec<&str> = issued.token.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    for (name, value) in [
        ("sub", json!("user-2")),
        ("ver", json!(4)),
        ("exp", json!(NOW + 365 * 24 * 3600)),
    ] {
        payload[name] = value;
        let forged = format!("{}.{}.{}", parts[0], b64(payload.to_string()), parts[2]);
        assert_eq!(
            refused(&tokens, &forged, NOW),
            TokenError::InvalidSignature,
            "{name}"
        );
    }
    // A swapped header (same alg, other kid-less details) breaks the signature too.
    let other_header = b64(json!({"kid": "k1", "alg": "HS256"}).to_string());
    let forged = format!("{other_header}.{}.{}", parts[1], parts[2]);
    assert_eq!(refused(&tokens, &forged, NOW), TokenError::InvalidSignature);
}

#[test]
fn a_tampered_signature_is_refused() {
    let tokens = tokens();
    let token = tokens.issue(&subject(), NOW).unwrap().token;
    let (input, signature) = token.rsplit_once('.').unwrap();

    // First character changed (always a real bit change, never padding bits).
    let first = if signature.starts_with('A') { "B" } else { "A" };
    let flipped = format!("{input}.{first}{}", &signature[1..]);
    assert_eq!(
        refused(&tokens, &flipped, NOW),
        TokenError::InvalidSignature
    );

    // 40 of 43 characters: 30 whole bytes, so it is valid base64url, just too short.
    let truncated = format!("{input}.{}", &signature[..40]);
    assert_eq!(
        refused(&tokens, &truncated, NOW),
        TokenError::InvalidSignature
    );

    let empty = format!("{input}.");
    assert_eq!(refused(&tokens, &empty, NOW), TokenError::InvalidSignature);

    // Signed with another secret of the right length.
    let other = hmac_token(&header("HS256"), &claims(), hmac::HMAC_SHA256, OLD_SECRET);
    assert_eq!(refused(&tokens, &other, NOW), TokenError::InvalidSignature);
}

#[test]
fn expiry_allows_30_seconds_of_leeway_and_no_more() {
    let tokens = tokens();
    let token = tokens.issue(&subject(), NOW).unwrap().token;
    let exp = NOW + 900;
    assert!(tokens.verify(&token, exp).is_ok());
    assert!(tokens.verify(&token, exp + LEEWAY_SECONDS).is_ok());
    assert_eq!(
        refused(&tokens, &token, exp + LEEWAY_SECONDS + 1),
        TokenError::Expired
    );
    assert_eq!(refused(&tokens, &token, exp + 86_400), TokenError::Expired);
    assert_eq!(refused(&tokens, &token, u64::MAX), TokenError::Expired);
}

#[test]
fn tokens_from_the_future_are_not_yet_valid() {
    let tokens = tokens();
    // iat ahead of our clock: fine within the leeway, refused beyond.
    let token = tokens.issue(&subject(), NOW).unwrap().token;
    assert!(tokens.verify(&token, NOW - LEEWAY_SECONDS).is_ok());
    assert_eq!(
        refused(&tokens, &token, NOW - LEEWAY_SECONDS - 1),
        TokenError::NotYetValid
    );
    let future = hs256(&header("HS256"), &with(claims(), "iat", json!(NOW + 31)));
    assert_eq!(refused(&tokens, &future, NOW), TokenError::NotYetValid);

    // nbf, never issued by us, is honoured when present.
    for (nbf, accepted) in [(NOW - 100, true), (NOW + 30, true), (NOW + 31, false)] {
        let token = hs256(&header("HS256"), &with(claims(), "nbf", json!(nbf)));
        match tokens.verify(&token, NOW) {
            Ok(claims) => {
                assert!(accepted, "nbf {nbf}");
                assert_eq!(claims.nbf, Some(nbf));
            }
            Err(error) => {
                assert!(!accepted, "nbf {nbf}: {error}");
                assert_eq!(error, TokenError::NotYetValid);
            }
        }
    }
}

#[test]
fn every_required_claim_must_be_present() {
    let tokens = tokens();
    assert!(
        tokens
            .verify(&hs256(&header("HS256"), &claims()), NOW)
            .is_ok()
    );
    for name in REQUIRED_CLAIMS {
        let missing = hs256(&header("HS256"), &without(claims(), name));
        assert_eq!(
            refused(&tokens, &missing, NOW),
            TokenError::MissingClaim(name),
            "{name} missing"
        );
        let null = hs256(&header("HS256"), &with(claims(), name, Value::Null));
        assert_eq!(
            refused(&tokens, &null, NOW),
            TokenError::MissingClaim(name),
            "{name} null"
        );
    }
    // An empty jti would be one denylist key shared by every such token.
    for name in ["sub", "email", "jti"] {
        let empty = hs256(&header("HS256"), &with(claims(), name, json!("")));
        assert_eq!(
            refused(&tokens, &empty, NOW),
            TokenError::MissingClaim(name),
            "{name} empty"
        );
    }
}

#[test]
fn claims_of_the_wrong_type_are_malformed() {
    let tokens = tokens();
    for (name, value) in [
        ("ver", json!("3")),
        ("ver", json!(-1)),
        ("exp", json!("tomorrow")),
        ("exp", json!(1.5)),
        ("iat", json!(-1)),
        ("sub", json!(42)),
        ("email", json!(["ada@example.com"])),
        ("jti", json!({})),
        ("nbf", json!("now")),
    ] {
        let token = hs256(&header("HS256"), &with(claims(), name, value.clone()));
        assert_eq!(
            refused(&tokens, &token, NOW),
            TokenError::Malformed,
            "{name}: {value}"
        );
    }
}

#[test]
fn issuer_and_audience_must_be_ours() {
    let tokens = tokens();
    for (name, value, expected) in [
        ("iss", json!("someone-else"), TokenError::WrongIssuer),
        ("iss", json!("EDGESTATE"), TokenError::WrongIssuer),
        ("iss", json!(""), TokenError::WrongIssuer),
        ("iss", json!(["edgestate"]), TokenError::WrongIssuer),
        (
            "iss",
            json!(["edgestate", "other"]),
            TokenError::WrongIssuer,
        ),
        ("aud", json!("someone-else"), TokenError::WrongAudience),
        ("aud", json!(["someone-else"]), TokenError::WrongAudience),
        ("aud", json!(""), TokenError::WrongAudience),
        // Legal JWT, but we only ever issue a single string audience.
        ("aud", json!(["edgestate-api"]), TokenError::WrongAudience),
        (
            "aud",
            json!(["edgestate-api", "other"]),
            TokenError::WrongAudience,
        ),
    ] {
        let token = hs256(&header("HS256"), &with(claims(), name, value.clone()));
        assert_eq!(refused(&tokens, &token, NOW), expected, "{name}: {value}");
    }
}

#[test]
fn the_kid_must_name_a_key_we_hold() {
    let tokens = tokens();
    let unknown = hs256(&with(header("HS256"), "kid", json!("k9")), &claims());
    assert_eq!(refused(&tokens, &unknown, NOW), TokenError::UnknownKey);
    let empty = hs256(&with(header("HS256"), "kid", json!("")), &claims());
    assert_eq!(refused(&tokens, &empty, NOW), TokenError::UnknownKey);
    let missing = hs256(&without(header("HS256"), "kid"), &claims());
    assert_eq!(refused(&tokens, &missing, NOW), TokenError::UnknownKey);
    let null = hs256(&with(header("HS256"), "kid", Value::Null), &claims());
    assert_eq!(refused(&tokens, &null, NOW), TokenError::UnknownKey);
    let number = hs256(&with(header("HS256"), "kid", json!(1)), &claims());
    assert_eq!(refused(&tokens, &number, NOW), TokenError::Malformed);
}

#[test]
fn keys_embedded_in_the_header_are_ignored() {
    // An attacker's own key in `jwk`/`jku` must not be used: the signature below is made with
    // the attacker's secret, which the header offers as a JWK.
    let attacker = "attacker-secret-0123456789abcdef-0123";
    let header = json!({
        "alg": "HS256",
        "kid": "k1",
        "jwk": {"kty": "oct", "k": b64(attacker)},
        "jku": "https://attacker.example/jwks.json",
    });
    let token = hmac_token(&header, &claims(), hmac::HMAC_SHA256, attacker);
    assert_eq!(
        refused(&tokens(), &token, NOW),
        TokenError::InvalidSignature
    );
}

#[test]
fn critical_extensions_and_foreign_types_are_refused() {
    let tokens = tokens();
    let crit = with(header("HS256"), "crit", json!(["b64"]));
    let crit = with(crit, "b64", json!(false));
    assert_eq!(
        refused(&tokens, &hs256(&crit, &claims()), NOW),
        TokenError::Malformed
    );
    let typ = with(header("HS256"), "typ", json!("at+jwt"));
    assert_eq!(
        refused(&tokens, &hs256(&typ, &claims()), NOW),
        TokenError::Malformed
    );
}

#[test]
fn rotation_accepts_the_previous_key_until_it_is_removed() {
    let before = tokens_from(&[("JWT_SECRET", OLD_SECRET), ("JWT_KEY_ID", "k1")]);
    let old_token = before.issue(&subject(), NOW).unwrap().token;

    let during = tokens_from(&[
        ("JWT_SECRET", SECRET),
        ("JWT_KEY_ID", "k2"),
        ("JWT_PREVIOUS_SECRET", OLD_SECRET),
        ("JWT_PREVIOUS_KEY_ID", "k1"),
    ]);
    assert_eq!(during.verify(&old_token, NOW).unwrap().sub, "user-1");
    let new_token = during.issue(&subject(), NOW).unwrap().token;
    assert_eq!(
        jsonwebtoken::decode_header(&new_token)
            .unwrap()
            .kid
            .as_deref(),
        Some("k2"),
        "new tokens are signed with the current key"
    );
    assert!(during.verify(&new_token, NOW).is_ok());
    // Instances not yet rotated do not know k2.
    assert_eq!(refused(&before, &new_token, NOW), TokenError::UnknownKey);

    // A kid cannot borrow the other key's secret.
    let k2_signed_with_old = hmac_token(
        &with(header("HS256"), "kid", json!("k2")),
        &claims(),
        hmac::HMAC_SHA256,
        OLD_SECRET,
    );
    assert_eq!(
        refused(&during, &k2_signed_with_old, NOW),
        TokenError::InvalidSignature
    );
    let k1_signed_with_new = hs256(&header("HS256"), &claims());
    assert_eq!(
        refused(&during, &k1_signed_with_new, NOW),
        TokenError::InvalidSignature
    );

    let after = tokens_from(&[("JWT_SECRET", SECRET), ("JWT_KEY_ID", "k2")]);
    assert_eq!(refused(&after, &old_token, NOW), TokenError::UnknownKey);
    assert!(after.verify(&new_token, NOW).is_ok());
}

#[test]
fn garbage_is_malformed_and_never_panics() {
    let tokens = tokens();
    let good = tokens.issue(&subject(), NOW).unwrap().token;
    let (input, _) = good.rsplit_once('.').unwrap();
    let header_part = good.split('.').next().unwrap();
    let oversized = hs256(
        &header("HS256"),
        &with(claims(), "email", json!("a".repeat(MAX_TOKEN_BYTES))),
    );
    let cases = [
        String::new(),
        " ".to_owned(),
        ".".to_owned(),
        "..".to_owned(),
        "...".to_owned(),
        "a".to_owned(),
        "a.b".to_owned(),
        "a.b.c".to_owned(),
        "a.b.c.d".to_owned(),
        "!!!.@@@.###".to_owned(),
        "€€€.€€€.€€€".to_owned(),
        header_part.to_owned(),
        input.to_owned(),
        format!("{good}.extra"),
        format!("{good}."),
        format!(" {good}"),
        format!("{input}.!!!not-base64!!!"),
        format!("{}.e30.", b64("not json")),
        format!("{}.e30.", b64("[]")),
        format!("{}.e30.", b64("{}")),
        format!("{}.e30.", b64("{\"alg\": 256}")),
        format!("{}=.e30.", b64(header("HS256").to_string())),
        oversized,
    ];
    for token in &cases {
        assert_eq!(
            refused(&tokens, token, NOW),
            TokenError::Malformed,
            "{:?}",
            token.chars().take(80).collect::<String>()
        );
    }
    // Correctly signed, but the payload is not JSON: still malformed, after the signature.
    let input = format!("{}.{}", b64(header("HS256").to_string()), b64("not json"));
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes()),
        input.as_bytes(),
    );
    let token = format!("{input}.{}", b64(tag));
    assert_eq!(refused(&tokens, &token, NOW), TokenError::Malformed);
}

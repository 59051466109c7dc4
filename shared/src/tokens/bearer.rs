//! `Authorization: Bearer <token>` (RFC 6750 §2.1).

use http::HeaderMap;
use http::header::AUTHORIZATION;

/// The bearer token of a request, if it carries exactly one `Authorization` header with the
/// `Bearer` scheme (any case) and a non-empty credential. Surrounding whitespace is trimmed.
///
/// Several `Authorization` headers give `None`: which one a proxy or framework picks varies,
/// so an ambiguous request is treated as unauthenticated rather than guessed at.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let (scheme, credential) = value.to_str().ok()?.trim().split_once([' ', '\t'])?;
    let credential = credential.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credential.is_empty()).then_some(credential)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&'static [u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    #[test]
    fn extracts_the_credential_of_the_bearer_scheme_in_any_case() {
        for (value, expected) in [
            (&b"Bearer abc.def.ghi"[..], "abc.def.ghi"),
            (b"bearer abc", "abc"),
            (b"BEARER abc", "abc"),
            (b"  Bearer    abc  ", "abc"),
            (b"Bearer\tabc", "abc"),
        ] {
            assert_eq!(bearer_token(&headers(&[value])), Some(expected));
        }
    }

    #[test]
    fn anything_else_is_no_token() {
        assert_eq!(bearer_token(&HeaderMap::new()), None);
        for value in [
            &b""[..],
            b"Bearer",
            b"Bearer ",
            b"Bearer    ",
            b"Bearerabc",
            b"Basic dXNlcjpwYXNz",
            b"Token abc",
            b"abc",
            b"Bearer \xff\xfe",
        ] {
            assert_eq!(
                bearer_token(&headers(&[value])),
                None,
                "{}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn two_authorization_headers_are_ambiguous() {
        assert_eq!(bearer_token(&headers(&[b"Bearer a", b"Bearer b"])), None);
    }
}

//! What a signature session accepts from a client, checked before any Redis call.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::http::request::{invalid_field, payload_too_large, string_field};
use crate::http::{ApiError, ErrorCode};

pub const ONBOARDING_TOKEN_MAX_CHARS: usize = 512;

/// A session id as the API spells it: 32 lowercase hex characters (128 random bits).
pub fn session_id(raw: Option<&str>) -> Result<&str, ApiError> {
    raw.filter(|id| id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidSessionId,
                "Session id must be 32 lowercase hexadecimal characters",
            )
        })
}

/// `onboardingToken`: a string of 1 to 512 characters.
pub fn onboarding_token(body: &Map<String, Value>) -> Result<&str, ApiError> {
    const FIELD: &str = "onboardingToken";
    let token = string_field(body, FIELD)?;
    let chars = token.chars().count();
    if chars == 0 || chars > ONBOARDING_TOKEN_MAX_CHARS {
        return Err(invalid_field(
            FIELD,
            format!("{FIELD} must be 1 to {ONBOARDING_TOKEN_MAX_CHARS} characters"),
        ));
    }
    Ok(token)
}

/// The image formats a signature pad produces, by data URL prefix and file signature.
const IMAGE_FORMATS: [(&str, &[u8]); 2] = [
    ("data:image/png;base64,", b"\x89PNG\r\n\x1a\n"),
    ("data:image/jpeg;base64,", b"\xff\xd8\xff"),
];

/// `signatureData`: a PNG or JPEG data URL with valid base64, whose bytes really are that
/// image format, at most `max_bytes` long (413 beyond, so clients can tell "too big" from
/// "malformed").
pub fn signature_data(body: &Map<String, Value>, max_bytes: usize) -> Result<&str, ApiError> {
    const FIELD: &str = "signatureData";
    let data_url = string_field(body, FIELD)?;
    if data_url.len() > max_bytes {
        return Err(payload_too_large(format!(
            "{FIELD} must be at most {max_bytes} bytes"
        )));
    }
    let invalid = |reason: &str| invalid_field(FIELD, format!("{FIELD} {reason}"));
    let (payload, signature) = IMAGE_FORMATS
        .iter()
        .find_map(|(prefix, signature)| {
            data_url
                .strip_prefix(prefix)
                .map(|payload| (payload, *signature))
        })
        .ok_or_else(|| invalid("must be a data:image/png;base64 or data:image/jpeg;base64 URL"))?;
    let image = STANDARD
        .decode(payload)
        .map_err(|_| invalid("must contain valid base64"))?;
    if !image.starts_with(signature) {
        return Err(invalid("does not contain the image its data URL declares"));
    }
    Ok(data_url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A PNG file signature plus a few bytes, as a data URL.
    fn png_data_url() -> String {
        let bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        format!("data:image/png;base64,{}", STANDARD.encode(bytes))
    }

    fn body(field: &str, value: Value) -> Map<String, Value> {
        json!({ field: value }).as_object().unwrap().clone()
    }

    fn status_and_code(error: ApiError) -> (u16, &'static str) {
        (error.status().as_u16(), error.code.as_str())
    }

    #[test]
    fn session_ids_are_exactly_32_lowercase_hex() {
        let valid = "0123456789abcdef0123456789abcdef";
        assert_eq!(session_id(Some(valid)).unwrap(), valid);
        for invalid in [
            "",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "0123456789abcdef0123456789abcdeg",
            "../../etc/passwd0123456789abcdef",
        ] {
            let error = session_id(Some(invalid)).unwrap_err();
            assert_eq!(
                status_and_code(error),
                (400, "invalid_session_id"),
                "{invalid}"
            );
        }
        assert!(session_id(None).is_err());
    }

    #[test]
    fn onboarding_token_is_1_to_512_characters_not_bytes() {
        let multibyte = "é".repeat(512);
        let accepted = body("onboardingToken", json!(multibyte));
        assert_eq!(onboarding_token(&accepted).unwrap().chars().count(), 512);
        for value in [json!(""), json!("x".repeat(513)), json!(7), json!(null)] {
            let error = onboarding_token(&body("onboardingToken", value.clone())).unwrap_err();
            assert_eq!(
                status_and_code(error.clone()),
                (400, "invalid_field"),
                "{value}"
            );
            assert_eq!(error.extra["field"], json!("onboardingToken"));
        }
        assert!(onboarding_token(&Map::new()).is_err());
    }

    #[test]
    fn signature_accepts_png_and_jpeg_data_urls() {
        let png = png_data_url();
        assert_eq!(
            signature_data(&body("signatureData", json!(png)), 1024).unwrap(),
            png
        );
        let jpeg = format!(
            "data:image/jpeg;base64,{}",
            STANDARD.encode(b"\xff\xd8\xff\xe0rest")
        );
        assert!(signature_data(&body("signatureData", json!(jpeg)), 1024).is_ok());
    }

    #[test]
    fn signature_rejects_other_formats_bad_base64_and_mismatched_bytes() {
        let jpeg_bytes_as_png = format!(
            "data:image/png;base64,{}",
            STANDARD.encode(b"\xff\xd8\xff\xe0")
        );
        for value in [
            "data:image/gif;base64,R0lGODlh".to_owned(),
            "data:image/png,notbase64".to_owned(),
            "data:image/png;base64,%%%%".to_owned(),
            "data:image/png;base64,iVBORw0KGgo".to_owned(), // missing padding
            "data:image/svg+xml;base64,PHN2Zz4=".to_owned(),
            jpeg_bytes_as_png,
            "hello".to_owned(),
        ] {
            let error = signature_data(&body("signatureData", json!(value)), 1024).unwrap_err();
            assert_eq!(status_and_code(error), (400, "invalid_field"), "{value}");
        }
    }

    #[test]
    fn signature_over_the_limit_is_413() {
        let png = png_data_url();
        let error = signature_data(&body("signatureData", json!(png)), png.len() - 1).unwrap_err();
        assert_eq!(status_and_code(error), (413, "payload_too_large"));
        assert!(signature_data(&body("signatureData", json!(png)), png.len()).is_ok());
    }
}

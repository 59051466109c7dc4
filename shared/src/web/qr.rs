//! `GET /qr/{sessionId}?origin=<the page's origin>`: the QR code of a session's phone link, as
//! SVG, drawn here without any network call.
//!
//! The desktop page passes its own origin (`location.origin`): only the browser knows the
//! scheme, host and port it reached the stack by (a custom domain, a LAN address under
//! `make dev`), and the phone must open the same origin.

use lambda_http::{Body, Response};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use url::Url;

use crate::http::ApiError;
use crate::http::request::invalid_field;
use crate::sessions::validation;

/// Longer than any origin: a 253-character host name, the scheme and a port.
const ORIGIN_MAX_CHARS: usize = 300;

pub fn answer(id: &str, origin: Option<&str>) -> Result<Response<Body>, ApiError> {
    let id = validation::session_id(Some(id))?;
    let link = phone_link(origin, id)?;
    Ok(super::file("image/svg+xml", svg(&link)?))
}

/// `{origin}/sign#{id}`: the phone page of the session. The id goes in the fragment, which
/// browsers never send to a server, so it stays out of access logs and referrers.
fn phone_link(origin: Option<&str>, id: &str) -> Result<String, ApiError> {
    let invalid = || {
        invalid_field(
            "origin",
            "origin must be the page's origin, such as https://example.com".to_owned(),
        )
    };
    let origin = origin
        .filter(|origin| origin.len() <= ORIGIN_MAX_CHARS)
        .ok_or_else(invalid)?;
    let url = Url::parse(origin).map_err(|_| invalid())?;
    let only_an_origin = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    if !only_an_origin {
        return Err(invalid());
    }
    Ok(format!("{}/sign#{id}", url.origin().ascii_serialization()))
}

/// Medium error correction: readable off a screen at an angle, still a small code.
fn svg(link: &str) -> Result<String, ApiError> {
    let code = QrCode::with_error_correction_level(link, EcLevel::M)
        .map_err(|_| invalid_field("origin", "origin is too long for a QR code".to_owned()))?;
    Ok(code
        .render::<svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f2b8c1d4e5a69788796a5b4c3d2e1f0";

    /// What a phone's camera would read: the code's modules, four pixels each, decoded.
    fn decoded(link: &str) -> String {
        let code = QrCode::with_error_correction_level(link, EcLevel::M).unwrap();
        let (width, colors) = (code.width(), code.to_colors());
        let (scale, margin) = (4, 4);
        let side = (width + 2 * margin) * scale;
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
            let (column, row) = (x / scale, y / scale);
            let inside = (margin..width + margin).contains(&column)
                && (margin..width + margin).contains(&row);
            let dark =
                inside && colors[(row - margin) * width + column - margin] == qrcode::Color::Dark;
            if dark { 0 } else { 255 }
        });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    #[test]
    fn the_code_reads_as_the_phone_link_on_the_page_origin() {
        for (origin, link) in [
            ("https://sign.example.com", "https://sign.example.com/sign#"),
            ("http://192.168.1.20:9000", "http://192.168.1.20:9000/sign#"),
            ("https://example.com:443/", "https://example.com/sign#"),
        ] {
            let built = phone_link(Some(origin), ID).unwrap();
            assert_eq!(built, format!("{link}{ID}"));
            assert_eq!(decoded(&built), built);
        }
    }

    #[test]
    fn anything_but_a_plain_http_origin_is_a_400_naming_origin() {
        let long = format!("https://{}.com", "a".repeat(ORIGIN_MAX_CHARS));
        for origin in [
            None,
            Some(""),
            Some("example.com"),
            Some("javascript:alert(1)"),
            Some("ftp://example.com"),
            Some("https://user:pw@example.com"),
            Some("https://example.com/path"),
            Some("https://example.com/?q=1"),
            Some("https://example.com/#x"),
            Some(long.as_str()),
        ] {
            let error = phone_link(origin, ID).unwrap_err();
            assert_eq!(error.status().as_u16(), 400, "{origin:?}");
            assert_eq!(error.extra["field"], "origin", "{origin:?}");
        }
    }

    #[test]
    fn answers_an_svg_and_refuses_a_bad_id() {
        let response = answer(ID, Some("https://example.com")).unwrap();
        assert_eq!(response.headers()["content-type"], "image/svg+xml");
        let body = std::str::from_utf8(response.body().as_ref()).unwrap();
        assert!(body.contains("<svg") && body.ends_with("</svg>"));
        let error = answer("NOT-AN-ID", Some("https://example.com")).unwrap_err();
        assert_eq!(error.code.as_str(), "invalid_session_id");
    }
}

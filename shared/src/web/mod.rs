//! The signature flow in a browser, served by the stack itself (function `web`) from one
//! origin with the API: the desktop page (`GET /`) starts a session, shows the phone link as a
//! QR code and polls until the signature arrives; the phone page (`GET /sign#<sessionId>`, the
//! QR's link) is a signature pad that submits it. Pages, scripts and styles are compiled into
//! the binary (`assets/`); the QR code is drawn here ([`qr`]). No Redis, no network: the pages
//! call the session routes themselves.
//!
//! Every answer, errors included, carries `X-Content-Type-Options: nosniff` and a referrer
//! policy; pages also a Content-Security-Policy that allows scripts, styles and API calls from
//! this origin only (no inline script or style) and data: images (the signature itself).

mod qr;

use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue};
use lambda_http::{Body, Request, RequestExt, Response};

use crate::http::{ApiError, ErrorCode};
use crate::route::{Meter, Outcome, Route};

/// The pages' policy: everything from this origin, nothing inline, no framing.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// Anything else (scripts, styles, the QR's SVG opened on its own) runs nothing.
const NOTHING_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// One file of `assets/`, as served.
struct Asset {
    content_type: &'static str,
    body: &'static str,
}

const DESKTOP: Asset = Asset {
    content_type: "text/html; charset=utf-8",
    body: include_str!("assets/desktop.html"),
};

const PHONE: Asset = Asset {
    content_type: "text/html; charset=utf-8",
    body: include_str!("assets/phone.html"),
};

/// `/assets/{name}`: what the pages load.
fn asset(name: &str) -> Option<Asset> {
    let (content_type, body) = match name {
        "style.css" => ("text/css; charset=utf-8", include_str!("assets/style.css")),
        "api.js" => (
            "text/javascript; charset=utf-8",
            include_str!("assets/api.js"),
        ),
        "desktop.js" => (
            "text/javascript; charset=utf-8",
            include_str!("assets/desktop.js"),
        ),
        "phone.js" => (
            "text/javascript; charset=utf-8",
            include_str!("assets/phone.js"),
        ),
        _ => return None,
    };
    Some(Asset { content_type, body })
}

/// The `web` function's one route: pages, their assets and QR codes.
pub struct Web;

impl Route for Web {
    async fn handle(&self, request: &Request, _: &mut Meter) -> Outcome {
        let mut response = serve(request).unwrap_or_else(ApiError::into_response);
        secure(response.headers_mut());
        Ok(response)
    }
}

fn serve(request: &Request) -> Result<Response<Body>, ApiError> {
    let path = request.raw_http_path();
    if let Some(id) = path.strip_prefix("/qr/") {
        let origin = request
            .query_string_parameters_ref()
            .and_then(|query| query.first("origin"));
        return qr::answer(id, origin);
    }
    let asset = match path {
        "/" => Some(DESKTOP),
        "/sign" => Some(PHONE),
        _ => path.strip_prefix("/assets/").and_then(asset),
    };
    asset
        .map(|asset| file(asset.content_type, asset.body.to_owned()))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                "There is no page or file at this address",
            )
        })
}

/// 200 with a file. Browsers revalidate pages every time and keep the rest (scripts, styles,
/// QR codes, which never change for one address) five minutes, so a deploy reaches everyone
/// within minutes.
fn file(content_type: &'static str, body: String) -> Response<Body> {
    let cache = if content_type.starts_with("text/html") {
        "no-cache"
    } else {
        "public, max-age=300"
    };
    let mut response = Response::new(Body::Text(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The headers every answer of this function carries; pages get the page policy.
fn secure(headers: &mut HeaderMap) {
    let is_page = headers
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/html"));
    let policy = if is_page { PAGE_POLICY } else { NOTHING_POLICY };
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
}

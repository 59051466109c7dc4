//! The `web` binary run as Lambda runs it: it starts with no Redis setting and no secret, and
//! serves the pages, their QR codes and a JSON 404, each with the security headers.

use std::path::Path;

use serde_json::Value;
use testkit::events::event;
use testkit::{LambdaProcess, Outcome};

async fn get(function: &mut LambdaProcess, name: &str) -> Value {
    match function.invoke(&event(name).to_string()).await {
        Outcome::Response(response) => response,
        other => panic!("{name}: expected a response, got {other:?}"),
    }
}

#[tokio::test]
async fn serves_pages_qr_codes_and_a_404_with_security_headers_and_no_settings() {
    let binary = Path::new(env!("CARGO_BIN_EXE_web"));
    let mut function = LambdaProcess::spawn(binary, &[]).await;

    let page = get(&mut function, "web-desktop").await;
    assert_eq!(page["statusCode"], 200);
    let headers = &page["headers"];
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let policy = headers["content-security-policy"].as_str().unwrap();
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let html = page["body"].as_str().unwrap();
    assert!(html.contains(r#"<script type="module" src="/assets/desktop.js"></script>"#));
    assert!(!html.contains("<script>"), "no inline script");

    let qr = get(&mut function, "web-qr").await;
    assert_eq!(qr["statusCode"], 200);
    assert_eq!(qr["headers"]["content-type"], "image/svg+xml");
    assert_eq!(qr["headers"]["x-content-type-options"], "nosniff");
    assert!(qr["body"].as_str().unwrap().contains("<svg"));

    let missing = get(&mut function, "web-asset-missing").await;
    assert_eq!(missing["statusCode"], 404);
    assert_eq!(missing["headers"]["x-content-type-options"], "nosniff");
    let body: Value = serde_json::from_str(missing["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["code"], "not_found");
}

//! `GET /`, `/sign`, `/assets/{asset}` and `/qr/{sessionId}` Lambda: the signature flow's
//! pages, compiled in. It needs no Redis and no secret, so its cold start reads nothing.

use edgestate::startup::serve;
use edgestate::web::Web;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edgestate::telemetry::init();
    serve(Web).await
}

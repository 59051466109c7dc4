//! What upstash-local costs per command: the same GET sent as RESP straight to redis-server
//! and as REST through upstash-local with the edgestate client, sequentially, on loopback.
//!
//! `make bench` (or `cargo bench -p edgestate-tests --bench upstash_overhead`) prints the
//! quantiles per path and their difference. Figures, not assertions: machines are noisy.

use edgestate::redis::Command;
use testkit::Stack;
use testkit::bench::{measure, micros, print_header, print_row};

const WARM_UP: usize = 500;
const SAMPLES: usize = 5_000;

#[tokio::main]
async fn main() {
    let stack = Stack::start().await;
    let client = stack.client();
    let resp = stack.redis().connect().await;
    let value = "x".repeat(100);
    redis::cmd("SET")
        .arg("bench:key")
        .arg(&value)
        .exec_async(&mut resp.clone())
        .await
        .unwrap();

    let direct = measure(WARM_UP, SAMPLES, |_| {
        let mut resp = resp.clone();
        async move {
            let got: String = redis::cmd("GET")
                .arg("bench:key")
                .query_async(&mut resp)
                .await
                .unwrap();
            assert_eq!(got.len(), 100);
        }
    })
    .await;
    let get = Command::new("GET").arg("bench:key");
    let rest = measure(WARM_UP, SAMPLES, |_| async {
        let reply = client.command(&get).await.unwrap();
        assert_eq!(reply.into_bytes().unwrap().len(), 100);
    })
    .await;

    print_header(&format!(
        "GET of a 100-byte value, {SAMPLES} sequential samples after {WARM_UP} warm-up"
    ));
    print_row("RESP direct to redis-server", &direct);
    print_row("REST via upstash-local (client)", &rest);
    println!(
        "{:<52}{}{}{}{}",
        "overhead of upstash-local + REST",
        micros(rest.p50.saturating_sub(direct.p50)),
        micros(rest.p90.saturating_sub(direct.p90)),
        micros(rest.p99.saturating_sub(direct.p99)),
        micros(rest.mean.saturating_sub(direct.mean))
    );
}

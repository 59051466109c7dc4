//! What the benchmarks (`tests/benches`) share: timing samples and printing quantiles.

use std::future::Future;
use std::time::{Duration, Instant};

use edgestate::ratelimit::Policy;
use edgestate::settings::Settings;

use crate::default_settings;

pub struct Summary {
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub mean: Duration,
}

pub fn summarise(mut samples: Vec<Duration>) -> Summary {
    samples.sort_unstable();
    let at = |quantile: f64| samples[((samples.len() - 1) as f64 * quantile).round() as usize];
    let total: Duration = samples.iter().sum();
    Summary {
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        mean: total / samples.len() as u32,
    }
}

/// Times `samples` sequential runs of `run(i)` after `warm_up` untimed ones.
pub async fn measure<F, Fut>(warm_up: usize, samples: usize, mut run: F) -> Summary
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    for i in 0..warm_up {
        run(i).await;
    }
    let mut timings = Vec::with_capacity(samples);
    for i in warm_up..warm_up + samples {
        let started = Instant::now();
        run(i).await;
        timings.push(started.elapsed());
    }
    summarise(timings)
}

pub fn micros(duration: Duration) -> String {
    format!("{:>10.1} µs", duration.as_secs_f64() * 1e6)
}

pub fn print_header(title: &str) {
    println!("{title}");
    println!(
        "{:<52}{:>13}{:>13}{:>13}{:>13}",
        "", "p50", "p90", "p99", "mean"
    );
}

pub fn print_row(name: &str, summary: &Summary) {
    println!(
        "{name:<52}{}{}{}{}",
        micros(summary.p50),
        micros(summary.p90),
        micros(summary.p99),
        micros(summary.mean)
    );
}

/// Default settings with every limiter out of the way: benchmarks measure the route, not
/// the limiter (whose cost is inside every route's one round trip anyway).
pub fn unlimited_settings() -> Settings {
    let unlimited = Policy::new(1_000_000, 60);
    let mut settings = default_settings();
    settings.rate_limits.api = unlimited;
    settings.rate_limits.login_ip = unlimited;
    settings.rate_limits.login_account = unlimited;
    settings.rate_limits.register_ip = unlimited;
    settings
}

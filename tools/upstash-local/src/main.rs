//! `upstash-local` binary: flags (each with an environment fallback) to [`Config`], then serve
//! until Ctrl-C or SIGTERM. All the behaviour lives in the library.

use std::{net::SocketAddr, process::ExitCode, time::Duration};

use clap::Parser;
use tracing_subscriber::EnvFilter;
use upstash_local::{Config, Server};

/// The token used when none is given. It is only fit for a developer's own machine, which is
/// why the server warns when it listens anywhere but loopback with it.
const DEV_TOKEN: &str = "local-dev-token";

/// An Upstash-compatible Redis REST server in front of a real Redis.
#[derive(Parser)]
#[command(name = "upstash-local", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "UPSTASH_LOCAL_LISTEN", default_value = "127.0.0.1:8079")]
    listen: SocketAddr,
    /// Redis to serve (redis://[user:password@]host:port[/db]).
    #[arg(
        long,
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        hide_env_values = true
    )]
    redis_url: String,
    /// REST token clients must send (Authorization: Bearer TOKEN, or ?_token=TOKEN).
    /// Defaults to a well-known development token.
    #[arg(long, env = "UPSTASH_LOCAL_TOKEN", default_value = DEV_TOKEN, hide_env_values = true)]
    token: String,
    /// Milliseconds to wait before every response, to model a remote Redis.
    #[arg(long, env = "UPSTASH_LOCAL_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    if args.token == DEV_TOKEN && !args.listen.ip().is_loopback() {
        tracing::warn!(
            listen = %args.listen,
            "listening beyond loopback with the default development token; set --token"
        );
    }
    let config = Config {
        listen: args.listen,
        redis_url: args.redis_url,
        token: args.token,
        latency: Duration::from_millis(args.latency_ms),
    };
    let server = match Server::start(config).await {
        Ok(server) => server,
        Err(err) => {
            tracing::error!(error = %err, "upstash-local could not start");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        url = %server.url(),
        latency_ms = args.latency_ms,
        "upstash-local listening"
    );
    wait_for_stop().await;
    tracing::info!("upstash-local stopping");
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one (how `make` and process managers stop
/// a server).
async fn wait_for_stop() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

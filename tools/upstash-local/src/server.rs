//! The running server: bound listener, serving task, and the handle tests hold.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::{
    Config, Error,
    auth::Token,
    backend::Backend,
    handler::{App, router},
    script::Scripts,
};

/// How long [`Server::shutdown`] lets in-flight requests finish before cutting them off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running upstash-local. Dropping it stops it too (the serving task is aborted), so a test
/// that panics does not leave a server behind.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `config.listen` (port 0 allowed), checks Redis answers, spawns the serving task.
    pub async fn start(config: Config) -> Result<Server, Error> {
        if config.token.is_empty() {
            return Err(Error::EmptyToken);
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
        let backend = Backend::connect(&config.redis_url).await?;
        let requests = Arc::new(AtomicU64::new(0));
        let app = Arc::new(App {
            backend,
            scripts: Scripts::default(),
            token: Token::new(&config.token),
            latency: config.latency,
            requests: Arc::clone(&requests),
            sync: AtomicU64::new(0),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let service = router(app);
        let task = tokio::spawn(async move {
            let result = axum::serve(listener, service)
                .with_graceful_shutdown(async move {
                    // A dropped sender (the server handle is gone) also stops serving.
                    let _ = stopped.await;
                })
                .await;
            if let Err(err) = result {
                tracing::error!(error = %err, "upstash-local stopped serving");
            }
        });
        Ok(Server {
            addr,
            requests,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Base URL for clients, e.g. `http://127.0.0.1:8079`. A wildcard listen address is given
    /// as the loopback address of its family, which is where a local client connects.
    pub fn url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// REST requests received so far, on every endpoint and including refused ones (401,
    /// 400, 405), so tests can count round trips per HTTP request of the API under test.
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Stops accepting connections, lets in-flight requests finish (up to a few seconds),
    /// then returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_at(addr: &str) -> Server {
        Server {
            addr: addr.parse().unwrap(),
            requests: Arc::new(AtomicU64::new(0)),
            stop: None,
            task: None,
        }
    }

    #[test]
    fn url_uses_loopback_for_wildcards() {
        assert_eq!(server_at("127.0.0.1:8079").url(), "http://127.0.0.1:8079");
        assert_eq!(server_at("0.0.0.0:81").url(), "http://127.0.0.1:81");
        assert_eq!(server_at("[::]:82").url(), "http://[::1]:82");
    }

    #[tokio::test]
    async fn empty_token_is_refused_before_anything_else() {
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            redis_url: "redis://127.0.0.1:1".to_owned(),
            token: String::new(),
            latency: Duration::ZERO,
        };
        assert!(matches!(
            Server::start(config).await,
            Err(Error::EmptyToken)
        ));
    }

    #[tokio::test]
    async fn unreachable_redis_fails_start() {
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            redis_url: "redis://:hunter2@127.0.0.1:1".to_owned(),
            token: "t".to_owned(),
            latency: Duration::ZERO,
        };
        let err = Server::start(config).await.unwrap_err();
        assert!(matches!(err, Error::RedisUnavailable(_)), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

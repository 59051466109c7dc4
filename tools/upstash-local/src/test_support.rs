//! For tests (feature `test-support`): a `redis-server` of the test's own, on a free port, gone
//! when dropped.
//!
//! Tests never touch a Redis that happens to be running on the machine: each one starts its
//! own, so tests are hermetic and run in parallel without seeing each other's keys. This crate's
//! tests and those of the crates that run upstash-local in their tests share it.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use std::{env, fs, io, thread};

/// How long a fresh `redis-server` may take to accept connections.
const STARTUP_DEADLINE: Duration = Duration::from_secs(10);
/// Free-port picking races with other processes; a few attempts make a collision harmless.
const PORT_ATTEMPTS: usize = 5;

/// A running `redis-server`, killed and its directory removed when dropped.
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts `redis-server` on a free loopback port and waits until it accepts connections.
    ///
    /// Panics with a message naming the fix when `redis-server` is not installed: a test
    /// that cannot reach its own Redis must fail, never pass vacuously.
    pub fn start() -> RedisServer {
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            match Self::try_start() {
                Ok(server) => return server,
                Err(error) => last_error = Some(error),
            }
        }
        panic!(
            "could not start redis-server (run `make test`, which installs it): {}",
            last_error.expect("at least one attempt ran")
        );
    }

    fn try_start() -> io::Result<RedisServer> {
        let port = free_port()?;
        let dir = env::temp_dir().join(format!("edgestate-redis-{}-{port}", std::process::id()));
        fs::create_dir_all(&dir)?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .args(["--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut server = RedisServer { child, port, dir };
        server.wait_until_ready()?;
        Ok(server)
    }

    fn wait_until_ready(&mut self) -> io::Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "redis-server on port {} exited with {status}",
                    self.port
                )));
            }
            if answers_ping(self.port) {
                return Ok(());
            }
            if started.elapsed() > STARTUP_DEADLINE {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("redis-server on port {} did not start", self.port),
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// `redis://` URL of this server, for upstash-local and for direct RESP access in tests.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A direct RESP connection, for what the REST protocol cannot do (write arbitrary
    /// bytes, flush scripts, shut down) and for checking state behind the API's back.
    pub async fn connect(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .expect("a valid redis URL")
            .get_multiplexed_async_connection()
            .await
            .expect("the test's redis-server accepts connections")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// A PING answered with PONG proves that our redis-server, not some other process that
/// grabbed the port first, is listening.
fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

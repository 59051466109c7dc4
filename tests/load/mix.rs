//! The traffic: concurrent clients, each running journeys one after another until the time
//! or the request budget is spent.
//!
//! Out of every 40 journeys, 33 are signature sessions (a desktop creates one and polls, a
//! phone submits, the desktop sees it; one in four phones submits twice), 4 are bursts of
//! bad requests (not JSON, invalid or unknown session ids, forged or missing tokens), 2 are
//! health checks and 1 is an account (register, login, me, the authorizer, logout, then the
//! dead token refused); every other account first mistypes its password. Hashing (register
//! and login) is about 1 % of the requests: it costs tens of milliseconds of CPU each, and
//! the machine has few cores. Every journey comes from an address of its own, so the per-IP
//! limits never refuse the mix; the checks exercise those limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::task::JoinSet;

use crate::Load;
use crate::fleet::{Call, Reply};

/// When the mix stops: a deadline and a number of requests, whichever comes first.
pub struct Budget {
    deadline: Instant,
    max_requests: u64,
    sent: AtomicU64,
}

impl Budget {
    pub fn new(deadline: Instant, max_requests: u64) -> Budget {
        Budget {
            deadline,
            max_requests,
            sent: AtomicU64::new(0),
        }
    }

    fn take(&self) -> bool {
        Instant::now() < self.deadline
            && self.sent.fetch_add(1, Ordering::Relaxed) < self.max_requests
    }
}

/// Runs `clients` clients until the budget is spent.
pub async fn run(load: Arc<Load>, clients: usize, budget: Arc<Budget>) {
    let mut tasks = JoinSet::new();
    for client in 0..clients {
        let (load, budget) = (load.clone(), budget.clone());
        tasks.spawn(async move {
            let runner = Client {
                load: &load,
                budget: &budget,
            };
            let mut journey = client;
            while runner.journey(journey).await.is_some() {
                journey += clients;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

struct Client<'a> {
    load: &'a Load,
    budget: &'a Budget,
}

impl Client<'_> {
    /// One request, or `None` once the budget is spent.
    async fn send(&self, call: Call) -> Option<Reply> {
        if !self.budget.take() {
            return None;
        }
        Some(self.load.send(call).await)
    }

    async fn journey(&self, journey: usize) -> Option<()> {
        match journey % 40 {
            7 => self.account(journey % 80 == 47).await,
            3 | 13 | 23 | 33 => self.bad_requests().await,
            9 | 29 => self
                .send(self.load.calls.health(&self.load.calls.fresh_ip()))
                .await
                .map(drop),
            _ => self.signature(journey).await,
        }
    }

    async fn signature(&self, journey: usize) -> Option<()> {
        let calls = &self.load.calls;
        let ip = calls.fresh_ip();
        let created = self.send(calls.create(&ip)).await?;
        // A failed create is already counted as an unexpected answer; the journey ends.
        let Some(id) = created.text("sessionId") else {
            return Some(());
        };
        for _ in 0..2 + journey % 3 {
            self.send(calls.poll(&ip, &id, &[200])).await?;
        }
        self.send(calls.submit(&ip, &id, &[200])).await?;
        self.send(calls.poll(&ip, &id, &[200])).await?;
        if journey.is_multiple_of(4) {
            self.send(calls.submit(&ip, &id, &[409])).await?;
        }
        Some(())
    }

    async fn bad_requests(&self) -> Option<()> {
        let calls = &self.load.calls;
        let ip = calls.fresh_ip();
        self.send(calls.create_not_json(&ip)).await?;
        self.send(calls.poll_invalid_id(&ip)).await?;
        self.send(calls.poll(&ip, &calls.unknown_session(), &[404]))
            .await?;
        self.send(calls.submit(&ip, &calls.unknown_session(), &[404]))
            .await?;
        self.send(calls.register_invalid(&ip)).await?;
        self.send(calls.login_bad_json(&ip)).await?;
        self.send(calls.me_forged_token(&ip)).await?;
        self.send(calls.me_no_token(&ip)).await?;
        self.send(calls.logout_forged_token(&ip)).await?;
        self.send(calls.authorize_forged_token(&ip)).await?;
        Some(())
    }

    async fn account(&self, mistyped: bool) -> Option<()> {
        let calls = &self.load.calls;
        let ip = calls.fresh_ip();
        let email = calls.fresh_email();
        self.send(calls.register(&ip, &email, &[201])).await?;
        if mistyped {
            self.send(calls.login_wrong_password(&ip, &email, &[401]))
                .await?;
        }
        let login = self.send(calls.login(&ip, &email, &[200])).await?;
        let Some(token) = login.text("token") else {
            return Some(());
        };
        for _ in 0..3 {
            self.send(calls.me(&ip, &token, &[200])).await?;
        }
        self.send(calls.authorize(&ip, &token, &[200])).await?;
        self.send(calls.logout(&ip, &token, &[200])).await?;
        self.send(calls.me(&ip, &token, &[401])).await?;
        self.send(calls.authorize(&ip, &token, &[403])).await?;
        Some(())
    }
}

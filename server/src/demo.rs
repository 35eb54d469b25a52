//! The demo streams behind the dashboard in `www/` (`--demo`): what a fund
//! administrator's back office publishes, on the channels a dashboard
//! subscribes to.
//!
//! - `nav:<FUND>`: the fund's net asset value per share, several updates a
//!   second across the funds (a random walk around its launch price);
//! - `approvals:desk-1`: requests waiting for a decision (subscriptions,
//!   redemptions, transfers); the dashboards publish their decisions on the
//!   same channel;
//! - `risk:alerts`: a limit breached or close to it.
//!
//! [`Feed`] is pure and seeded, so its output can be tested and measured;
//! [`run`] publishes it through the hub, in memory or through Redis. With
//! several instances sharing one Redis, start only one with `--demo`.

use std::sync::Weak;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::hub::Hub;

/// The funds: (code, name, launch price, currency).
pub const FUNDS: [(&str, &str, f64, &str); 5] = [
    ("GLB-EQ", "Global Equity", 124.18, "EUR"),
    ("EM-DEBT", "Emerging Markets Debt", 87.42, "USD"),
    ("EU-CORE", "European Core Bonds", 101.05, "EUR"),
    ("US-TECH", "US Technology", 243.77, "USD"),
    ("MULTI-AS", "Multi-Asset Income", 56.31, "GBP"),
];

pub const APPROVALS: &str = "approvals:desk-1";
pub const RISK: &str = "risk:alerts";

/// How often the feed moves: one fund's NAV per tick.
pub const TICK: Duration = Duration::from_millis(250);
/// Ticks between two approval requests (10 s).
const TICKS_PER_APPROVAL: u64 = 40;
/// Ticks between two risk alerts (7 s).
const TICKS_PER_ALERT: u64 = 28;

const INVESTORS: [&str; 6] = [
    "Northwind Pension Fund",
    "Harbor Family Office",
    "Alpine Insurance AG",
    "Meridian Endowment",
    "Keystone Wealth",
    "Solstice Foundation",
];
const REQUESTS: [&str; 3] = ["subscription", "redemption", "transfer"];
const METRICS: [(&str, f64); 3] = [
    ("VaR 99% 1d", 2.0),
    ("Tracking error", 1.5),
    ("Liquidity coverage", 120.0),
];

/// The demo's messages, tick by tick.
#[derive(Debug)]
pub struct Feed {
    random: u64,
    ticks: u64,
    navs: [f64; FUNDS.len()],
    approvals: u64,
    alerts: u64,
}

impl Feed {
    /// The same `seed` gives the same messages.
    pub fn new(seed: u64) -> Self {
        Feed {
            // xorshift needs a non-zero state.
            random: seed | 1,
            ticks: 0,
            navs: FUNDS.map(|(_, _, price, _)| price),
            approvals: 0,
            alerts: 0,
        }
    }

    /// The messages of the next tick at `now_ms` (Unix milliseconds), as
    /// (channel, data as JSON text).
    pub fn tick(&mut self, now_ms: u64) -> Vec<(String, String)> {
        self.ticks += 1;
        let mut messages = vec![self.nav(now_ms)];
        if self.ticks % TICKS_PER_APPROVAL == 1 {
            messages.push(self.approval(now_ms));
        }
        if self.ticks.is_multiple_of(TICKS_PER_ALERT) {
            messages.push(self.alert(now_ms));
        }
        messages
    }

    fn nav(&mut self, now_ms: u64) -> (String, String) {
        let index = (self.ticks as usize) % FUNDS.len();
        let (code, name, _, currency) = FUNDS[index];
        let previous = self.navs[index];
        // Up to ±0.15 % a move: a calm market, visible on a chart.
        let nav = round(previous * (1.0 + (self.unit() - 0.5) * 0.003), 4);
        self.navs[index] = nav;
        let data = json!({
            "fund": code,
            "name": name,
            "nav": nav,
            "change": round(nav - previous, 4),
            "currency": currency,
            "at": now_ms,
        });
        (format!("nav:{code}"), data.to_string())
    }

    fn approval(&mut self, now_ms: u64) -> (String, String) {
        self.approvals += 1;
        let (code, _, _, currency) = FUNDS[self.pick(FUNDS.len())];
        let amount = (1 + self.pick(50)) as u64 * 50_000;
        let data = json!({
            "type": "request",
            "id": format!("APR-{}", 1000 + self.approvals),
            "fund": code,
            "kind": REQUESTS[self.pick(REQUESTS.len())],
            "investor": INVESTORS[self.pick(INVESTORS.len())],
            "amount": amount,
            "currency": currency,
            "at": now_ms,
        });
        (APPROVALS.to_owned(), data.to_string())
    }

    fn alert(&mut self, now_ms: u64) -> (String, String) {
        self.alerts += 1;
        let (code, _, _, _) = FUNDS[self.pick(FUNDS.len())];
        let (metric, limit) = METRICS[self.pick(METRICS.len())];
        // Between 90 % and 120 % of the limit: close to it, or over.
        let value = round(limit * (0.9 + self.unit() * 0.3), 2);
        let level = if value > limit { "critical" } else { "warning" };
        let data = json!({
            "id": format!("RSK-{}", 100 + self.alerts),
            "fund": code,
            "level": level,
            "metric": metric,
            "value": value,
            "limit": limit,
            "at": now_ms,
        });
        (RISK.to_owned(), data.to_string())
    }

    /// xorshift64*: good enough for a demo, and reproducible.
    fn next(&mut self) -> u64 {
        self.random ^= self.random >> 12;
        self.random ^= self.random << 25;
        self.random ^= self.random >> 27;
        self.random.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A number in [0, n).
    fn pick(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// Publishes the feed every [`TICK`] for as long as the hub lives. A
/// publication the broker refuses (Redis away) is skipped: the demo's
/// prices move on.
pub async fn run(hub: Weak<Hub>) {
    let mut feed = Feed::new(unix_ms());
    let mut ticks = tokio::time::interval(TICK);
    loop {
        ticks.tick().await;
        let Some(hub) = hub.upgrade() else { return };
        for (channel, data) in feed.tick(unix_ms()) {
            if let Err(unavailable) = hub.publish(&channel, &data).await {
                hub.log(format_args!("demo: {unavailable:?}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn messages(ticks: u64) -> Vec<(String, Value)> {
        let mut feed = Feed::new(7);
        (0..ticks)
            .flat_map(|tick| feed.tick(1_000 + tick))
            .map(|(channel, data)| (channel, serde_json::from_str(&data).expect("JSON")))
            .collect()
    }

    #[test]
    fn every_fund_moves_and_requests_and_alerts_come_at_their_pace() {
        let all = messages(280);
        let on = |prefix: &str| {
            all.iter()
                .filter(|(channel, _)| channel.starts_with(prefix))
                .count()
        };
        assert_eq!(on("nav:"), 280, "one NAV a tick");
        for (code, ..) in FUNDS {
            assert_eq!(on(&format!("nav:{code}")), 56);
        }
        assert_eq!(on(APPROVALS), 7, "one every 40 ticks, from the first");
        assert_eq!(on(RISK), 10, "one every 28 ticks");
    }

    #[test]
    fn navs_walk_calmly_and_messages_carry_what_the_dashboard_shows() {
        let all = messages(400);
        for (channel, data) in &all {
            match channel.as_str() {
                APPROVALS => {
                    assert_eq!(data["type"], "request");
                    assert!(data["amount"]
                        .as_u64()
                        .is_some_and(|amount| amount % 50_000 == 0));
                    assert!(data["id"].as_str().is_some_and(|id| id.starts_with("APR-")));
                }
                RISK => {
                    let (value, limit) = (
                        data["value"].as_f64().unwrap(),
                        data["limit"].as_f64().unwrap(),
                    );
                    let expected = if value > limit { "critical" } else { "warning" };
                    assert_eq!(data["level"], expected);
                }
                nav => {
                    let fund = FUNDS
                        .iter()
                        .find(|(code, ..)| nav == format!("nav:{code}"))
                        .expect("a fund");
                    let value = data["nav"].as_f64().unwrap();
                    assert!(
                        (value / fund.2 - 1.0).abs() < 0.2,
                        "{nav} wandered to {value}"
                    );
                    assert!(data["change"].as_f64().unwrap().abs() <= value * 0.002);
                }
            }
        }
    }

    #[test]
    fn a_seed_gives_the_same_feed() {
        let (mut a, mut b) = (Feed::new(42), Feed::new(42));
        assert_eq!(a.tick(5), b.tick(5));
        assert_ne!(Feed::new(1).tick(5), Feed::new(2).tick(5));
    }
}

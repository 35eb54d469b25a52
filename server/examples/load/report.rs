//! The figures of a run, as a table and a one-line summary, and the verdict:
//! whether every connection held and every delivery came once, in order.

use std::time::Duration;

use crate::fleet::Deliveries;
use crate::options::Plan;
use crate::publisher::Published;

/// Everything a run measured.
pub struct Figures<'a> {
    /// "1 server" or "2 servers + Redis".
    pub setup: &'a str,
    pub plan: &'a Plan,
    /// Connections subscribed when publishing started.
    pub held: u64,
    pub opening: Duration,
    /// The servers' resident memory, summed, before the connections opened
    /// and once they were held idle; `None` without a process to read.
    pub rss_kib: Option<(u64, u64)>,
    /// CPU while publishing and delivering, in % of one core.
    pub server_cpu: Option<f64>,
    pub redis_cpu: Option<f64>,
    pub generator_cpu: f64,
    /// Every process of the machine, these included.
    pub machine_cpu: f64,
    pub published: &'a Published,
    pub deliveries: &'a Deliveries,
}

impl Figures<'_> {
    /// Whether the run went as it must: nothing failed, nothing was lost,
    /// repeated or reordered, every publication was acknowledged.
    pub fn passed(&self) -> bool {
        let d = self.deliveries;
        d.failures.is_empty()
            && d.missing == 0
            && d.out_of_order == 0
            && self.published.acked == self.published.sent
            && self.published.refused == 0
    }

    fn deliveries_per_second(&self) -> f64 {
        let span = self
            .deliveries
            .last_us
            .saturating_sub(self.published.first_us);
        if span == 0 {
            return 0.0;
        }
        self.deliveries.delivered as f64 / (span as f64 / 1e6)
    }

    fn rss_per_connection_kib(&self) -> Option<f64> {
        let (before, after) = self.rss_kib?;
        (self.held > 0).then(|| after.saturating_sub(before) as f64 / self.held as f64)
    }

    /// The publish-to-delivery time below which `share` of the deliveries
    /// came, in ms.
    fn latency_ms(&self, share: f64) -> f64 {
        let all = &self.deliveries.latencies_us;
        if all.is_empty() {
            return f64::NAN;
        }
        let rank = ((all.len() as f64 * share).ceil() as usize).clamp(1, all.len());
        f64::from(all[rank - 1]) / 1000.0
    }

    /// What the machine's other processes took meanwhile: the cores are
    /// shared, and a run that competed with them has worse tails.
    fn others_cpu(&self) -> f64 {
        let ours =
            self.server_cpu.unwrap_or(0.0) + self.redis_cpu.unwrap_or(0.0) + self.generator_cpu;
        (self.machine_cpu - ours).max(0.0)
    }

    pub fn print_table(&self) {
        let plan = self.plan;
        let p = self.published;
        let d = self.deliveries;
        let offered = f64::from(plan.rate) * self.held as f64 / plan.channels as f64;
        let mut rows = vec![
            (
                "set-up",
                format!(
                    "{}, subscribers {}",
                    self.setup,
                    if plan.deflate {
                        "offering permessage-deflate"
                    } else {
                        "without compression"
                    }
                ),
            ),
            (
                "connections held / asked",
                format!("{} / {}", self.held, plan.connections),
            ),
            ("opened in", format!("{:.1} s", self.opening.as_secs_f64())),
            ("channels", plan.channels.to_string()),
            (
                "publications sent / acked",
                format!("{} / {}", p.sent, p.acked),
            ),
            (
                "publication rate, planned / achieved",
                format!(
                    "{} / {:.0} per s",
                    plan.rate,
                    p.sent as f64 / p.sending.as_secs_f64().max(1e-9)
                ),
            ),
            (
                "deliveries",
                format!(
                    "{} ({} missing, {} out of order)",
                    d.delivered, d.missing, d.out_of_order
                ),
            ),
            (
                "deliveries a second, offered / achieved",
                format!("{offered:.0} / {:.0}", self.deliveries_per_second()),
            ),
            (
                "latency p50 / p95 / p99 / max",
                format!(
                    "{:.1} / {:.1} / {:.1} / {:.1} ms",
                    self.latency_ms(0.50),
                    self.latency_ms(0.95),
                    self.latency_ms(0.99),
                    self.latency_ms(1.0)
                ),
            ),
        ];
        if let (Some((before, after)), Some(per)) = (self.rss_kib, self.rss_per_connection_kib()) {
            rows.push((
                "server RSS before / held / per connection",
                format!("{before} / {after} / {per:.1} KiB"),
            ));
        }
        if let Some(cpu) = self.server_cpu {
            rows.push((
                "server CPU while publishing",
                format!("{cpu:.0} % of a core"),
            ));
        }
        if let Some(cpu) = self.redis_cpu {
            rows.push((
                "redis-server CPU while publishing",
                format!("{cpu:.0} % of a core"),
            ));
        }
        rows.push((
            "load generator CPU",
            format!("{:.0} % of a core", self.generator_cpu),
        ));
        rows.push((
            "other processes' CPU meanwhile",
            format!("{:.0} % of a core", self.others_cpu()),
        ));
        rows.push((
            "errors",
            format!(
                "{} failed connections, {} refused publications",
                d.failures.len(),
                p.refused
            ),
        ));
        let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
        for (name, value) in rows {
            println!("{name:<width$}  {value}");
        }
        for failure in d.failures.iter().take(5) {
            println!("  failed: {failure}");
        }
    }

    pub fn summary(&self) -> String {
        let memory = match self.rss_per_connection_kib() {
            Some(per) => format!(", {per:.1} KiB per idle connection"),
            None => String::new(),
        };
        let cpu = match self.server_cpu {
            Some(cpu) => format!(", server CPU {cpu:.0} %"),
            None => String::new(),
        };
        let others = self.others_cpu();
        format!(
            "load: {} {}{}, {} connections, {} pub/s on {} channels: {:.0} deliveries/s, p50 {:.1} / p99 {:.1} / max {:.1} ms{memory}{cpu}, others {others:.0} %, {} failed, {} missing",
            if self.passed() { "PASS" } else { "FAIL" },
            self.setup,
            if self.plan.deflate { " (deflate)" } else { "" },
            self.held,
            self.plan.rate,
            self.plan.channels,
            self.deliveries_per_second(),
            self.latency_ms(0.50),
            self.latency_ms(0.99),
            self.latency_ms(1.0),
            self.deliveries.failures.len(),
            self.deliveries.missing,
        )
    }
}

//! A load generator for the reference server, on this machine only.
//!
//!     cargo build --release -p tabwire-server --examples
//!     target/release/examples/load --connections 10000 --channels 10 --rate 50
//!
//! Starts the server from the release build (or two sharing channels
//! through Redis, `--redis`; or uses one already running, `--url`), opens
//! N protocol connections at a bounded rate and subscribes them to C
//! channels, then publishes R messages a second for S seconds through one
//! more connection. Prints the publish-to-delivery latency, the deliveries
//! a second, the servers' memory per idle connection and CPU, and exits
//! with 1 if a connection failed or a delivery was lost, repeated or out
//! of order. `--help` lists the options; bench/docs/load.md has the
//! figures.

mod fleet;
mod options;
mod processes;
mod publisher;
mod report;
mod usage;
mod wire;

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use crate::fleet::Fleet;
use crate::options::{Command, Plan, Target};
use crate::processes::{start_redis, start_server, Process};
use crate::report::Figures;
use crate::usage::{Machine, Usage};
use crate::wire::{Channels, Clock, Endpoint};

/// Longest wait, after publishing, for the deliveries still on their way.
const DRAIN: Duration = Duration::from_secs(30);

/// What the run talks to, and the processes to read (and, if it started
/// them, to stop when it ends).
struct Setup {
    name: &'static str,
    endpoints: Vec<Endpoint>,
    server_pids: Vec<u32>,
    redis_pid: Option<u32>,
    /// Kept until the end: dropping them stops the processes.
    _started: Vec<Process>,
}

fn main() -> ExitCode {
    let (target, plan) = match options::parse(std::env::args().skip(1)) {
        Ok(Command::Run { target, plan }) => (target, plan),
        Ok(Command::Help) => {
            print!("{}", options::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("load: {message}\nRun with --help for usage.");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = tabwire_server::open_files::raise_to_hard_limit() {
        eprintln!("load: cannot raise the open-files limit: {error}");
    }
    // Started here, on the main thread, before the runtime: see
    // `processes::spawn`.
    let setup = match set_up(target, &plan) {
        Ok(setup) => setup,
        Err(message) => {
            eprintln!("load: {message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("load: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&setup, &plan)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("load: {message}");
            ExitCode::FAILURE
        }
    }
}

fn set_up(target: Target, plan: &Plan) -> Result<Setup, String> {
    // Long enough for the whole run; the servers go by themselves after it.
    let opening = plan.connections as u64 / u64::from(plan.ramp);
    let lifetime = plan.seconds + DRAIN + Duration::from_secs(opening + 60);
    match target {
        Target::Running { address, path, pid } => Ok(Setup {
            name: "1 server (running)",
            endpoints: vec![Endpoint { address, path }],
            server_pids: pid.into_iter().collect(),
            redis_pid: None,
            _started: Vec::new(),
        }),
        Target::Started {
            binary,
            redis: false,
        } => {
            let server = start_server(&binary, None, lifetime)?;
            Ok(Setup {
                name: "1 server",
                endpoints: vec![protocol_endpoint(server.address)],
                server_pids: vec![server.process.pid()],
                redis_pid: None,
                _started: vec![server.process],
            })
        }
        Target::Started {
            binary,
            redis: true,
        } => {
            let (redis, url) = start_redis()?;
            let first = start_server(&binary, Some(&url), lifetime)?;
            let second = start_server(&binary, Some(&url), lifetime)?;
            Ok(Setup {
                name: "2 servers + Redis",
                endpoints: vec![
                    protocol_endpoint(first.address),
                    protocol_endpoint(second.address),
                ],
                server_pids: vec![first.process.pid(), second.process.pid()],
                redis_pid: Some(redis.pid()),
                _started: vec![first.process, second.process, redis],
            })
        }
    }
}

fn protocol_endpoint(address: std::net::SocketAddr) -> Endpoint {
    Endpoint {
        address,
        path: "/ws".to_owned(),
    }
}

/// Opens the connections, publishes, and prints the figures; returns
/// whether the run passed.
async fn run(setup: &Setup, plan: &Plan) -> Result<bool, String> {
    let clock = Clock::start();
    let channels = Channels {
        run: run_id(),
        count: plan.channels,
    };
    let idle = read_all(&setup.server_pids)?;
    let opening = tokio::time::Instant::now();
    let fleet = Fleet::open(
        &setup.endpoints,
        plan.connections,
        &channels,
        plan.ramp,
        plan.deflate,
        clock,
    )
    .await;
    let opening = opening.elapsed();
    // Lets what the opening allocated settle before memory is read.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let held = read_all(&setup.server_pids)?;
    let redis = setup
        .redis_pid
        .map(|pid| Usage::read(Some(pid)))
        .transpose()?;
    let generator = Usage::read(None)?;
    let machine = Machine::read()?;
    let published = publisher::publish(
        &setup.endpoints[0],
        &channels,
        plan.rate,
        plan.seconds,
        clock,
    )
    .await?;
    fleet.drain(&published.per_channel, DRAIN).await;
    let servers_after = read_all(&setup.server_pids)?;
    let redis_after = setup
        .redis_pid
        .map(|pid| Usage::read(Some(pid)))
        .transpose()?;
    let generator_after = Usage::read(None)?;
    let machine_after = Machine::read()?;
    let connections = fleet.held();
    let deliveries = fleet.finish(&published.per_channel).await;
    let figures = Figures {
        setup: setup.name,
        plan,
        held: connections,
        opening,
        rss_kib: (!held.is_empty()).then(|| (total_rss(&idle), total_rss(&held))),
        server_cpu: (!held.is_empty()).then(|| {
            held.iter()
                .zip(&servers_after)
                .map(|(before, after)| after.cpu_percent_since(before))
                .sum()
        }),
        redis_cpu: redis
            .zip(redis_after)
            .map(|(before, after)| after.cpu_percent_since(&before)),
        generator_cpu: generator_after.cpu_percent_since(&generator),
        machine_cpu: machine_after.cpu_percent_since(&machine),
        published: &published,
        deliveries: &deliveries,
    };
    figures.print_table();
    println!("{}", figures.summary());
    Ok(figures.passed())
}

fn read_all(pids: &[u32]) -> Result<Vec<Usage>, String> {
    pids.iter().map(|pid| Usage::read(Some(*pid))).collect()
}

fn total_rss(usages: &[Usage]) -> u64 {
    usages.iter().map(|usage| usage.rss_kib).sum()
}

/// Names this run's channels apart from earlier runs' on the same server.
fn run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    format!("{:x}{:x}", std::process::id(), nanos)
}

//! `tabwire-server`: parses the command line, binds, announces the address on
//! stdout for scripts, and serves until a signal or `--exit-after-secs`,
//! then shuts down gracefully within `--shutdown-secs`, logging to stderr
//! ([`logs`]).

mod args;
mod logs;

use std::ffi::OsString;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::args::{Args, Command};

fn main() -> ExitCode {
    let secret_env = std::env::var_os(args::SECRET_ENV).map(OsString::into_encoded_bytes);
    let args = match args::parse(std::env::args().skip(1), secret_env) {
        Ok(Command::Run(args)) => *args,
        Ok(Command::Help) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("tabwire-server: {message}\nRun `tabwire-server --help` for usage.");
            return ExitCode::from(2);
        }
    };
    logs::init(args.logs);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    raise_open_files_limit();
    let wanted = SocketAddr::new(args.host, args.port);
    let listener = TcpListener::bind(wanted)
        .await
        .map_err(|error| format!("cannot listen on {wanted}: {error}"))?;
    let address = listener
        .local_addr()
        .map_err(|error| format!("cannot read the bound address: {error}"))?;
    announce(address);
    tracing::info!(%address, "listening");
    let bound = args.server.timeouts.shutdown;
    let stop = async {
        let why = shutdown(args.exit_after).await;
        tracing::info!(
            "{why}: shutting down, closing every connection with 1012 (at most {} s)",
            bound.as_secs()
        );
    };
    tabwire_server::serve_until(args.server, listener, stop)
        .await
        .map_err(|error| format!("server failed: {error}"))?;
    tracing::info!("stopped");
    Ok(())
}

/// Lets the server hold as many sockets as the hard limit allows: the usual
/// soft limit of 1,024 open files would refuse connections long before
/// 10,000. The limit goes to the log, since it bounds the connections held;
/// on a failure the server goes on with the limit it has.
fn raise_open_files_limit() {
    match tabwire_server::open_files::raise_to_hard_limit() {
        Ok(limit) if limit.after > limit.before => tracing::info!(
            "open-files limit {} (raised from {})",
            limit.after,
            limit.before
        ),
        Ok(limit) => tracing::info!("open-files limit {}", limit.after),
        Err(error) => tracing::warn!("cannot raise the open-files limit: {error}"),
    }
}

/// The one stdout line scripts read to learn the port (`--port 0`).
fn announce(address: SocketAddr) {
    let mut stdout = std::io::stdout().lock();
    let written = writeln!(stdout, "tabwire-server listening on http://{address}")
        .and_then(|()| stdout.flush());
    if let Err(error) = written {
        // The server is still useful to a caller that knows the port.
        tracing::warn!("cannot write the address to stdout: {error}");
    }
}

/// Resolves on SIGINT, SIGTERM, or when `exit_after` has passed, to what
/// it was, for the log. The server then shuts down gracefully: its clients
/// get the close 1012 and come back, to this server once it has restarted
/// or to another.
async fn shutdown(exit_after: Option<Duration>) -> &'static str {
    let deadline = async {
        match exit_after {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = deadline => "--exit-after-secs has passed",
        () = interrupt() => "SIGINT",
        () = terminate() => "SIGTERM",
    }
}

async fn interrupt() {
    if tokio::signal::ctrl_c().await.is_err() {
        // Without a handler the default action still stops the process.
        std::future::pending::<()>().await;
    }
}

#[cfg(unix)]
async fn terminate() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut stream) => {
            stream.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending::<()>().await;
}

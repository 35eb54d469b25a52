//! The processes a run starts: reference servers from a release build and,
//! for two instances, Debian's `redis-server`. All listen on free 127.0.0.1
//! ports, a server stops by itself (`--exit-after-secs`), and each is
//! killed when its handle is dropped and when this process dies, so none
//! outlives the run.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// A child process, killed when dropped.
pub struct Process {
    child: Child,
}

impl Process {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A started reference server and where its protocol endpoint is.
pub struct Server {
    pub address: SocketAddr,
    pub process: Process,
}

/// The server's options that lift its limits.
const UNLIMITED: [&str; 20] = [
    "--rate",
    "1000000",
    "--burst",
    "1000000",
    "--ip-rate",
    "1000000",
    "--ip-burst",
    "1000000",
    "--bytes-rate",
    "4000000000",
    "--bytes-burst",
    "4000000000",
    "--ip-bytes-rate",
    "4000000000",
    "--ip-bytes-burst",
    "4000000000",
    "--max-connections-per-ip",
    "1000000",
    "--max-connections",
    "1000000",
];

/// Starts `binary` on a free port, sharing channels through `redis` if
/// given, and waits for the line that announces its address. It exits by
/// itself after `lifetime`. The rate limits and connection caps are
/// lifted: the publisher sends far more than a browser would, and every
/// connection comes from 127.0.0.1; and so is the idle timeout: the fleet's
/// connections only listen, without a heartbeat, for longer than it.
pub fn start_server(
    binary: &Path,
    redis: Option<&str>,
    lifetime: Duration,
) -> Result<Server, String> {
    if !binary.is_file() {
        return Err(format!(
            "no server at {}: build it with `cargo build --release -p tabwire-server`, or give --server-bin",
            binary.display()
        ));
    }
    let nowhere = std::env::temp_dir().join("tabwire-load-no-such-dir");
    let mut command = Command::new(binary);
    command
        .args(["--port", "0"])
        .args(UNLIMITED)
        .args(["--idle-timeout-secs", "0"])
        .arg("--exit-after-secs")
        .arg(lifetime.as_secs().max(1).to_string())
        .arg("--www")
        .arg(&nowhere)
        .arg("--pkg")
        .arg(&nowhere);
    if let Some(url) = redis {
        command.args(["--redis", url]);
    }
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut process = spawn(command, binary)?;
    let stdout = process
        .child
        .stdout
        .take()
        .ok_or("the server's stdout is not piped")?;
    // The server writes this line once bound, or exits: either way the
    // read returns.
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|error| format!("cannot read the server's address: {error}"))?;
    let address = line
        .trim()
        .strip_prefix("tabwire-server listening on http://")
        .and_then(|address| address.parse().ok())
        .ok_or_else(|| format!("the server did not announce its address (it said {line:?})"))?;
    Ok(Server { address, process })
}

/// Starts `redis-server` on a free loopback port, without persistence, and
/// returns it with its URL once it accepts connections.
pub fn start_redis() -> Result<(Process, String), String> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|probe| probe.local_addr())
        .map_err(|error| format!("no free port: {error}"))?
        .port();
    let mut command = Command::new("redis-server");
    command
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
        .stdout(Stdio::null());
    let process = spawn(command, Path::new("redis-server"))?;
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(address).is_err() {
        if Instant::now() > deadline {
            return Err(format!("redis-server did not start on port {port}"));
        }
        sleep(Duration::from_millis(50));
    }
    Ok((process, format!("redis://127.0.0.1:{port}")))
}

/// Spawns `command`, asking Linux to kill the child when this process
/// dies: even a generator killed by a signal leaves nothing running. (The
/// signal follows the thread that spawned the child, so this is called
/// from the main thread, before the async runtime starts.)
fn spawn(mut command: Command, name: &Path) -> Result<Process, String> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe and touches no memory of the
        // parent, as a pre_exec hook must.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let child = command
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", name.display()))?;
    Ok(Process { child })
}

//! The JWT secret given to the `tabwire-server` binary by the environment
//! or a file rather than on the command line, proved with a token signed
//! elsewhere: jwt.io's example, HS256 with the secret
//! "your-256-bit-secret" (19 bytes) and no `exp`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::auth::*;
use common::*;

const JWT_IO_SECRET: &str = "your-256-bit-secret";
const JWT_IO_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

/// The server binary, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn server(args: &[&str], env_secret: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tabwire-server"));
    command
        .args([
            "--port",
            "0",
            "--www",
            "missing-www",
            "--pkg",
            "missing-pkg",
        ])
        .args(["--exit-after-secs", "60", "--jwt-allow-no-exp"])
        .args(args)
        .env_remove("TABWIRE_JWT_SECRET");
    if let Some(secret) = env_secret {
        command.env("TABWIRE_JWT_SECRET", secret);
    }
    command
}

/// Starts the server and reads the address it announces.
fn start_binary(args: &[&str], env_secret: Option<&str>) -> (Server, SocketAddr) {
    let mut child = server(args, env_secret)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start tabwire-server");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the announced address");
    let address = line
        .trim()
        .strip_prefix("tabwire-server listening on http://")
        .unwrap_or_else(|| panic!("announcement: {line:?}"))
        .parse()
        .expect("an address");
    (server, address)
}

#[tokio::test]
async fn the_secret_from_the_environment() {
    let (_server, address) = start_binary(&[], Some(JWT_IO_SECRET));
    expect_taken(address, JWT_IO_TOKEN).await;
}

#[tokio::test]
async fn the_secret_from_a_file() {
    let path = std::env::temp_dir().join(format!("tabwire-secret-{}", std::process::id()));
    std::fs::write(&path, format!("{JWT_IO_SECRET}\n")).expect("write the secret");
    let file = path.to_str().expect("UTF-8 path");
    let (_server, address) = start_binary(&["--jwt-secret-file", file], None);
    expect_taken(address, JWT_IO_TOKEN).await;
    let _ = std::fs::remove_file(&path);
}

#[test]
fn two_sources_of_the_secret_are_refused_at_start() {
    let output = server(&["--jwt-secret", JWT_IO_SECRET], Some(JWT_IO_SECRET))
        .output()
        .expect("run tabwire-server");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("given by both --jwt-secret and TABWIRE_JWT_SECRET"),
        "{stderr}"
    );
}

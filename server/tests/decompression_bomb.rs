//! A decompression bomb: one small compressed frame that would inflate to
//! hundreds of MiB. The server must refuse it with 1009 having inflated no
//! more than about its frame size limit, and go on serving the others.
//!
//! Alone in its test binary, so that the process's memory (the server runs
//! in it) moves only with what this test does.

mod common;

use std::io::Write;

use common::*;
use flate2::write::DeflateEncoder;
use flate2::Compression;

/// What the bomb inflates to, in MiB of zeros.
const BOMB_MIB: usize = 512;

/// How much the process's peak memory may grow while the server refuses
/// the bomb: several times its 1 MiB frame limit, yet less than yawc read
/// by default (16 MiB), let alone the bomb.
const MEMORY_SLACK: u64 = 8 << 20;

/// A text message of [`BOMB_MIB`] MiB of zeros, deflated as
/// permessage-deflate sends it: raw deflate flushed to a byte boundary,
/// without the final empty block's `00 00 ff ff` (RFC 7692, 7.2.1).
///
/// Deflating it all would take seconds of an unoptimised build, so only
/// three MiB are: past the first, each MiB of zeros deflates to the same
/// bytes (the window holds nothing but zeros), which are repeated.
fn bomb() -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    let mut deflate = DeflateEncoder::new(Vec::new(), Compression::best());
    let mut next_mib = || {
        deflate.write_all(&zeros).expect("deflate");
        deflate.flush().expect("a sync flush");
        std::mem::take(deflate.get_mut())
    };
    let mut bomb = next_mib();
    let steady = next_mib();
    assert_eq!(next_mib(), steady, "each further MiB deflates alike");
    for _ in 1..BOMB_MIB {
        bomb.extend_from_slice(&steady);
    }
    assert!(bomb.ends_with(&[0, 0, 0xff, 0xff]), "a sync flush");
    bomb.truncate(bomb.len() - 4);
    bomb
}

/// One masked (with a zero key, so the payload reads as is) text frame,
/// RSV1 set: compressed.
fn compressed_text_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80 | 0x40 | 0x1, 0x80 | 127];
    frame.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

/// A line of `/proc/self/status`, such as `VmRSS`, in bytes.
fn status_bytes(name: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("{name} in /proc/self/status"));
    let kib: u64 = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .expect("a number of kB");
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decompression_bomb_is_refused_without_inflating_it() {
    let address = start_with_control().await;
    let bomb = bomb();
    assert!(bomb.len() < 1 << 20, "{} bytes on the wire", bomb.len());
    let frame = compressed_text_frame(&bomb);
    let mut bystander = connect(address, "bystander").await;
    let (mut attacker, head) = upgrade_by_hand(
        address,
        "/raw?tag=bomb",
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-extensions: permessage-deflate"),
        "{head}"
    );

    // The peak from here on (resetting it is allowed to fail: the peak
    // since the start then counts against the slack too).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_bytes("VmRSS");
    within("send the bomb", attacker.write_all(&frame))
        .await
        .expect("send");
    let mut head = [0u8; 2];
    within("the close", attacker.read_exact(&mut head))
        .await
        .expect("a close frame");
    assert_eq!(head[0], 0x88, "a close frame: {head:?}");
    let mut payload = vec![0u8; usize::from(head[1] & 0x7f)];
    within("the close", attacker.read_exact(&mut payload))
        .await
        .expect("the close's payload");
    assert_eq!(payload[..2], 1009u16.to_be_bytes(), "{payload:?}");
    let peak = status_bytes("VmHWM");
    let after = status_bytes("VmRSS");
    assert!(
        peak < before + MEMORY_SLACK && after < before + MEMORY_SLACK,
        "memory grew from {before} to a peak of {peak} ({after} after) for a \
         {BOMB_MIB} MiB bomb"
    );

    send(&mut bystander, Message::text("still here")).await;
    assert_eq!(next(&mut bystander).await, Message::text("still here"));
    let stats = control(address, "/control/stats?tag=bomb").await;
    assert_eq!(stats["connections"], 0, "{stats}");
    assert_eq!(
        control(address, "/control/received?tag=bomb").await,
        json!({ "frames": [] })
    );
}

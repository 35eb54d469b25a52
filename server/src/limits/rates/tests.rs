use std::net::Ipv4Addr;

use super::*;

/// Messages a second, their burst, bytes a second, their burst.
const fn rate(
    messages_per_second: u32,
    message_burst: u32,
    bytes_per_second: u32,
    byte_burst: u32,
) -> Rate {
    Rate {
        messages_per_second,
        message_burst,
        bytes_per_second,
        byte_burst,
    }
}

/// Slow enough that nothing refills while a test runs: three messages of
/// up to 100 bytes in all, then a refusal.
const SLOW: Rate = rate(1, 3, 10, 100);

/// Never in the way.
const WIDE: Rate = rate(1_000_000, 1_000_000, 1_000_000, 1_000_000);

fn limits(per_user: Rate, per_ip: Rate) -> Limits {
    Limits {
        per_user,
        per_ip,
        max_frame_bytes: 50,
        ..Limits::default()
    }
}

fn client(name: &str) -> Sender {
    Sender::Client(name.to_owned())
}

/// A user's refusal, with the wait of `secs`.
fn refused_for(secs: u64) -> Result<(), Refusal> {
    Err(Refusal {
        per: "user",
        retry_after: Duration::from_secs(secs),
    })
}

const HOME: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const AWAY: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));

#[test]
fn a_user_gets_its_burst_then_a_refusal_wherever_it_sends_from() {
    let rates = Rates::new(&limits(SLOW, WIDE));
    for _ in 0..3 {
        assert_eq!(rates.take(&client("a"), HOME, 1), Ok(()));
    }
    let refused = refused_for(3);
    assert_eq!(rates.take(&client("a"), HOME, 1), refused);
    assert_eq!(
        rates.take(&client("a"), AWAY, 1),
        refused,
        "per user, not per address"
    );
    assert_eq!(
        rates.take(&client("b"), HOME, 1),
        Ok(()),
        "another user is not disturbed"
    );
    assert_eq!(
        rates.take(&Sender::Subject("a".to_owned()), HOME, 1),
        Ok(()),
        "a subject is another user than a client id of the same name"
    );
}

#[test]
fn bytes_are_limited_as_well_as_messages() {
    let rates = Rates::new(&limits(SLOW, WIDE));
    assert_eq!(rates.take(&client("a"), HOME, 50), Ok(()));
    assert_eq!(rates.take(&client("a"), HOME, 50), Ok(()));
    // A third message is within the message burst but not the byte burst,
    // which refills in 100 / 10 s.
    let refused = refused_for(10);
    assert_eq!(rates.take(&client("a"), HOME, 1), refused);
    assert_eq!(
        rates.take(&client("b"), HOME, 0),
        Ok(()),
        "an empty message costs no bytes"
    );
}

#[test]
fn an_address_is_limited_over_all_its_users() {
    let rates = Rates::new(&limits(WIDE, SLOW));
    for name in ["a", "b", "c"] {
        assert_eq!(rates.take(&client(name), HOME, 1), Ok(()));
    }
    let refusal = rates
        .take(&client("d"), HOME, 1)
        .expect_err("over the address's burst");
    assert_eq!(refusal.per, "IP");
    assert_eq!(rates.take(&client("d"), AWAY, 1), Ok(()));
}

#[test]
fn the_byte_burst_holds_at_least_one_frame_of_the_largest_size() {
    let narrow = Rate {
        byte_burst: 10,
        ..WIDE
    };
    let rates = Rates::new(&limits(narrow, WIDE));
    assert_eq!(rates.take(&client("a"), HOME, 50), Ok(()));
}

#[test]
fn zero_rates_are_taken_as_one() {
    let zero = rate(0, 0, 0, 0);
    let rates = Rates::new(&limits(zero, WIDE));
    assert_eq!(rates.take(&client("a"), HOME, 1), Ok(()));
    assert!(rates.take(&client("a"), HOME, 1).is_err());
}

#[test]
fn the_reason_gives_the_wait_in_whole_milliseconds_rounded_up() {
    let reason = |per, retry_after| Refusal { per, retry_after }.reason();
    assert_eq!(
        reason("user", Duration::from_millis(1500)),
        "rate limited per user; retry after 1500 ms"
    );
    assert_eq!(
        reason("IP", Duration::from_micros(1500)),
        "rate limited per IP; retry after 2 ms"
    );
    assert_eq!(
        reason("IP", Duration::ZERO),
        "rate limited per IP; retry after 1 ms"
    );
}

#[test]
fn a_sweep_forgets_the_keys_that_have_refilled_and_only_those() {
    let quick = rate(1_000, 1, 1_000_000, 1_000);
    let rates = Rates::new(&limits(quick, SLOW));
    for name in ["a", "b", "c"] {
        assert_eq!(rates.take(&client(name), HOME, 1), Ok(()));
    }
    // Three users (each in both limiters) and one address.
    assert_eq!(rates.keys(), 3 * 2 + 2);
    // The users' limits refill within a millisecond; the address's take
    // seconds.
    std::thread::sleep(Duration::from_millis(50));
    rates.sweep();
    assert_eq!(rates.keys(), 2);
}

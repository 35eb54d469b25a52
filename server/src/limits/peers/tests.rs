use std::net::{Ipv4Addr, SocketAddrV6};

use super::*;

fn peers(max_connections_per_ip: u32, max_connections: u32) -> Arc<Peers> {
    Arc::new(Peers::new(&Limits {
        max_connections_per_ip,
        max_connections,
        ..Limits::default()
    }))
}

const HOME: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const AWAY: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));

/// Fills `peers` with a connection from each of `held`, then expects one
/// from `next` refused as `full` until the last of them ends.
fn full_until_one_ends(peers: &Arc<Peers>, held: [IpAddr; 2], next: IpAddr, full: Full) {
    let mut slots: Vec<PeerSlot> = held
        .iter()
        .map(|ip| peers.admit(*ip).expect("room"))
        .collect();
    assert_eq!(peers.admit(next).err(), Some(full));
    slots.pop();
    assert!(peers.admit(next).is_ok());
}

#[test]
fn an_address_holds_its_share_and_gets_it_back_as_connections_end() {
    let peers = peers(2, 10);
    let _away = peers.admit(AWAY).expect("room");
    full_until_one_ends(&peers, [HOME, HOME], HOME, Full::Address);
}

#[test]
fn the_server_holds_its_cap_over_all_addresses() {
    full_until_one_ends(&peers(10, 2), [HOME, AWAY], AWAY, Full::Server);
}

#[test]
fn an_address_without_connections_is_forgotten() {
    let peers = peers(2, 10);
    drop(peers.admit(HOME).expect("admitted"));
    let _away = peers.admit(AWAY).expect("admitted");
    assert_eq!(peers.held().per_ip.len(), 1);
    assert_eq!(peers.held().total, 1);
}

#[test]
fn the_refusals_say_how_long_to_wait() {
    assert_eq!(Full::Address.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(Full::Server.status(), StatusCode::SERVICE_UNAVAILABLE);
    let response = Full::Address.response("full");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[RETRY_AFTER], "5");
}

fn forwarded(values: &[&'static str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for value in values {
        headers.append(X_FORWARDED_FOR, HeaderValue::from_static(value));
    }
    headers
}

#[test]
fn the_forwarded_address_counts_only_when_trusted_and_only_the_last_one() {
    let peer = SocketAddr::new(HOME, 4000);
    let headers = forwarded(&["203.0.113.9, 198.51.100.7"]);
    assert_eq!(address(peer, &headers, false), HOME);
    assert_eq!(address(peer, &headers, true), AWAY);
    let several = forwarded(&["203.0.113.9", "198.51.100.7:5000"]);
    assert_eq!(address(peer, &several, true), AWAY);
    for junk in [&["not an address"][..], &["198.51.100.7, "][..], &[][..]] {
        assert_eq!(address(peer, &forwarded(junk), true), HOME, "{junk:?}");
    }
}

#[test]
fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
    let v6 = |text: &str| SocketAddr::V6(SocketAddrV6::new(text.parse().unwrap(), 1, 0, 0));
    let none = HeaderMap::new();
    assert_eq!(
        address(v6("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), &none, false),
        "2001:db8:1:2::".parse::<IpAddr>().unwrap()
    );
    assert_eq!(address(v6("::ffff:192.0.2.1"), &none, false), HOME);
}

//! The control API answers only the pages the server admits: a request of a
//! page of another site is refused before its order is carried out, even
//! one a browser sends without `Origin` (an image's GET).

mod common;

use common::*;

/// A server with the control API, serving [`PAGE_ORIGIN`] besides itself,
/// with one raw connection tagged `o1`.
async fn server_with_a_connection() -> (SocketAddr, Client) {
    let address = start_with_control().await;
    let client = connect(address, "o1").await;
    (address, client)
}

async fn connections(address: SocketAddr) -> u64 {
    control(address, "/control/stats?tag=o1").await["connections"]
        .as_u64()
        .expect("a count")
}

#[tokio::test]
async fn pages_of_other_sites_are_refused_and_their_orders_not_carried_out() {
    let (address, mut client) = server_with_a_connection().await;
    let elsewhere = [
        "Origin: http://evil.example\r\n",
        "Origin: null\r\n",
        "Sec-Fetch-Site: cross-site\r\n",
        "Sec-Fetch-Site: same-site\r\n",
    ];
    for headers in elsewhere {
        for method in ["GET", "POST"] {
            let reply = request(address, method, "/control/drop?tag=o1", headers, "").await;
            assert_eq!(reply.status, 403, "{method} {headers:?}: {}", reply.body);
            assert!(reply.json()["error"].is_string());
            assert_eq!(reply.header("access-control-allow-origin"), None);
        }
    }
    assert_eq!(connections(address).await, 1, "nothing dropped");
    send(&mut client, Message::text("still here")).await;
    assert_eq!(next(&mut client).await, Message::text("still here"));

    let dropped = control(address, "/control/drop?tag=o1").await;
    assert_eq!(dropped["dropped"], 1);
}

#[tokio::test]
async fn the_admitted_pages_may_read_the_answers_and_send_preflights() {
    let (address, _client) = server_with_a_connection().await;
    let reply = http(address, "GET", "/control/stats?tag=o1").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(PAGE_ORIGIN)
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));

    let own = format!("Origin: http://{address}\r\n");
    let reply = request(address, "POST", "/control/stats?tag=o1", &own, "").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Programs that send no Origin (the Node test harnesses, curl).
    let reply = request(address, "POST", "/control/stats?tag=o1", "", "").await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let preflight = |origin: &str| {
        format!("Origin: {origin}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n")
    };
    let reply = request(
        address,
        "OPTIONS",
        "/control/drop",
        &preflight(PAGE_ORIGIN),
        "",
    )
    .await;
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(PAGE_ORIGIN)
    );
    assert!(reply
        .header("access-control-allow-methods")
        .is_some_and(|m| m.contains("POST")));
    let reply = request(
        address,
        "OPTIONS",
        "/control/drop",
        &preflight("http://evil.example"),
        "",
    )
    .await;
    assert_eq!(reply.header("access-control-allow-origin"), None);
    assert_eq!(
        connections(address).await,
        1,
        "a preflight carries out nothing"
    );
}

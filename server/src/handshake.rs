//! What the server adds to yawc's side of the WebSocket handshake: the
//! request checks and the subprotocol selection that yawc leaves to the
//! application, and the yawc settings a connection runs with.

use axum::http::header::{CONNECTION, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_PROTOCOL, UPGRADE};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use yawc::{CompressionLevel, Options};

use crate::limits::Limits;
use crate::protocol::SUBPROTOCOL;

/// How much longer than the frame size limit a frame may be on the wire:
/// deflate stores incompressible data in blocks of at most 64 KiB with a
/// 5-byte header each, so a compressed message within the limit may take a
/// few more bytes than it holds. One part in 1,024 and 64 bytes is well
/// above that.
fn wire_bound(max_frame_bytes: usize) -> usize {
    max_frame_bytes
        .saturating_add(max_frame_bytes / 1024)
        .saturating_add(64)
}

/// Whether the request asks to switch to WebSocket: `Upgrade: websocket`,
/// and `upgrade` among the `Connection` tokens (RFC 6455, 4.2.1). yawc's
/// extractor checks only the key and the version.
pub fn asks_for_websocket(headers: &HeaderMap) -> bool {
    let upgrade = headers
        .get(UPGRADE)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"));
    upgrade && tokens(headers, CONNECTION).any(|token| token.eq_ignore_ascii_case(b"upgrade"))
}

/// Whether `tabwire.v1` is among the subprotocols the request offers
/// (compared exactly, as subprotocol names are).
pub fn offers_subprotocol(headers: &HeaderMap) -> bool {
    tokens(headers, SEC_WEBSOCKET_PROTOCOL).any(|token| token == SUBPROTOCOL.as_bytes())
}

/// The comma-separated values of every `name` header, trimmed.
pub fn tokens(headers: &HeaderMap, name: HeaderName) -> impl Iterator<Item = &[u8]> + '_ {
    headers
        .get_all(name)
        .into_iter()
        .flat_map(|value| value.as_bytes().split(|&byte| byte == b','))
        .map(<[u8]>::trim_ascii)
}

/// The settings of a connection whose upgrade request has `headers`. Text
/// must be UTF-8, as tungstenite made sure.
///
/// yawc holds no more of a message than the frame size limit allows, and
/// closes with 1009 past it, whether the bytes come on the wire or out of
/// the inflater (a few compressed bytes can inflate to gigabytes): a frame
/// at most [`wire_bound`] long, inflating to no more than that, and a
/// message in fragments to no more than the limit itself (yawc's bounds
/// are exclusive, hence the `+ 1`). A single frame between the limit and
/// that bound reaches the server's own check, which closes with 1009 too.
///
/// With `compression`, permessage-deflate is agreed when the client offers
/// it, with yawc's defaults: level 6, and context takeover both ways, which
/// is what browsers offer unless told otherwise. Each message is then
/// compressed against the ones before it, where deflate gains most on
/// frames that look alike (JSON of the same few shapes); the price is the
/// deflate state each such connection keeps for its life.
///
/// An offer naming `server_max_window_bits` is declined: yawc (without its
/// `zlib` feature) compresses with a 32 KiB window only and would answer
/// without that parameter, which RFC 7692 (7.1.2.1) forbids when the client
/// asked for it. Browsers never do.
pub fn options(limits: &Limits, compression: bool, headers: &HeaderMap) -> Options {
    let options = Options::default().with_utf8().with_limits(
        wire_bound(limits.max_frame_bytes).saturating_add(1),
        limits.max_frame_bytes.saturating_add(1),
    );
    if compression && !asks_for_server_window(headers) {
        options.with_compression_level(CompressionLevel::default())
    } else {
        options
    }
}

/// Whether an extension offer limits the window the server compresses
/// with (`server_max_window_bits`).
fn asks_for_server_window(headers: &HeaderMap) -> bool {
    headers
        .get_all(SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .any(|value| {
            value
                .as_bytes()
                .to_ascii_lowercase()
                .windows(b"server_max_window_bits".len())
                .any(|window| window == b"server_max_window_bits")
        })
}

/// Completes the headers of yawc's 101 response: selects `tabwire.v1` when
/// `select_subprotocol` (yawc never sets `Sec-WebSocket-Protocol`). Returns
/// whether permessage-deflate was agreed, which yawc, whose only extension
/// it is, says in `Sec-WebSocket-Extensions`.
pub fn complete(response: &mut HeaderMap, select_subprotocol: bool) -> bool {
    if select_subprotocol {
        response.insert(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );
    }
    response.contains_key(SEC_WEBSOCKET_EXTENSIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(HeaderName, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn a_websocket_request_names_both_upgrade_headers() {
        let browser = [(UPGRADE, "websocket"), (CONNECTION, "Upgrade")];
        assert!(asks_for_websocket(&headers(&browser)));
        // Firefox's way.
        let listed = [(UPGRADE, "WebSocket"), (CONNECTION, "keep-alive, Upgrade")];
        assert!(asks_for_websocket(&headers(&listed)));
        assert!(!asks_for_websocket(&headers(&[(UPGRADE, "websocket")])));
        let other = [(UPGRADE, "h2c"), (CONNECTION, "upgrade")];
        assert!(!asks_for_websocket(&headers(&other)));
    }

    #[test]
    fn the_subprotocol_is_found_among_the_offers() {
        let offers = |values: &[&'static str]| {
            let pairs: Vec<_> = values
                .iter()
                .map(|value| (SEC_WEBSOCKET_PROTOCOL, *value))
                .collect();
            offers_subprotocol(&headers(&pairs))
        };
        assert!(offers(&["tabwire.v1"]));
        assert!(offers(&["chat, tabwire.v1"]));
        assert!(offers(&["chat", " tabwire.v1 ,x"]));
        assert!(!offers(&[]));
        assert!(!offers(&["chat"]));
        assert!(!offers(&["Tabwire.V1", "tabwire.v1x", "tabwire"]));
    }

    #[test]
    fn compression_is_offered_unless_turned_off_or_the_window_is_asked_for() {
        let limits = Limits::default();
        let chromium = [(
            SEC_WEBSOCKET_EXTENSIONS,
            "permessage-deflate; client_max_window_bits",
        )];
        let deflate = options(&limits, true, &headers(&chromium)).compression;
        let deflate = deflate.expect("compression offered");
        assert_eq!(deflate.level, CompressionLevel::default());
        assert!(!deflate.server_no_context_takeover);
        assert!(!deflate.client_no_context_takeover);
        assert!(options(&limits, false, &headers(&chromium))
            .compression
            .is_none());
        let window = [(
            SEC_WEBSOCKET_EXTENSIONS,
            "permessage-deflate; Server_Max_Window_Bits=10",
        )];
        assert!(options(&limits, true, &headers(&window))
            .compression
            .is_none());
    }

    #[test]
    fn yawc_reads_no_more_than_the_frame_limit_allows() {
        let options = options(&Limits::default(), true, &HeaderMap::new());
        assert_eq!(options.max_payload_read, Some((1 << 20) + 1024 + 64 + 1));
        assert_eq!(options.max_read_buffer, Some((1 << 20) + 1));
        assert!(options.check_utf8);
        let tiny = Limits {
            max_frame_bytes: 100,
            ..Limits::default()
        };
        let options = super::options(&tiny, false, &HeaderMap::new());
        assert_eq!(options.max_payload_read, Some(165));
        assert_eq!(options.max_read_buffer, Some(101));
        let huge = Limits {
            max_frame_bytes: usize::MAX,
            ..Limits::default()
        };
        let options = super::options(&huge, true, &HeaderMap::new());
        assert_eq!(options.max_payload_read, Some(usize::MAX));
        assert_eq!(options.max_read_buffer, Some(usize::MAX));
    }

    #[test]
    fn the_response_names_the_subprotocol_and_tells_the_compression() {
        let mut plain = HeaderMap::new();
        assert!(!complete(&mut plain, false));
        assert!(plain.get(SEC_WEBSOCKET_PROTOCOL).is_none());
        let mut compressed = headers(&[(SEC_WEBSOCKET_EXTENSIONS, "permessage-deflate")]);
        assert!(complete(&mut compressed, true));
        assert_eq!(compressed[SEC_WEBSOCKET_PROTOCOL], SUBPROTOCOL);
    }
}

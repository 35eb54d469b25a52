//! Randomised tests of the two decoders that take JavaScript values, which
//! the native fuzz targets (fuzz/) cannot reach: what other tabs post on the
//! `BroadcastChannel` (`peer_codec::decode`) and what a server sends
//! (`protocol::classify`). Inputs are real messages with fields deleted,
//! replaced by values of other types, or by random ones, from a seeded
//! generator; a panic in wasm would abort the module and fail every test
//! after it. Run by `scripts/test.sh`.

#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Object, Reflect, JSON};
use tabwire::core::{CloseInfo, ConnectionState, Event, GapReason, Mode, Outcome, Peer, Position, StateChange, Transport};
use tabwire::web::peer_codec::{batch, decode, decode_post, encode};
use tabwire::web::protocol::{classify, envelope};
use tabwire::web::Frame;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

/// What `decode_post` hands on, in order.
fn decoded_post(value: &JsValue) -> Vec<Result<Peer<Frame>, String>> {
    let mut decoded = Vec::new();
    decode_post(value, |peer| decoded.push(peer));
    decoded
}

wasm_bindgen_test_configure!(run_in_browser);

/// Rounds of mutation per test: enough to reach every field of every kind
/// many times, short enough for the browser layer's time budget.
const ROUNDS: u32 = 20_000;

/// xorshift64*, seeded: a failure repeats with the same seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A value of any JSON type or a few others JavaScript has.
    fn value(&mut self, depth: u32) -> JsValue {
        match self.below(if depth > 2 { 9 } else { 11 }) {
            0 => JsValue::UNDEFINED,
            1 => JsValue::NULL,
            2 => JsValue::from(self.below(2) == 0),
            3 => JsValue::from(self.next() as f64 / 7.0 - 1e15),
            4 => JsValue::from([-1.0, 0.0, 1.0, 0.5, 9e15, f64::NAN, f64::INFINITY][self.below(7)]),
            5 => JsValue::from(self.text()),
            6 => JsValue::from(["tabwire", "announce", "hello", "relay", "event", "done", "bye"][self.below(7)]),
            7 => JsValue::from(js_sys::Uint8Array::new_with_length(self.below(8) as u32).buffer()),
            8 => JsValue::from(["state", "open", "publication", "close", "gap", "t", "j", "b", "p"][self.below(9)]),
            9 => (0..self.below(4)).map(|_| self.value(depth + 1)).collect::<Array>().into(),
            _ => {
                let object = Object::new();
                for _ in 0..self.below(4) {
                    let key = self.key();
                    Reflect::set(&object, &key.into(), &self.value(depth + 1)).unwrap();
                }
                object.into()
            }
        }
    }

    fn text(&mut self) -> String {
        let alphabet = ['a', '{', '}', '"', ':', ',', '0', '-', '\u{e9}', '\u{1f600}', ' ', '\\'];
        (0..self.below(12)).map(|_| alphabet[self.below(alphabet.len())]).collect()
    }

    /// A field name tabwire uses, mostly, or another.
    fn key(&mut self) -> String {
        const KEYS: [&str; 20] = [
            "tabwire", "kind", "epoch", "tab", "state", "tabs", "channels", "offsets", "id", "as", "data", "created",
            "event", "acknowledged", "rejected", "channel", "messages", "protocol", "reason", "numbering",
        ];
        if self.below(5) == 0 { self.text() } else { KEYS[self.below(KEYS.len())].to_owned() }
    }
}

/// One of each message a tab posts, encoded as a tab encodes it.
fn every_kind() -> Vec<JsValue> {
    let state = StateChange { state: ConnectionState::Reconnecting, attempt: 2, retry_at_ms: Some(5.0), close: None };
    let close = CloseInfo { code: 1006, reason: "gone".to_owned(), clean: false, will_reconnect: true };
    let data = || Frame::json(js_sys::JsString::from("{\"a\":1}"));
    let peers = vec![
        Peer::Announce { epoch: 3, tab: "tab00001".to_owned(), state: ConnectionState::Open, tabs: 2, open: Some((Mode::Tabwire, Transport::Sse)) },
        Peer::Announce { epoch: 3, tab: "tab00001".to_owned(), state: ConnectionState::Reconnecting, tabs: 3, open: None },
        Peer::Hello {
            tab: "tab00002".to_owned(),
            channels: vec!["x".to_owned(), "y".to_owned()],
            positions: vec![
                ("x".to_owned(), Position { offset: 4, epoch: Some("e1xq".to_owned()) }),
                ("y".to_owned(), Position { offset: 0, epoch: None }),
            ],
        },
        Peer::Bye { tab: "tab00002".to_owned() },
        Peer::Relay { id: "1-tab00002-00000001".to_owned(), payload: data(), created_ms: 1.0 },
        Peer::Event { epoch: 3, event: Event::State(state) },
        Peer::Event { epoch: 3, event: Event::Close(close) },
        Peer::Event { epoch: 3, event: Event::Open { attempt: 1, mode: Mode::Raw, transport: Transport::WebSocket } },
        Peer::Event { epoch: 3, event: Event::Open { attempt: 0, mode: Mode::Tabwire, transport: Transport::Polling } },
        Peer::Event {
            epoch: 3,
            event: Event::Publication { channel: "x".to_owned(), offset: Some(5), epoch: None, payload: data() },
        },
        Peer::Event {
            epoch: 3,
            event: Event::Publication { channel: "x".to_owned(), offset: Some(6), epoch: Some("e2".to_owned()), payload: data() },
        },
        Peer::Event {
            epoch: 3,
            event: Event::Subscribed { channel: "x".to_owned(), offset: 5, epoch: Some("e2".to_owned()) },
        },
        Peer::Event {
            epoch: 3,
            event: Event::Gap {
                channel: "x".to_owned(),
                since: 1,
                from: 9,
                reason: GapReason::Reset,
                epoch: Some("e2".to_owned()),
            },
        },
        Peer::Done { epoch: 3, id: "1-tab00002-00000001".to_owned(), outcome: Outcome::Acknowledged },
        Peer::Done {
            epoch: 3,
            id: "1-tab00002-00000002".to_owned(),
            outcome: Outcome::Rejected { code: "forbidden".to_owned(), message: "no".to_owned() },
        },
    ];
    peers.into_iter().map(encode).collect()
}

/// A shallow copy of `message` with one field deleted, or replaced.
fn mutate(random: &mut Random, message: &JsValue) -> JsValue {
    let copy = Object::assign(&Object::new(), message.unchecked_ref());
    let keys = Object::keys(&copy);
    let key = match random.below(3) {
        0 if keys.length() > 0 => keys.get(random.below(keys.length() as usize) as u32),
        _ => JsValue::from(random.key()),
    };
    if random.below(4) == 0 {
        Reflect::delete_property(&copy, &key).unwrap();
    } else {
        Reflect::set(&copy, &key, &random.value(0)).unwrap();
    }
    copy.into()
}

#[wasm_bindgen_test]
fn every_message_a_tab_posts_decodes_back_to_itself() {
    for message in every_kind() {
        let decoded = decode(&message).unwrap_or_else(|error| panic!("{error}: {:?}", JSON::stringify(&message)));
        let again = encode(decoded);
        assert_eq!(JSON::stringify(&again).unwrap(), JSON::stringify(&message).unwrap());
    }
}

#[wasm_bindgen_test]
fn a_batch_decodes_to_its_messages_in_order() {
    let messages = every_kind();
    let posted = batch(messages.iter().cloned().collect());
    let decoded: Vec<String> = decoded_post(&posted)
        .into_iter()
        .map(|peer| JSON::stringify(&encode(peer.expect("every message of the batch"))).unwrap().into())
        .collect();
    let expected: Vec<String> = messages.iter().map(|message| JSON::stringify(message).unwrap().into()).collect();
    assert_eq!(decoded, expected);
    // A single message is one post of its own.
    assert_eq!(decoded_post(&messages[0]).len(), 1);
}

#[wasm_bindgen_test]
fn a_batch_refuses_its_bad_messages_and_keeps_the_rest() {
    let good = every_kind().remove(0);
    let inner = batch([good.clone()].into_iter().collect());
    let posted = batch([good.clone(), JsValue::from("foreign"), inner, good].into_iter().collect());
    let decoded = decoded_post(&posted);
    assert_eq!(decoded.len(), 4);
    assert!(decoded[0].is_ok() && decoded[3].is_ok());
    assert!(decoded[1].as_ref().is_err_and(|reason| reason.contains("not tabwire's")), "{:?}", decoded[1]);
    assert!(decoded[2].as_ref().is_err_and(|reason| reason.contains("batch inside a batch")), "{:?}", decoded[2]);
    let not_a_list = batch(Array::new());
    Reflect::set(&not_a_list, &"messages".into(), &"none".into()).unwrap();
    let refused = decoded_post(&not_a_list);
    assert!(refused.len() == 1 && refused[0].as_ref().is_err_and(|reason| reason.contains("\"messages\"")));
}

#[wasm_bindgen_test]
fn mangled_tab_messages_are_refused_or_read_never_a_panic() {
    let mut random = Random(0x7ab_3e7);
    let kinds = every_kind();
    let (mut read, mut refused) = (0, 0);
    for _ in 0..ROUNDS {
        let mut message = kinds[random.below(kinds.len())].clone();
        for _ in 0..=random.below(3) {
            message = mutate(&mut random, &message);
        }
        match decode(&message) {
            Ok(_) => read += 1,
            Err(reason) => {
                assert!(!reason.is_empty(), "a refusal says why");
                refused += 1;
            }
        }
        // Not even an object, sometimes.
        let _ = decode(&random.value(0));
        // A batch of one, its envelope mangled too.
        let posted = mutate(&mut random, &batch([message].into_iter().collect()));
        for refusal in decoded_post(&posted).into_iter().filter_map(Result::err) {
            assert!(!refusal.is_empty(), "a refusal says why: {:?}", JSON::stringify(&posted));
        }
    }
    assert!(read > 0 && refused > 0, "both kinds reached: {read} read, {refused} refused");
}

#[wasm_bindgen_test]
fn any_frame_from_a_server_is_classified_never_a_panic() {
    let mut random = Random(0x5e2_7e2);
    let frames = [
        r#"{"type":"pong"}"#,
        r#"{"type":"ack","id":"1-tab00001-00000001"}"#,
        r#"{"type":"error","code":"forbidden","id":"1","message":"no"}"#,
        r#"{"type":"error","code":"forbidden","channel":"x","message":"no"}"#,
        r#"{"type":"pub","channel":"x","offset":5,"data":{"nav":1}}"#,
        r#"{"type":"subscribed","channel":"x","offset":5,"epoch":"e1"}"#,
        r#"{"type":"unsubscribed","channel":"x"}"#,
        r#"{"type":"gap","channel":"x","since":1,"from":9,"reason":"reset","epoch":"e2"}"#,
        r#"{"type":"hello","protocol":"tabwire.v1","session":"s1","time":1}"#,
    ];
    for _ in 0..ROUNDS {
        let frame = JSON::parse(frames[random.below(frames.len())]).unwrap();
        let mangled = mutate(&mut random, &frame);
        let text = JSON::stringify(&mangled).map(JsValue::from).unwrap_or_else(|_| random.text().into());
        let _ = classify(&text);
        // Text that is not JSON, or JSON cut short.
        let cut: String = text.as_string().unwrap_or_default().chars().take(random.below(40)).collect();
        let _ = classify(&JsValue::from(cut));
        let _ = classify(&JsValue::from(random.text()));
    }
}

/// Ids that another tab (or anything on the channel) hands over go into
/// this tab's `msg` frames: only ids of the form tabwire makes are taken,
/// and whatever is taken comes out of the envelope as the same string.
#[wasm_bindgen_test]
fn hostile_ids_from_other_tabs_are_refused_and_every_taken_one_stays_one_json_string() {
    let relay = |id: &str| {
        let frame = Frame::json(js_sys::JsString::from("{\"a\":1}"));
        let message = encode(Peer::Relay { id: "1-tab00002-00000001".to_owned(), payload: frame, created_ms: 1.0 });
        Reflect::set(&message, &"id".into(), &id.into()).unwrap();
        decode(&message)
    };
    let hostile = [
        r#"x","publish":{"channel":"admin","data":1},"y":""#,
        "a\\\"b",
        "line\nbreak",
        "",
        &"9".repeat(129),
        "\u{1f600}",
        "tab id",
    ];
    for id in hostile {
        let refused = relay(id).expect_err(id);
        assert!(refused.contains("\"id\""), "{refused}");
    }
    let mut random = Random(0x1d5_0f1d);
    let mut taken = 0;
    for _ in 0..ROUNDS {
        let id: String = (0..random.below(140)).map(|_| ['a', 'Z', '0', '-', '_', '.', ':', '"', '\\', '{', ' '][random.below(11)]).collect();
        let Ok(Peer::Relay { id, payload, .. }) = relay(&id) else { continue };
        taken += 1;
        let frame = JSON::parse(&envelope(&id, &payload).as_string().unwrap()).expect("the envelope is JSON");
        assert_eq!(Reflect::get(&frame, &"id".into()).unwrap().as_string(), Some(id.clone()));
        assert_eq!(Object::keys(frame.unchecked_ref::<Object>()).length(), 3, "type, id, data: nothing smuggled in");
    }
    assert!(taken > 0);
}

use super::*;

#[test]
fn heartbeat_ping_gets_pong_and_is_not_recorded() {
    assert_eq!(
        decide(Message::Text(PING.into())),
        Action {
            reply: Message::Text(PONG.into()),
            record: None
        }
    );
}

#[test]
fn ping_must_match_exactly() {
    let spaced = r#"{"type": "ping"}"#;
    assert_eq!(
        decide(Message::Text(spaced.into())),
        Action {
            reply: Message::Text(spaced.into()),
            record: Some(spaced.to_owned())
        }
    );
}

#[test]
fn pong_text_from_client_is_echoed() {
    assert_eq!(
        decide(Message::Text(PONG.into())),
        Action {
            reply: Message::Text(PONG.into()),
            record: Some(PONG.to_owned())
        }
    );
}

#[test]
fn text_is_echoed_and_recorded() {
    assert_eq!(
        decide(Message::Text("hello".into())),
        Action {
            reply: Message::Text("hello".into()),
            record: Some("hello".to_owned())
        }
    );
}

#[test]
fn empty_text_is_echoed_and_recorded() {
    assert_eq!(
        decide(Message::Text("".into())),
        Action {
            reply: Message::Text("".into()),
            record: Some(String::new())
        }
    );
}

#[test]
fn binary_is_echoed_as_binary_and_recorded_by_size() {
    assert_eq!(
        decide(Message::Binary(vec![1u8, 2, 3])),
        Action {
            reply: Message::Binary(vec![1u8, 2, 3]),
            record: Some("<binary 3 bytes>".to_owned())
        }
    );
}

#[test]
fn binary_ping_text_is_not_a_heartbeat() {
    let frame = Message::Binary(PING.as_bytes().to_vec());
    assert_eq!(
        decide(frame.clone()),
        Action {
            reply: frame,
            record: Some(format!("<binary {} bytes>", PING.len()))
        }
    );
}

// Protocol mode.

fn protocol(frame: &str) -> ProtocolAction {
    decide_protocol(&Message::Text(frame.into()))
}

fn delivery(id: &str, echo: Message, record: &str) -> ProtocolAction {
    ProtocolAction::Deliver(Delivery {
        id: id.to_owned(),
        handling: Handling::Echo(echo),
        record: record.to_owned(),
    })
}

/// The error message of the `bad_frame` answer to `frame`.
fn refusal(frame: &Message) -> String {
    let ProtocolAction::Reply(Message::Text(reply)) = decide_protocol(frame) else {
        panic!("{frame:?} was not refused");
    };
    let reply: serde_json::Value = serde_json::from_str(reply.as_str()).expect("JSON error");
    assert_eq!(reply["type"], "error", "{frame:?} got {reply}");
    assert_eq!(reply["code"], "bad_frame", "{reply}");
    match reply["message"].as_str() {
        Some(message) => message.to_owned(),
        None => panic!("no message in {reply}"),
    }
}

fn refusal_of(frame: &str) -> String {
    refusal(&Message::Text(frame.into()))
}

#[test]
fn protocol_ping_in_any_formatting_gets_pong() {
    for ping in [
        PING,
        r#" { "type" : "ping" } "#,
        "{\n\"type\":\"ping\"}",
        r#"{"type":"ping","t":1}"#,
    ] {
        assert_eq!(
            protocol(ping),
            ProtocolAction::Reply(Message::Text(PONG.into())),
            "{ping}"
        );
    }
}

#[test]
fn msg_with_data_keeps_the_raw_json() {
    let frame = r#"{"type":"msg","id":"1","data": {"b":1, "a":2} }"#;
    assert_eq!(
        protocol(frame),
        delivery(
            "1",
            Message::Text(r#"{"b":1, "a":2}"#.into()),
            r#"{"b":1, "a":2}"#
        )
    );
    // Any JSON value is data, null included; fields may come in any order.
    for (frame, data) in [
        (r#"{"data":null,"id":"x","type":"msg"}"#, "null"),
        (r#"{"type":"msg","id":"x","data":"s"}"#, r#""s""#),
        (r#"{"type":"msg","id":"x","data":[1, 2.50]}"#, "[1, 2.50]"),
        (r#"{"type":"msg","id":"x","data":false}"#, "false"),
        (r#"{"type":"msg","id":"x","data":"\u00e9"}"#, r#""\u00e9""#),
    ] {
        assert_eq!(
            protocol(frame),
            delivery("x", Message::Text(data.into()), data),
            "{frame}"
        );
    }
}

#[test]
fn msg_with_text_is_unescaped() {
    assert_eq!(
        protocol(r#"{"type":"msg","id":"t-1","text":"hi \"there\"\n"}"#),
        delivery(
            "t-1",
            Message::Text("hi \"there\"\n".into()),
            "hi \"there\"\n"
        )
    );
    assert_eq!(
        protocol(r#"{"type":"msg","id":"e","text":""}"#),
        delivery("e", Message::Text("".into()), "")
    );
    // A text payload that looks like a ping is still a message.
    assert_eq!(
        protocol(r#"{"type":"msg","id":"p","text":"{\"type\":\"ping\"}"}"#),
        delivery("p", Message::Text(PING.into()), PING)
    );
}

#[test]
fn msg_with_binary_is_decoded() {
    assert_eq!(
        protocol(r#"{"type":"msg","id":"b","binary":"AQID/w=="}"#),
        delivery(
            "b",
            Message::Binary(vec![1u8, 2, 3, 255]),
            "<binary 4 bytes>"
        )
    );
    assert_eq!(
        protocol(r#"{"type":"msg","id":"b0","binary":""}"#),
        delivery("b0", Message::Binary(Vec::new()), "<binary 0 bytes>")
    );
}

#[test]
fn ids_are_unescaped_and_unknown_fields_ignored() {
    assert_eq!(
        protocol(r#"{"type":"msg","id":"a\"b\u00e9","text":"x","ts":5}"#),
        delivery("a\"b\u{e9}", Message::Text("x".into()), "x")
    );
}

#[test]
fn not_json_or_not_an_object_is_refused() {
    for frame in [
        "",
        "hello",
        "{",
        "[",
        r#"{"type":"ping"} x"#,
        r#"{"type":"ping",}"#,
        "\u{a0}{}",
    ] {
        assert!(
            refusal_of(frame).starts_with("frame: not JSON"),
            "{frame:?}"
        );
    }
    for frame in [
        "5",
        "null",
        r#""ping""#,
        r#"["ping"]"#,
        r#"["msg","1",null,"x"]"#,
        " true ",
    ] {
        assert_eq!(refusal_of(frame), "frame: not a JSON object", "{frame:?}");
    }
}

#[test]
fn type_must_be_a_known_string() {
    assert_eq!(refusal_of("{}"), "type: missing");
    assert_eq!(refusal_of(r#"{"id":"1","text":"x"}"#), "type: missing");
    assert!(refusal_of(r#"{"type":null}"#).starts_with("type: not a string"));
    assert!(refusal_of(r#"{"type":1}"#).starts_with("type: not a string"));
    for kind in ["pong", "ack", "error", "Ping", "", "message"] {
        let message = refusal_of(&format!(r#"{{"type":"{kind}","id":"1","text":"x"}}"#));
        assert!(
            message.starts_with(&format!("type: \"{kind}\" ")),
            "{message}"
        );
    }
}

#[test]
fn msg_needs_a_non_empty_string_id() {
    assert_eq!(refusal_of(r#"{"type":"msg","text":"x"}"#), "id: missing");
    assert_eq!(
        refusal_of(r#"{"type":"msg","id":"","text":"x"}"#),
        "id: empty"
    );
    for (id, kind) in [
        ("null", "null"),
        ("1", "a number"),
        ("-2.5e3", "a number"),
        ("true", "a boolean"),
        ("[\"a\"]", "an array"),
        ("{}", "an object"),
    ] {
        let message = refusal_of(&format!(r#"{{"type":"msg","id":{id},"text":"x"}}"#));
        assert_eq!(message, format!("id: not a string but {kind}"), "{id}");
    }
}

#[test]
fn msg_needs_exactly_one_payload() {
    assert_eq!(
        refusal_of(r#"{"type":"msg","id":"1"}"#),
        "data, text, binary: a msg needs exactly one of them (or publish), got none"
    );
    assert_eq!(
        refusal_of(r#"{"type":"msg","id":"1","data":1,"text":"x"}"#),
        "data, text, binary: a msg needs exactly one of them (or publish), got data and text"
    );
    assert_eq!(
        refusal_of(r#"{"type":"msg","id":"1","data":null,"text":"x","binary":""}"#),
        "data, text, binary: a msg needs exactly one of them (or publish), got data and text and binary"
    );
}

#[test]
fn text_and_binary_must_be_strings() {
    assert!(refusal_of(r#"{"type":"msg","id":"1","text":5}"#).starts_with("text: not a string"));
    assert!(refusal_of(r#"{"type":"msg","id":"1","text":null}"#).starts_with("text: not a string"));
    assert!(
        refusal_of(r#"{"type":"msg","id":"1","binary":[1]}"#).starts_with("binary: not a string")
    );
}

#[test]
fn binary_must_be_padded_standard_base64() {
    for bad in ["AQI", "AQ-_", "AQID/w", "AQ==AQ==", "AQ ID"] {
        let message = refusal_of(&format!(r#"{{"type":"msg","id":"1","binary":"{bad}"}}"#));
        assert!(
            message.starts_with("binary: not standard base64"),
            "{bad}: {message}"
        );
    }
}

#[test]
fn repeated_fields_are_refused() {
    let message = refusal_of(r#"{"type":"msg","id":"1","id":"2","text":"x"}"#);
    assert!(message.contains("duplicate field `id`"), "{message}");
    let message = refusal_of(r#"{"type":"msg","type":"msg","id":"1","text":"x"}"#);
    assert!(message.contains("duplicate field `type`"), "{message}");
}

#[test]
fn binary_frames_are_refused_in_protocol_mode() {
    let message = refusal(&Message::Binary(PING.as_bytes().to_vec()));
    assert!(message.contains("binary WebSocket frames"), "{message}");
    assert!(refusal(&Message::Binary(Vec::new())).starts_with("frame:"));
}

#[test]
fn subscribe_and_unsubscribe_name_a_channel() {
    let frame = |text: &str| decide_protocol(&Message::Text(text.to_owned()));
    assert_eq!(
        frame(r#"{"type":"subscribe","channel":"nav:FUND-1"}"#),
        ProtocolAction::Subscribe {
            channel: "nav:FUND-1".to_owned(),
            since: None
        }
    );
    assert_eq!(
        frame(r#"{"type":"subscribe","channel":"x","since":41}"#),
        ProtocolAction::Subscribe {
            channel: "x".to_owned(),
            since: Some(Since {
                offset: 41,
                epoch: None
            })
        }
    );
    assert_eq!(
        frame(r#"{"channel":"x","type":"unsubscribe"}"#),
        ProtocolAction::Unsubscribe("x".to_owned())
    );
    let long = "c".repeat(MAX_CHANNEL_BYTES + 1);
    for (text, problem) in [
        (r#"{"type":"subscribe"}"#.to_owned(), "channel: missing"),
        (
            r#"{"type":"subscribe","channel":7}"#.to_owned(),
            "channel: not a string but a number",
        ),
        (
            r#"{"type":"unsubscribe","channel":""}"#.to_owned(),
            "channel: empty",
        ),
        (
            format!(r#"{{"type":"subscribe","channel":"{long}"}}"#),
            "channel: 201 bytes; at most 200 are allowed",
        ),
    ] {
        assert_eq!(
            frame(&text),
            ProtocolAction::Reply(bad_frame(problem)),
            "{text}"
        );
    }
    let longest = "c".repeat(MAX_CHANNEL_BYTES);
    assert_eq!(
        frame(&format!(r#"{{"type":"subscribe","channel":"{longest}"}}"#)),
        ProtocolAction::Subscribe {
            channel: longest,
            since: None
        }
    );
}

#[test]
fn a_msg_may_publish_to_a_channel_instead() {
    let frame = |text: &str| decide_protocol(&Message::Text(text.to_owned()));
    assert_eq!(
        frame(r#"{"type":"msg","id":"p1","publish":{"channel":"nav:1","data":{"nav":1.5}}}"#),
        ProtocolAction::Deliver(Delivery {
            id: "p1".to_owned(),
            handling: Handling::Publish {
                channel: "nav:1".to_owned(),
                data: r#"{"nav":1.5}"#.to_owned()
            },
            record: r#"{"nav":1.5}"#.to_owned(),
        })
    );
    for (text, problem) in [
        (
            r#"{"type":"msg","id":"p","publish":{"data":1}}"#,
            "publish: not an object with a string channel and a data",
        ),
        (
            r#"{"type":"msg","id":"p","publish":{"channel":"","data":1}}"#,
            "channel: empty",
        ),
        (
            r#"{"type":"msg","id":"p","publish":{"channel":"x","data":1},"data":2}"#,
            "publish: a msg with publish has no data, text or binary",
        ),
    ] {
        assert_eq!(
            frame(text),
            ProtocolAction::Reply(bad_frame(problem)),
            "{text}"
        );
    }
}

#[test]
fn a_client_hello_names_the_client() {
    for frame in [
        r#"{"type":"hello","protocol":"tabwire.v1","client":"tab-A_1"}"#,
        r#"{"client":"tab-A_1","type":"hello"}"#,
    ] {
        assert_eq!(protocol(frame), ProtocolAction::Hello("tab-A_1".to_owned()));
    }
    let longest = "c".repeat(MAX_NAME_CHARS);
    assert_eq!(
        protocol(&format!(r#"{{"type":"hello","client":"{longest}"}}"#)),
        ProtocolAction::Hello(longest)
    );
    let form = "client: 1 to 64 characters of A-Z, a-z, 0-9, _ and -";
    let too_long = "c".repeat(MAX_NAME_CHARS + 1);
    for (client, problem) in [
        ("", form),
        ("a b", form),
        ("caf\\u00e9", form),
        ("a.b", form),
        (too_long.as_str(), form),
    ] {
        let frame = format!(r#"{{"type":"hello","protocol":"tabwire.v1","client":"{client}"}}"#);
        assert_eq!(refusal_of(&frame), problem, "{frame}");
    }
    assert_eq!(refusal_of(r#"{"type":"hello"}"#), "client: missing");
    assert_eq!(
        refusal_of(r#"{"type":"hello","client":7}"#),
        "client: not a string but a number"
    );
    assert_eq!(
        refusal_of(r#"{"type":"hello","protocol":"tabwire.v2","client":"a"}"#),
        r#"protocol: "tabwire.v2" is not spoken here (expected "tabwire.v1")"#
    );
}

#[test]
fn a_subscribe_may_name_the_epoch_of_its_since() {
    assert_eq!(
        protocol(r#"{"type":"subscribe","channel":"x","since":5,"epoch":"Ab-9_z"}"#),
        ProtocolAction::Subscribe {
            channel: "x".to_owned(),
            since: Some(Since {
                offset: 5,
                epoch: Some("Ab-9_z".to_owned())
            })
        }
    );
    // Without since, the epoch means nothing, but must still be well-formed.
    assert_eq!(
        protocol(r#"{"type":"subscribe","channel":"x","epoch":"e"}"#),
        ProtocolAction::Subscribe {
            channel: "x".to_owned(),
            since: None
        }
    );
    let form = "epoch: 1 to 64 characters of A-Z, a-z, 0-9, _ and -";
    for epoch in [
        r#""""#,
        r#""a/b""#,
        "null",
        "7",
        &format!(r#""{}""#, "e".repeat(65)),
    ] {
        let frame = format!(r#"{{"type":"subscribe","channel":"x","since":1,"epoch":{epoch}}}"#);
        let message = refusal_of(&frame);
        assert!(
            message == form || message.starts_with("epoch: not a string"),
            "{frame}: {message}"
        );
    }
}

#[test]
fn ids_are_at_most_128_bytes() {
    let longest = "i".repeat(MAX_ID_BYTES);
    let frame = format!(r#"{{"type":"msg","id":"{longest}","text":"x"}}"#);
    assert!(matches!(protocol(&frame), ProtocolAction::Deliver(_)));
    // 129 bytes, counted in UTF-8 once unescaped: 127 + "é" (2 bytes).
    let over = format!("{}\\u00e9", "i".repeat(127));
    let frame = format!(r#"{{"type":"msg","id":"{over}","text":"x"}}"#);
    assert_eq!(refusal_of(&frame), "id: 129 bytes; at most 128 are allowed");
    let ProtocolAction::Reply(Message::Text(reply)) = protocol(&frame) else {
        panic!("refused");
    };
    assert!(!reply.contains(r#""id""#), "the id is not echoed: {reply}");
}

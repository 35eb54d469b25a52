use crate::core::sse::{EventReader, ServerEvent};

fn message(data: &str) -> ServerEvent {
    ServerEvent {
        kind: None,
        data: data.to_owned(),
    }
}

#[test]
fn events_are_dispatched_at_blank_lines_with_their_data_lines_joined() {
    let mut reader = EventReader::default();
    let text = "data: {\"type\":\"hello\"}\n\n: keep-alive\n\nevent: binary\ndata: AQID\n\ndata: a\ndata:b\n\n";
    let events = reader.push(text);
    assert_eq!(
        events,
        [
            message(r#"{"type":"hello"}"#),
            ServerEvent {
                kind: Some("binary".to_owned()),
                data: "AQID".to_owned()
            },
            message("a\nb"),
        ]
    );
}

/// The stream arrives in chunks cut anywhere: every cut gives the same events.
#[test]
fn chunks_cut_anywhere_give_the_same_events() {
    let text =
        "data: one\r\n\r\nevent: close\r\ndata: {\"code\":1000}\r\n\r\ndata: é✓\rdata: two\r\r";
    let whole = EventReader::default().push(text);
    assert_eq!(whole.len(), 3);
    assert_eq!(whole[2], message("é✓\ntwo"));
    let bytes: Vec<(usize, char)> = text.char_indices().collect();
    for (cut, _) in bytes {
        let mut reader = EventReader::default();
        let mut events = reader.push(&text[..cut]);
        events.extend(reader.push(&text[cut..]));
        assert_eq!(events, whole, "cut at {cut}");
    }
    // One character at a time.
    let mut reader = EventReader::default();
    let events: Vec<ServerEvent> = text
        .chars()
        .flat_map(|c| reader.push(&c.to_string()))
        .collect();
    assert_eq!(events, whole);
}

#[test]
fn an_event_without_data_and_unknown_fields_are_dropped() {
    let mut reader = EventReader::default();
    assert!(reader
        .push("event: close\n\nid: 7\nretry: 10\n\n")
        .is_empty());
    assert_eq!(reader.push("data\n\n"), [message("")]);
    assert!(
        reader.push("data: half").is_empty(),
        "not complete before its blank line"
    );
    assert_eq!(reader.push("\n\n"), [message("half")]);
}

use proptest::prelude::*;

use crate::core::base64;
use crate::core::record::{decode, header, id_prefix, is_message_id, sort, PayloadKind, RecordError, StoredValue};

#[test]
fn base64_matches_the_rfc_vectors() {
    for (plain, encoded) in
        [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
    {
        assert_eq!(base64::encode(plain.as_bytes()), encoded);
        assert_eq!(base64::decode(encoded).unwrap(), plain.as_bytes());
    }
}

#[test]
fn bad_base64_is_refused() {
    for text in ["Zg=", "Zg=a", "Z===", "Zm9v!A==", "Zg==Zg=="] {
        assert!(base64::decode(text).is_err(), "{text}");
    }
}

proptest! {
    #[test]
    fn binary_bodies_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        prop_assert_eq!(base64::decode(&base64::encode(&bytes)).unwrap(), bytes);
    }

    #[test]
    fn any_text_round_trips(body in ".*", created in 0i64..4_000_000_000_000, attempts in 0u32..1000) {
        let value = header(created as f64, attempts, PayloadKind::Text) + &body;
        let expected = StoredValue { created_epoch_ms: created as f64, attempts, kind: PayloadKind::Text, body };
        prop_assert_eq!(decode(&value), Ok(expected));
    }

    #[test]
    fn decoding_anything_never_panics(value in ".*") {
        let _ = decode(&value);
    }
}

#[test]
fn a_body_may_hold_the_separator() {
    let value = header(1.0, 2, PayloadKind::Json) + r#"{"a":"x|y"}"#;
    assert_eq!(decode(&value).unwrap().body, r#"{"a":"x|y"}"#);
}

#[test]
fn corrupted_values_say_what_is_wrong() {
    assert_eq!(decode("hello"), Err(RecordError::UnknownFormat));
    assert_eq!(decode("tw2|1|0|t|x"), Err(RecordError::UnknownFormat));
    assert!(matches!(decode("tw1|soon|0|t|x"), Err(RecordError::BadField { field: "created", .. })));
    assert!(matches!(decode("tw1|1|-1|t|x"), Err(RecordError::BadField { field: "attempts", .. })));
    assert!(matches!(decode("tw1|1|0|z|x"), Err(RecordError::BadField { field: "kind", .. })));
    assert!(matches!(decode("tw1|1|0"), Err(RecordError::BadField { field: "kind", .. })));
    assert!(matches!(decode("tw1|1|0|b|not base64"), Err(RecordError::BadBase64 { .. })));
}

#[test]
fn ids_sort_in_send_order_and_are_recognised() {
    let first = id_prefix(1_763_790_000_000.4, "k3x9f2ab");
    assert_eq!(first, "1763790000000-k3x9f2ab-");
    let id = |seq: u32| format!("{first}{seq:08}");
    assert!(id(9) < id(10));
    assert!(is_message_id(&id(1)));
    for bad in ["", "x", "1763790000000-K3X9F2AB-00000001", "1763790000000-k3x9f2ab-1", "176379000000-k3x9f2ab-00000001"] {
        assert!(!is_message_id(bad), "{bad}");
    }
}

#[test]
fn a_scan_sorts_by_id_and_sets_aside_what_it_cannot_read() {
    let value = |text: &str| header(1_700_000_000_000.0, 0, PayloadKind::Text) + text;
    let found = vec![
        ("1700000000002-tab00001-00000001".to_owned(), value("later load")),
        ("garbage".to_owned(), value("under a key that is no id")),
        ("1700000000001-tab00001-00000002".to_owned(), value("second")),
        ("1700000000001-tab00001-00000003".to_owned(), "not a record".to_owned()),
        ("1700000000001-tab00001-00000001".to_owned(), value("first")),
    ];
    let sorted = sort(found);
    let bodies: Vec<&str> = sorted.messages.iter().map(|(_, stored)| stored.body.as_str()).collect();
    assert_eq!(bodies, ["first", "second", "later load"]);
    assert_eq!(
        sorted.skipped,
        [
            ("1700000000001-tab00001-00000003".to_owned(), RecordError::UnknownFormat),
            ("garbage".to_owned(), RecordError::BadId { id: "garbage".to_owned() }),
        ]
    );
}

use crate::core::json_string::quoted;

#[test]
fn plain_text_is_only_quoted() {
    assert_eq!(quoted("1763790000000-k3x9f2ab-00000007"), r#""1763790000000-k3x9f2ab-00000007""#);
    assert_eq!(quoted(""), r#""""#);
    assert_eq!(quoted("nav:FUND-1 é ✓"), "\"nav:FUND-1 é ✓\"");
}

#[test]
fn quotes_backslashes_and_control_characters_are_escaped() {
    assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
    assert_eq!(quoted("line\nbreak\u{1f}"), r#""line\u000abreak\u001f""#);
    // An id that tries to close the string and add a field stays one string.
    let hostile = r#"x","publish":{"channel":"admin"}"#;
    assert_eq!(quoted(hostile), r#""x\",\"publish\":{\"channel\":\"admin\"}""#);
}

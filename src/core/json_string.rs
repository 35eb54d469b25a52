//! JSON string literals of text the client puts in frames it writes itself
//! (ids, channel names, tokens, client names), escaped here rather than by
//! a call into JavaScript for each: every frame that carries an id needs one.

/// `text` as a JSON string literal: quotes, backslashes and control
/// characters escaped, everything else as it is (JSON allows it). Bytes,
/// not chars: what is escaped is ASCII, and the rest is copied in runs.
pub fn quoted(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('"');
    let mut copied = 0;
    for (index, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            control if control < 0x20 => "\\u00",
            _ => continue,
        };
        // `get`, not indexing: the run ends before an ASCII byte, a char
        // boundary, and indexing would link the panic for one that is not.
        literal.push_str(text.get(copied..index).unwrap_or_default());
        literal.push_str(escape);
        if byte < 0x20 {
            literal.push(char::from(HEX[usize::from(byte >> 4)]));
            literal.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        copied = index + 1;
    }
    literal.push_str(text.get(copied..).unwrap_or_default());
    literal.push('"');
    literal
}

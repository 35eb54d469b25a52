//! JSON string literals of text the client puts in frames it writes itself
//! (ids, channel names, tokens, client names), escaped here rather than by
//! a call into JavaScript for each: every frame that carries an id needs one.

/// `text` as a JSON string literal: quotes, backslashes and control
/// characters escaped, everything else as it is (JSON allows it).
pub fn quoted(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('"');
    for character in text.chars() {
        match character {
            '"' => literal.push_str("\\\""),
            '\\' => literal.push_str("\\\\"),
            control if u32::from(control) < 0x20 => {
                let code = u32::from(control) as usize;
                literal.push_str("\\u00");
                literal.push(char::from(HEX[code >> 4]));
                literal.push(char::from(HEX[code & 0xf]));
            }
            other => literal.push(other),
        }
    }
    literal.push('"');
    literal
}

//! Standard base64 (RFC 4648 section 4, `+` and `/`, with `=` padding), what
//! the browser's `btoa` produces: binary bodies in storage and in the
//! protocol's `msg` frames. Shared by the client and the reference server.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}


/// Decodes `text`, refusing anything that is not canonical padded base64:
/// a length that is not a multiple of 4, characters outside the alphabet,
/// misplaced padding, or non-zero bits after the last byte.
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    let quads = bytes.chunks_exact(4);
    if !quads.remainder().is_empty() {
        return Err(format!(
            "length {} is not a multiple of 4 (padding with `=` is required)",
            bytes.len()
        ));
    }
    let last = quads.len();
    let mut out = Vec::with_capacity(last * 3);
    for (index, quad) in quads.enumerate() {
        let padding = match quad {
            [.., b'=', b'='] => 2,
            [.., b'='] => 1,
            _ => 0,
        };
        if padding > 0 && index + 1 != last {
            return Err(format!(
                "padding `=` before the end, at offset {}",
                index * 4
            ));
        }
        let mut group: u32 = 0;
        for (offset, &byte) in quad[..4 - padding].iter().enumerate() {
            let Some(value) = sextet(byte) else {
                let at = index * 4 + offset;
                return Err(if byte.is_ascii_graphic() {
                    format!("invalid character '{}' at offset {at}", char::from(byte))
                } else {
                    format!("invalid byte 0x{byte:02x} at offset {at}")
                });
            };
            group = (group << 6) | u32::from(value);
        }
        group <<= 6 * padding;
        let [_, b0, b1, b2] = group.to_be_bytes();
        match padding {
            0 => out.extend_from_slice(&[b0, b1, b2]),
            1 if b2 == 0 => out.extend_from_slice(&[b0, b1]),
            2 if b1 == 0 && b2 == 0 => out.push(b0),
            _ => {
                return Err(format!(
                    "non-zero bits after the last byte, at offset {}",
                    index * 4
                ))
            }
        }
    }
    Ok(out)
}

/// The 6-bit value of one base64 character.
fn sextet(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4648_vectors() {
        for (encoded, decoded) in [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
        ] {
            assert_eq!(
                decode(encoded).as_deref(),
                Ok(decoded.as_bytes()),
                "{encoded}"
            );
        }
    }

    #[test]
    fn every_byte_and_both_special_characters() {
        assert_eq!(decode("AAEC/w==").as_deref(), Ok(&[0u8, 1, 2, 255][..]));
        assert_eq!(decode("+/+/").as_deref(), Ok(&[0xfb, 0xff, 0xbf][..]));
        // All 256 byte values, as encoded by a reference implementation.
        let all: Vec<u8> = (0..=255).collect();
        let encoded = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1\
            Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1u\
            b3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaan\
            qKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g\
            4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==";
        assert_eq!(decode(encoded), Ok(all));
    }

    #[test]
    fn malformed_input_is_refused() {
        for bad in [
            "Zg",       // unpadded
            "Zg=",      // short padding
            "Zm9vY",    // not a multiple of 4
            "Zg==Zg==", // padding in the middle
            "Z===",     // too much padding
            "====",     // only padding
            "Zm9v\n",   // whitespace
            "Zm-_",     // URL-safe alphabet
            "Zh==",     // non-zero trailing bits
            "Zm9=",     // non-zero trailing bits
            "Zé==",     // non-ASCII
        ] {
            assert!(decode(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(decode("Zm!v").is_err_and(|e| e.contains("'!' at offset 2")));
    }
}

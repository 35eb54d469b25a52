//! Random names: a page load's tab, a client's name for the server.

/// Eight characters naming this page load's tab among the others.
pub fn tab_id() -> String {
    random_name(8)
}

/// `length` random characters of `[0-9a-z]`.
pub fn random_name(length: usize) -> String {
    (0..length)
        .map(|_| {
            let digit = (js_sys::Math::random() * 36.0) as u32;
            char::from_digit(digit.min(35), 36).unwrap_or('0')
        })
        .collect()
}

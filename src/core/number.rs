//! Numbers in messages, written without core's float formatter.
//!
//! `{}` of an `f64` links Grisu and Dragon4 with their bignum tables, about
//! 18 KB of wasm, for numbers that only ever appear in error messages (an
//! option value, a timeout). The numbers come from JavaScript, so they are
//! written as JavaScript writes the common ones: whole numbers below 2^64
//! exactly, others to 15 significant digits (`0.1`, `1.5`, `1e-7`,
//! `1e+300`; beyond 1e21 and below 1e-6 the last digit may be one off),
//! `NaN`, `Infinity` and `-Infinity`.

use std::fmt;

/// An `f64` that displays as described in the module.
pub struct Number(pub f64);

/// The digits kept of a number that is not a whole number below 2^64:
/// every decimal of 15 digits or fewer comes back as it was written.
const SIGNIFICANT: i32 = 15;

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.0;
        if value.is_nan() {
            return f.write_str("NaN");
        }
        if value < 0.0 {
            f.write_str("-")?;
        }
        let magnitude = value.abs();
        if magnitude.is_infinite() {
            f.write_str("Infinity")
        } else if magnitude.fract() == 0.0 && magnitude < 18_446_744_073_709_551_616.0 {
            write!(f, "{}", magnitude as u64)
        } else {
            write_significant(f, magnitude)
        }
    }
}

/// `magnitude` (finite, above 0) to [`SIGNIFICANT`] digits, positional from
/// 1e-6 to below 1e21 and with an exponent otherwise, as JavaScript does.
fn write_significant(f: &mut fmt::Formatter<'_>, magnitude: f64) -> fmt::Result {
    let mut exponent = 0;
    while magnitude >= 10f64.powi(exponent + 1) {
        exponent += 1;
    }
    while magnitude < 10f64.powi(exponent) {
        exponent -= 1;
    }
    let mut digits = (times_power_of_ten(magnitude, SIGNIFICANT - 1 - exponent) + 0.5).floor() as u64;
    if digits >= 10u64.pow(SIGNIFICANT as u32) {
        // Rounded up to the next power of ten (9.9999999999999999).
        digits /= 10;
        exponent += 1;
    }
    let mut text = [b'0'; SIGNIFICANT as usize];
    for slot in text.iter_mut().rev() {
        *slot = b'0' + (digits % 10) as u8;
        digits /= 10;
    }
    let used = text.iter().rposition(|&digit| digit != b'0').map_or(1, |last| last + 1);
    let digits = &text[..used];
    let write = |f: &mut fmt::Formatter<'_>, digits: &[u8]| digits.iter().try_for_each(|&d| fmt::Write::write_char(f, d as char));
    if (-7 < exponent) && exponent < 21 {
        if exponent < 0 {
            f.write_str("0.")?;
            (0..-exponent - 1).try_for_each(|_| f.write_str("0"))?;
            return write(f, digits);
        }
        let whole = exponent as usize + 1;
        write(f, &digits[..whole.min(used)])?;
        (used..whole).try_for_each(|_| f.write_str("0"))?;
        if used > whole {
            f.write_str(".")?;
            write(f, &digits[whole..])?;
        }
        return Ok(());
    }
    write(f, &digits[..1])?;
    if used > 1 {
        f.write_str(".")?;
        write(f, &digits[1..])?;
    }
    write!(f, "e{}{}", if exponent < 0 { "-" } else { "+" }, exponent.unsigned_abs())
}

/// `value * 10^shift`, in steps that stay finite. From 1e-6 to 1e21, where
/// messages show their numbers, it is one exact power and one rounding.
fn times_power_of_ten(mut value: f64, mut shift: i32) -> f64 {
    while shift > 300 {
        value *= 1e300;
        shift -= 300;
    }
    while shift < -300 {
        value /= 1e300;
        shift += 300;
    }
    if shift >= 0 {
        value * 10f64.powi(shift)
    } else {
        value / 10f64.powi(-shift)
    }
}

use crate::core::number::Number;

fn shown(value: f64) -> String {
    Number(value).to_string()
}

#[test]
fn whole_numbers_are_written_exactly() {
    assert_eq!(shown(0.0), "0");
    assert_eq!(shown(-0.0), "0");
    assert_eq!(shown(5000.0), "5000");
    assert_eq!(shown(-5.0), "-5");
    assert_eq!(shown(9_007_199_254_740_993.0), "9007199254740992");
    assert_eq!(shown(18_446_744_073_709_549_568.0), "18446744073709549568");
}

#[test]
fn other_numbers_are_written_as_javascript_writes_them() {
    for (value, text) in [
        (0.5, "0.5"),
        (-0.5, "-0.5"),
        (0.1, "0.1"),
        (0.3, "0.3"),
        (1.5, "1.5"),
        (123.456, "123.456"),
        (0.999_999_99, "0.99999999"),
        (2.5e-6, "0.0000025"),
        (1e-7, "1e-7"),
        (1.25e-300, "1.25e-300"),
        (1e21, "1e+21"),
        (1e300, "1e+300"),
        (f64::MIN_POSITIVE, "2.2250738585072e-308"),
        (9.999_999_999_999_999, "10"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
    ] {
        assert_eq!(shown(value), text, "{value:e}");
    }
}

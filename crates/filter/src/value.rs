//! Runtime values and Java's comparison and number-parsing rules for them.

use std::cmp::Ordering;
use std::fmt;

use crate::error::EvaluationError;

/// A value met while evaluating: a literal, a property or an intermediate result.
///
/// These are the Java types a RocketMQ selector can produce: `Integer` and `Long` literals
/// (a decimal that fits 32 bits is an `Integer`), `Double`, `String`, `Boolean` and `null`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// `null`: a missing property or an unknown result.
    Null,
    /// `Boolean`.
    Bool(bool),
    /// `Integer`.
    Int(i32),
    /// `Long`.
    Long(i64),
    /// `Double`.
    Double(f64),
    /// `String`.
    Str(&'a str),
}

type EvalResult<T> = Result<T, EvaluationError>;

impl Value<'_> {
    /// Whether this is a Java `Number`.
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Long(_) | Value::Double(_))
    }

    /// `Object.equals` between two non-null values (same type and equal).
    pub(crate) fn java_equals(&self, other: &Value<'_>) -> bool {
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Long(a), Value::Long(b)) => a == b,
            (Value::Double(a), Value::Double(b)) => double_bits(*a) == double_bits(*b),
            (Value::Str(a), Value::Str(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Value<'_> {
    /// Java's `toString` of the boxed value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Long(l) => write!(f, "{l}"),
            Value::Double(d) => f.write_str(&java_double_to_string(*d)),
            Value::Str(s) => f.write_str(s),
        }
    }
}

/// `ComparisonExpression.__compare` with string conversion on, as the parser always sets it:
/// values of different types are converted toward each other, numeric strings included, and a
/// pair that cannot be converted orders as "less".
pub(crate) fn java_compare(lv: &Value<'_>, rv: &Value<'_>) -> EvalResult<Ordering> {
    use Value::*;
    Ok(match (*lv, *rv) {
        (Bool(a), Bool(b)) => a.cmp(&b),
        (Int(a), Int(b)) => a.cmp(&b),
        (Long(a), Long(b)) => a.cmp(&b),
        (Double(a), Double(b)) => double_compare(a, b),
        (Str(a), Str(b)) => a.cmp(b),
        // RocketMQ casts the Boolean itself to String here, which always throws
        (Bool(_), Str(_)) => {
            return Err(EvaluationError(
                "java.lang.ClassCastException: a Boolean cannot be compared with a String".into(),
            ))
        }
        (Int(a), Long(b)) => i64::from(a).cmp(&b),
        (Int(a), Double(b)) => double_compare(f64::from(a), b),
        (Int(a), Str(b)) => a.cmp(&parse_java_int(b)?),
        (Long(a), Int(b)) => a.cmp(&i64::from(b)),
        (Long(a), Double(b)) => double_compare(a as f64, b),
        (Long(a), Str(b)) => a.cmp(&parse_java_long(b)?),
        (Double(a), Int(b)) => double_compare(a, f64::from(b)),
        (Double(a), Long(b)) => double_compare(a, b as f64),
        (Double(a), Str(b)) => double_compare(a, parse_java_double(b)?),
        (Str(a), Bool(b)) => a.eq_ignore_ascii_case("true").cmp(&b),
        (Str(a), Int(b)) => parse_java_int(a)?.cmp(&b),
        (Str(a), Long(b)) => parse_java_long(a)?.cmp(&b),
        (Str(a), Double(b)) => double_compare(parse_java_double(a)?, b),
        _ => Ordering::Less,
    })
}

/// `Double.doubleToLongBits`: every NaN collapses to one pattern.
fn double_bits(d: f64) -> u64 {
    if d.is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        d.to_bits()
    }
}

/// `Double.compareTo`: -0.0 < 0.0 and NaN above everything, equal to itself.
pub(crate) fn double_compare(a: f64, b: f64) -> Ordering {
    if a < b {
        Ordering::Less
    } else if a > b {
        Ordering::Greater
    } else {
        (double_bits(a) as i64).cmp(&(double_bits(b) as i64))
    }
}

fn number_format(s: &str) -> EvaluationError {
    EvaluationError(format!(
        "java.lang.NumberFormatException: For input string: \"{s}\""
    ))
}

/// `Integer.valueOf(String)`: an optional sign and ASCII digits, in range.
pub(crate) fn parse_java_int(s: &str) -> EvalResult<i32> {
    parse_java_long(s)
        .ok()
        .and_then(|l| i32::try_from(l).ok())
        .ok_or_else(|| number_format(s))
}

/// `Long.valueOf(String)`: an optional sign and ASCII digits, in range.
pub(crate) fn parse_java_long(s: &str) -> EvalResult<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(number_format(s));
    }
    // Rust accepts the same shape ('+' included); range errors remain
    s.parse::<i64>().map_err(|_| number_format(s))
}

/// `Double.valueOf(String)` for decimal input: surrounding whitespace, an optional sign,
/// `NaN`, `Infinity`, digits with an optional fraction and exponent, and an optional
/// `f`/`F`/`d`/`D` suffix. (Java's hexadecimal floating-point form is not accepted.)
pub(crate) fn parse_java_double(s: &str) -> EvalResult<f64> {
    let t = s.trim_matches(|c: char| c <= ' ');
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let magnitude = match body {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        _ => {
            let number = body.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(body);
            if !is_java_decimal(number) {
                return Err(number_format(s));
            }
            number.parse::<f64>().map_err(|_| number_format(s))?
        }
    };
    Ok(if negative { -magnitude } else { magnitude })
}

/// `digits [. digits] [e [sign] digits]` with at least one digit in the mantissa.
fn is_java_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let int_digits = count_digits(&b[i..]);
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = count_digits(&b[i..]);
        i += frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_digits = count_digits(&b[i..]);
        if exp_digits == 0 {
            return false;
        }
        i += exp_digits;
    }
    i == b.len()
}

fn count_digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// `Double.toString`, close enough for error messages: `1.5`, `100.0`, `1.0E10`, `1.0E-5`.
pub(crate) fn java_double_to_string(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let abs = d.abs();
    if abs == 0.0 || (1e-3..1e7).contains(&abs) {
        let s = format!("{d}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{d:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exp}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_number_parsing() {
        assert_eq!(parse_java_int("42").unwrap(), 42);
        assert_eq!(parse_java_int("+42").unwrap(), 42);
        assert_eq!(parse_java_int("-2147483648").unwrap(), i32::MIN);
        assert!(parse_java_int("2147483648").is_err());
        assert!(parse_java_int(" 1").is_err());
        assert!(parse_java_int("1.0").is_err());
        assert!(parse_java_int("").is_err());
        assert!(parse_java_int("-").is_err());
        assert_eq!(parse_java_long("9223372036854775807").unwrap(), i64::MAX);
        assert!(parse_java_long("9223372036854775808").is_err());
        assert_eq!(parse_java_double(" 1.5 ").unwrap(), 1.5);
        assert_eq!(parse_java_double("1e3").unwrap(), 1000.0);
        assert_eq!(parse_java_double(".5").unwrap(), 0.5);
        assert_eq!(parse_java_double("5.").unwrap(), 5.0);
        assert_eq!(parse_java_double("2f").unwrap(), 2.0);
        assert_eq!(parse_java_double("-Infinity").unwrap(), f64::NEG_INFINITY);
        assert!(parse_java_double("NaN").unwrap().is_nan());
        for bad in [
            "", ".", "e5", "1e", "inf", "nan", "1_0", "abc", "1.2.3", "--1",
        ] {
            assert!(parse_java_double(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn java_comparisons_convert_across_types() {
        use Value::*;
        assert_eq!(java_compare(&Str("3"), &Int(3)).unwrap(), Ordering::Equal);
        assert_eq!(java_compare(&Int(3), &Str("4")).unwrap(), Ordering::Less);
        assert_eq!(
            java_compare(&Str("2.5"), &Double(2.5)).unwrap(),
            Ordering::Equal
        );
        assert_eq!(
            java_compare(&Long(1 << 40), &Int(1)).unwrap(),
            Ordering::Greater
        );
        assert_eq!(java_compare(&Int(1), &Double(1.5)).unwrap(), Ordering::Less);
        assert_eq!(
            java_compare(&Str("TRUE"), &Bool(true)).unwrap(),
            Ordering::Equal
        );
        assert_eq!(
            java_compare(&Str("yes"), &Bool(true)).unwrap(),
            Ordering::Less
        );
        assert_eq!(java_compare(&Int(1), &Bool(true)).unwrap(), Ordering::Less);
        assert!(java_compare(&Str("2.5"), &Int(2)).is_err());
        assert!(java_compare(&Str("abc"), &Long(2)).is_err());
        assert!(java_compare(&Bool(true), &Str("true")).is_err());
        assert_eq!(double_compare(-0.0, 0.0), Ordering::Less);
        assert_eq!(double_compare(f64::NAN, f64::INFINITY), Ordering::Greater);
        assert_eq!(double_compare(f64::NAN, f64::NAN), Ordering::Equal);
        assert!(Double(f64::NAN).java_equals(&Double(f64::NAN)));
        assert!(!Int(1).java_equals(&Long(1)));
    }

    #[test]
    fn double_formatting_follows_java() {
        assert_eq!(java_double_to_string(1.5), "1.5");
        assert_eq!(java_double_to_string(100.0), "100.0");
        assert_eq!(java_double_to_string(1e10), "1.0E10");
        assert_eq!(java_double_to_string(f64::MAX), "1.7976931348623157E308");
    }
}

//! Reading JSON written by fastjson, which may put bare (unquoted) keys in maps and accepts
//! loosely typed values (see [`lenient`]).

mod lenient;

pub use lenient::Lenient;
use serde::de::DeserializeOwned;
use std::borrow::Cow;

/// Rewrites fastjson's bare object keys (`{0:"addr"}`) as quoted keys (`{"0":"addr"}`), and keys
/// that are whole objects (maps keyed by `MessageQueue`: `{{"topic":"T",...}:5}`) as strings
/// holding the object's text.
///
/// Text that is already standard JSON is returned borrowed, untouched.
pub fn normalize(input: &[u8]) -> Cow<'_, [u8]> {
    match rewrite(input) {
        Some(out) => Cow::Owned(out),
        None => Cow::Borrowed(input),
    }
}

/// Returns the rewritten text, or `None` when `input` has no bare key.
fn rewrite(input: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut stack: Vec<u8> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    let mut copied = 0; // bytes of `input` already copied into `out`
    while i < input.len() {
        let c = input[i];
        match c {
            b'"' => {
                i = string_end(input, i);
                expect_key = false;
                continue;
            }
            b'{' if expect_key => {
                let end = object_end(input, i);
                let key = String::from_utf8_lossy(&input[i..end]);
                let o = out.get_or_insert_with(|| Vec::with_capacity(input.len() + 64));
                o.extend_from_slice(&input[copied..i]);
                o.extend_from_slice(serde_json::to_string(&key).unwrap_or_default().as_bytes());
                copied = end;
                i = end;
                expect_key = false;
                continue;
            }
            b'{' => {
                stack.push(c);
                expect_key = true;
            }
            b'[' => {
                stack.push(c);
                expect_key = false;
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
            }
            b',' => expect_key = stack.last() == Some(&b'{'),
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ if expect_key => {
                let start = i;
                while i < input.len() && input[i] != b':' && !input[i].is_ascii_whitespace() {
                    i += 1;
                }
                let o = out.get_or_insert_with(|| Vec::with_capacity(input.len() + 16));
                o.extend_from_slice(&input[copied..start]);
                o.push(b'"');
                o.extend_from_slice(&input[start..i]);
                o.push(b'"');
                copied = i;
                expect_key = false;
                continue;
            }
            _ => expect_key = false,
        }
        i += 1;
    }
    let mut o = out?;
    o.extend_from_slice(&input[copied..]);
    Some(o)
}

/// Index one past the closing quote of the string starting at `start`.
fn string_end(input: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < input.len() {
        match input[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    input.len()
}

/// Index one past the `}` closing the object starting at `start`.
fn object_end(input: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < input.len() {
        match input[i] {
            b'"' => {
                i = string_end(input, i);
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    input.len()
}

/// Deserializes JSON that may have been written by fastjson or by any client that types its
/// values as loosely as fastjson reads them: bare map keys, enums by name or ordinal, numbers as
/// strings and strings as numbers, `null` for defaulted fields, unknown fields.
///
/// Standard, well-typed JSON takes the direct path; only text that fails it is parsed into a
/// [`serde_json::Value`] and read again through [`Lenient`].
pub fn from_slice<T: DeserializeOwned>(input: &[u8]) -> Result<T, serde_json::Error> {
    let strict_error = match serde_json::from_slice(input) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let value: serde_json::Value = match serde_json::from_slice(&normalize(input)) {
        Ok(v) => v,
        // Not even JSON after quoting bare keys: the direct parser's position is the useful one.
        Err(_) => return Err(strict_error),
    };
    from_value(value)
}

/// Reads an already parsed value with fastjson's coercions (see [`from_slice`]).
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, serde_json::Error> {
    T::deserialize(Lenient(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn quotes_bare_numeric_keys() {
        let v: HashMap<String, HashMap<String, String>> =
            from_slice(br#"{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"}}"#).unwrap();
        assert_eq!(v["brokerAddrs"]["1"], "127.0.0.1:10921");
    }

    #[test]
    fn quotes_bare_object_keys() {
        let v: HashMap<String, HashMap<String, i64>> = from_slice(
            br#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5,{"brokerName":"b","queueId":1,"topic":"T"}:7}}"#,
        )
        .unwrap();
        assert_eq!(
            v["offsetTable"][r#"{"brokerName":"b","queueId":1,"topic":"T"}"#],
            7
        );
        assert_eq!(v["offsetTable"].len(), 2);
    }

    #[test]
    fn leaves_standard_json_alone() {
        let s = br#"{"a":[1,2,{"b":"x:y,{z"}],"c":"{0:1}"}"#;
        assert!(matches!(normalize(s), Cow::Borrowed(_)));
    }

    #[test]
    fn does_not_touch_strings_or_arrays() {
        let s = br#"{"list":[1, 2, 3],"m":{7:"a,b:{c}"}, x :true}"#;
        let out = normalize(s);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["m"]["7"], "a,b:{c}");
        assert_eq!(v["x"], true);
        assert_eq!(v["list"][2], 3);
    }

    #[test]
    fn garbage_does_not_panic() {
        for s in [&b"{"[..], b"{\"", b"{a", b"}}]]", b"{\"a\\", b""] {
            let _ = normalize(s);
        }
    }
}

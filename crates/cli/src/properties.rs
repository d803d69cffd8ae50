//! Java `.properties` text, as `java.util.Properties.load` reads it (RocketMQ's `broker.conf`).
//!
//! * one `key=value`, `key: value` or `key value` per logical line; the key ends at the first
//!   unescaped `=`, `:` or blank, and one `=`/`:` after blanks is part of the separator;
//! * lines whose first non-blank character is `#` or `!` are comments;
//! * a line ending in an odd number of backslashes continues on the next line, whose leading
//!   blanks are dropped;
//! * escapes `\t \n \r \f \uXXXX`, and `\c` for any other `c` (so `\=`, `\:`, `\ `, `\\`);
//! * keys and values are trimmed (Java keeps trailing blanks of values; RocketMQ then fails to
//!   parse numbers with them, so trimming only removes surprises);
//! * a later duplicate key replaces the earlier value.

use std::fmt;

/// One `key=value` pair and the line it starts on (1-based), for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The key.
    pub key: String,
    /// The value, unescaped and trimmed.
    pub value: String,
    /// The line the pair starts on.
    pub line: usize,
}

/// A malformed escape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertiesError {
    /// The line of the bad escape (1-based).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PropertiesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for PropertiesError {}

/// Decodes file bytes: UTF-8 when valid, else ISO-8859-1 (what `Properties.load` assumes).
pub fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

/// Parses properties text into pairs in first-appearance order.
pub fn parse(text: &str) -> Result<Vec<Property>, PropertiesError> {
    let mut out: Vec<Property> = Vec::new();
    for (line, logical) in logical_lines(text) {
        let (key, value) = split_key_value(&logical);
        let key = unescape(key, line)?.trim().to_string();
        let value = unescape(value, line)?.trim().to_string();
        if key.is_empty() && value.is_empty() {
            continue;
        }
        match out.iter_mut().find(|p| p.key == key) {
            Some(existing) => {
                existing.value = value;
                existing.line = line;
            }
            None => out.push(Property { key, value, line }),
        }
    }
    Ok(out)
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// Joins continued lines; yields (first line number, logical line with escapes intact).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        // a lone CR also ends a line in Java
        for piece in raw.split('\r') {
            let trimmed = piece.trim_start_matches(is_blank);
            let continuing = current.is_some();
            if !continuing
                && (trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!'))
            {
                continue;
            }
            let trailing_backslashes = trimmed.chars().rev().take_while(|c| *c == '\\').count();
            let continues = trailing_backslashes % 2 == 1;
            let content = if continues {
                &trimmed[..trimmed.len() - 1]
            } else {
                trimmed
            };
            let entry = current.get_or_insert_with(|| (i + 1, String::new()));
            entry.1.push_str(content);
            if !continues {
                out.push(current.take().expect("just inserted"));
            }
        }
    }
    if let Some(last) = current {
        out.push(last);
    }
    out
}

/// Splits at the first unescaped `=`, `:` or blank (escapes are kept for `unescape`).
fn split_key_value(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut key_end = line.len();
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => {
                key_end = i;
                break;
            }
            _ => i += 1,
        }
    }
    let key_end = key_end.min(line.len());
    let rest = line[key_end..].trim_start_matches(is_blank);
    let rest = rest
        .strip_prefix('=')
        .or_else(|| rest.strip_prefix(':'))
        .unwrap_or(rest)
        .trim_start_matches(is_blank);
    (&line[..key_end], rest)
}

fn unescape(s: &str, line: usize) -> Result<String, PropertiesError> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => {}
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| PropertiesError {
                        line,
                        message: format!("malformed \\uxxxx escape '\\u{hex}'"),
                    })?;
                // a lone surrogate cannot be a Rust char; keep it visible rather than failing
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect()
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn reads_rocketmq_broker_conf() {
        let text = "# comment\n\
                    brokerClusterName = DefaultCluster\n\
                    brokerName = broker-a\n\
                    brokerId = 0\n\
                    deleteWhen = 04\n\
                    fileReservedTime = 48\n\
                    brokerRole = ASYNC_MASTER\n\
                    flushDiskType = ASYNC_FLUSH\n";
        let got = pairs(text);
        assert_eq!(got.len(), 7);
        assert_eq!(got[0], p("brokerClusterName", "DefaultCluster"));
        assert_eq!(got[6], p("flushDiskType", "ASYNC_FLUSH"));
    }

    #[test]
    fn separators_comments_and_whitespace() {
        let text = "  a=1\n\tb : 2\nc 3\n! bang comment\n   # hash comment\nd=\ne\n  f  =  x y  \r\ng:=h\n";
        assert_eq!(
            pairs(text),
            vec![
                p("a", "1"),
                p("b", "2"),
                p("c", "3"),
                p("d", ""),
                p("e", ""),
                p("f", "x y"),
                p("g", "=h")
            ]
        );
    }

    #[test]
    fn continuation_lines() {
        let text =
            "namesrvAddr=127.0.0.1:9876;\\\n    127.0.0.2:9876\nnext=1\nodd=a\\\\\nafter=2\n";
        assert_eq!(
            pairs(text),
            vec![
                p("namesrvAddr", "127.0.0.1:9876;127.0.0.2:9876"),
                p("next", "1"),
                p("odd", "a\\"),
                p("after", "2")
            ]
        );
        // a comment line never continues
        assert_eq!(pairs("# x \\\nk=v\n"), vec![p("k", "v")]);
        // continuation at end of file
        assert_eq!(pairs("k=v\\"), vec![p("k", "v")]);
    }

    #[test]
    fn escapes() {
        let text = "key\\ with\\=odd\\:chars = tab\\there\\u0041\\\\\n";
        assert_eq!(
            pairs(text),
            vec![p("key with=odd:chars", "tab\there\u{41}\\")]
        );
        let err = parse("k=\\u12G4\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.to_string().contains("\\u"), "{err}");
    }

    #[test]
    fn duplicates_keep_the_last_value_and_line() {
        let got = parse("a=1\nb=2\na=3\n").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].value.as_str(), got[0].line), ("3", 3));
    }

    #[test]
    fn line_numbers_point_at_the_pair() {
        let got = parse("# c\n\nx=1\ny=\\\n 2\nz=3\n").unwrap();
        let lines: Vec<usize> = got.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 4, 6]);
    }

    #[test]
    fn crlf_and_latin1_files() {
        assert_eq!(pairs("a=1\r\nb=2\r\n"), vec![p("a", "1"), p("b", "2")]);
        assert_eq!(decode_text(b"k=caf\xe9"), "k=café");
        assert_eq!(decode_text("k=café".as_bytes()), "k=café");
    }
}

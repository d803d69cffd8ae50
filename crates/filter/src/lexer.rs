//! Tokens of `SelectorParser.jj`, produced on demand like JavaCC's token manager.
//!
//! The longest match wins; on a tie a keyword beats an identifier. Keywords are
//! case-insensitive. Whitespace, `-- line` comments (ended by a newline) and `/* block */`
//! comments are skipped.

use crate::error::{FilterError, FilterErrorKind};

/// A token kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Eof,
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    Contains,
    StartsWith,
    EndsWith,
    Decimal,
    Float,
    Str,
    Id,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
}

impl Kind {
    /// The token's name in JavaCC's `tokenImage`, as parse errors print it.
    pub(crate) fn image(self) -> &'static str {
        match self {
            Kind::Eof => "<EOF>",
            Kind::Not => "\"NOT\"",
            Kind::And => "\"AND\"",
            Kind::Or => "\"OR\"",
            Kind::Between => "\"BETWEEN\"",
            Kind::In => "\"IN\"",
            Kind::True => "\"TRUE\"",
            Kind::False => "\"FALSE\"",
            Kind::Null => "\"NULL\"",
            Kind::Is => "\"IS\"",
            Kind::Contains => "\"CONTAINS\"",
            Kind::StartsWith => "\"STARTSWITH\"",
            Kind::EndsWith => "\"ENDSWITH\"",
            Kind::Decimal => "<DECIMAL_LITERAL>",
            Kind::Float => "<FLOATING_POINT_LITERAL>",
            Kind::Str => "<STRING_LITERAL>",
            Kind::Id => "<ID>",
            Kind::Eq => "\"=\"",
            Kind::Ne => "\"<>\"",
            Kind::Gt => "\">\"",
            Kind::Ge => "\">=\"",
            Kind::Lt => "\"<\"",
            Kind::Le => "\"<=\"",
            Kind::LParen => "\"(\"",
            Kind::RParen => "\")\"",
            Kind::Comma => "\",\"",
            Kind::Plus => "\"+\"",
            Kind::Minus => "\"-\"",
        }
    }
}

/// One token with its text and 1-based position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
    pub line: usize,
    pub column: usize,
}

const KEYWORDS: [(&str, Kind); 12] = [
    ("NOT", Kind::Not),
    ("AND", Kind::And),
    ("OR", Kind::Or),
    ("BETWEEN", Kind::Between),
    ("IN", Kind::In),
    ("TRUE", Kind::True),
    ("FALSE", Kind::False),
    ("NULL", Kind::Null),
    ("IS", Kind::Is),
    ("CONTAINS", Kind::Contains),
    ("STARTSWITH", Kind::StartsWith),
    ("ENDSWITH", Kind::EndsWith),
];

/// JavaCC's `SimpleCharStream` tab width.
const TAB_SIZE: usize = 8;

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
    column: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Lexer {
            src,
            pos: 0,
            line: 1,
            column: 0,
        }
    }

    fn rest(&self) -> &'a [u8] {
        &self.src.as_bytes()[self.pos..]
    }

    /// Moves over `n` bytes, keeping line and column as JavaCC counts them.
    fn advance(&mut self, n: usize) {
        let end = self.pos + n;
        let mut prev_cr = false;
        for c in self.src[self.pos..end].chars() {
            match c {
                '\n' => {
                    if !prev_cr {
                        self.line += 1;
                    }
                    self.column = 0;
                }
                '\r' => {
                    self.line += 1;
                    self.column = 0;
                }
                '\t' => self.column += TAB_SIZE - (self.column % TAB_SIZE),
                // a supplementary character is two UTF-16 units in Java
                c => self.column += c.len_utf16(),
            }
            prev_cr = c == '\r';
        }
        self.pos = end;
    }

    fn lexical_error(&self, consumed: usize) -> FilterError {
        let after = &self.src[self.pos..self.pos + consumed];
        let (line, column) = self.position_after(consumed);
        let encountered = match self.src[self.pos + consumed..].chars().next() {
            None => "<EOF> ".to_string(),
            Some(c) => format!("\"{}\" ({}), ", escape(&c.to_string()), c as u32),
        };
        FilterError::new(
            FilterErrorKind::Lexical,
            format!(
                "Lexical error at line {line}, column {column}.  Encountered: {encountered}after : \"{}\"",
                escape(after)
            ),
        )
    }

    /// Line and column of the last character of the next `consumed` bytes plus one.
    fn position_after(&self, consumed: usize) -> (usize, usize) {
        let mut probe = Lexer {
            src: self.src,
            pos: self.pos,
            line: self.line,
            column: self.column,
        };
        let next = self.src[self.pos + consumed..]
            .chars()
            .next()
            .map_or(0, char::len_utf8);
        probe.advance(consumed + next);
        (probe.line, probe.column)
    }

    /// Skips whitespace and comments.
    fn skip(&mut self) -> Result<(), FilterError> {
        loop {
            let rest = self.rest();
            match rest.first() {
                Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') => self.advance(1),
                Some(b'-') if rest.get(1) == Some(&b'-') => {
                    // a line comment needs its line end; without one, "--" is two minus signs
                    match rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
                        Some(end) => {
                            let len = if rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n') {
                                end + 2
                            } else {
                                end + 1
                            };
                            self.advance(len);
                        }
                        None => return Ok(()),
                    }
                }
                Some(b'/') if rest.get(1) == Some(&b'*') => {
                    match self.src[self.pos + 2..].find("*/") {
                        Some(end) => self.advance(end + 4),
                        None => return Err(self.lexical_error(rest.len())),
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// The next token.
    pub(crate) fn next_token(&mut self) -> Result<Token<'a>, FilterError> {
        self.skip()?;
        let rest = self.rest();
        let (kind, len) = match rest.first() {
            None => (Kind::Eof, 0),
            Some(b'=') => (Kind::Eq, 1),
            Some(b'<') => match rest.get(1) {
                Some(b'>') => (Kind::Ne, 2),
                Some(b'=') => (Kind::Le, 2),
                _ => (Kind::Lt, 1),
            },
            Some(b'>') => match rest.get(1) {
                Some(b'=') => (Kind::Ge, 2),
                _ => (Kind::Gt, 1),
            },
            Some(b'(') => (Kind::LParen, 1),
            Some(b')') => (Kind::RParen, 1),
            Some(b',') => (Kind::Comma, 1),
            Some(b'+') => (Kind::Plus, 1),
            Some(b'-') => (Kind::Minus, 1),
            Some(b'\'') => (Kind::Str, self.string_len()?),
            Some(c) if c.is_ascii_digit() || *c == b'.' => self.number()?,
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' || *c == b'$' => {
                let len = rest
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'$')
                    .count();
                let word = &self.src[self.pos..self.pos + len];
                let kind = KEYWORDS
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(word))
                    .map_or(Kind::Id, |(_, kind)| *kind);
                (kind, len)
            }
            Some(_) => return Err(self.lexical_error(0)),
        };
        // the token starts at the next character
        let (line, column) = if len == 0 {
            (self.line, self.column + 1)
        } else {
            self.position_after(0)
        };
        let text = &self.src[self.pos..self.pos + len];
        self.advance(len);
        Ok(Token {
            kind,
            text,
            line,
            column,
        })
    }

    /// Length of `'...'` where `''` stands for one quote.
    fn string_len(&self) -> Result<usize, FilterError> {
        let rest = self.rest();
        let mut i = 1;
        loop {
            match rest.get(i) {
                None => return Err(self.lexical_error(rest.len())),
                Some(b'\'') if rest.get(i + 1) == Some(&b'\'') => i += 2,
                Some(b'\'') => return Ok(i + 1),
                Some(_) => i += 1,
            }
        }
    }

    /// DECIMAL_LITERAL or FLOATING_POINT_LITERAL, whichever match is longer.
    fn number(&self) -> Result<(Kind, usize), FilterError> {
        let b = self.rest();
        let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
        let exponent = |from: usize| -> usize {
            if !matches!(b.get(from), Some(b'e' | b'E')) {
                return 0;
            }
            let sign = usize::from(matches!(b.get(from + 1), Some(b'+' | b'-')));
            let n = digits(from + 1 + sign);
            if n == 0 {
                0
            } else {
                1 + sign + n
            }
        };
        let int = digits(0);
        // floating point: digits "." digits* exp? | "." digits+ exp? | digits exp
        let float = if b.get(int) == Some(&b'.') {
            let frac = digits(int + 1);
            if int == 0 && frac == 0 {
                0
            } else {
                let end = int + 1 + frac;
                end + exponent(end)
            }
        } else if int > 0 {
            let e = exponent(int);
            if e > 0 {
                int + e
            } else {
                0
            }
        } else {
            0
        };
        // decimal: "0" | [1-9][0-9]* [lL]?
        let decimal = match b.first() {
            Some(b'0') => 1,
            Some(b'1'..=b'9') => int + usize::from(matches!(b.get(int), Some(b'l' | b'L'))),
            _ => 0,
        };
        if float == 0 && decimal == 0 {
            return Err(self.lexical_error(usize::from(b.first() == Some(&b'.'))));
        }
        Ok(if float > decimal {
            (Kind::Float, float)
        } else {
            (Kind::Decimal, decimal)
        })
    }
}

/// JavaCC's `addEscapes`.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\\""),
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, String)> {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token().unwrap();
            if t.kind == Kind::Eof {
                return out;
            }
            out.push((t.kind, t.text.to_string()));
        }
    }

    #[test]
    fn keywords_are_case_insensitive_and_longer_words_are_identifiers() {
        let k: Vec<Kind> = kinds("not And oR NOTE in_ $x isx IS null")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        use Kind::*;
        assert_eq!(k, vec![Not, And, Or, Id, Id, Id, Id, Is, Null]);
    }

    #[test]
    fn numbers_follow_the_javacc_longest_match() {
        let t = kinds("0 12 12L 1.5 5. .5 5E10 1.5e-3 0123 1e");
        let expect = [
            (Kind::Decimal, "0"),
            (Kind::Decimal, "12"),
            (Kind::Decimal, "12L"),
            (Kind::Float, "1.5"),
            (Kind::Float, "5."),
            (Kind::Float, ".5"),
            (Kind::Float, "5E10"),
            (Kind::Float, "1.5e-3"),
            (Kind::Decimal, "0"),
            (Kind::Decimal, "123"),
            (Kind::Decimal, "1"),
            (Kind::Id, "e"),
        ];
        let got: Vec<(Kind, &str)> = t.iter().map(|(k, s)| (*k, s.as_str())).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn operators_strings_and_comments() {
        let t = kinds("a<>'it''s'/* c */>=--x\n<=(,)+-");
        let got: Vec<Kind> = t.iter().map(|(k, _)| *k).collect();
        use Kind::*;
        assert_eq!(
            got,
            vec![Id, Ne, Str, Ge, Le, LParen, Comma, RParen, Plus, Minus]
        );
        assert_eq!(t[2].1, "'it''s'");
        // a line comment without a line end is two minus signs
        let got: Vec<Kind> = kinds("--x").iter().map(|(k, _)| *k).collect();
        assert_eq!(got, vec![Minus, Minus, Id]);
    }

    #[test]
    fn lexical_errors_say_where() {
        let e = Lexer::new("a # b").next_token().and_then(|_| {
            let mut l = Lexer::new("a # b");
            l.next_token()?;
            l.next_token()
        });
        let e = e.unwrap_err();
        assert_eq!(e.kind, FilterErrorKind::Lexical);
        assert_eq!(
            e.message,
            "Lexical error at line 1, column 3.  Encountered: \"#\" (35), after : \"\""
        );
        let mut l = Lexer::new("'abc");
        let e = l.next_token().unwrap_err();
        assert!(
            e.message.contains("Encountered: <EOF> after : \"\\'abc\""),
            "{}",
            e.message
        );
        assert!(Lexer::new("/* open").next_token().is_err());
        assert!(Lexer::new(".x").next_token().is_err());
    }

    #[test]
    fn positions_are_one_based() {
        let mut l = Lexer::new("a\n  b");
        let a = l.next_token().unwrap();
        let b = l.next_token().unwrap();
        assert_eq!((a.line, a.column), (1, 1));
        assert_eq!((b.line, b.column), (2, 3));
        assert_eq!(l.next_token().unwrap().kind, Kind::Eof);
    }
}

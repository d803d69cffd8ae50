//! Where a selector reads property values from.

use std::collections::HashMap;

/// Name-to-value lookups for one message (`EvaluationContext`).
///
/// Message properties are strings on the wire, so values are borrowed `&str`.
pub trait EvaluationContext {
    /// The value of property `name`, if the message has it.
    fn get(&self, name: &str) -> Option<&str>;
}

impl EvaluationContext for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

impl EvaluationContext for [(&str, &str)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }
}

/// The encoded properties of a stored message (`name\u{1}value\u{2}` per entry), read in place.
///
/// Entries are parsed as `MessageDecoder.string2messageProperties` does: an entry needs a
/// non-empty name and a non-empty value, and a later duplicate wins. A lookup scans the bytes,
/// which for the dozen entries a message carries is cheaper than building a map.
#[derive(Debug, Clone, Copy)]
pub struct PropertiesContext<'a> {
    raw: &'a [u8],
}

const NAME_VALUE_SEPARATOR: u8 = 1;
const PROPERTY_SEPARATOR: u8 = 2;

impl<'a> PropertiesContext<'a> {
    /// A view over the PROPERTIES bytes of a record.
    pub fn new(raw: &'a [u8]) -> Self {
        PropertiesContext { raw }
    }
}

impl EvaluationContext for PropertiesContext<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        let mut found = None;
        for entry in self.raw.split(|b| *b == PROPERTY_SEPARATOR) {
            if entry.len() < 3 {
                continue;
            }
            let Some(sep) = entry.iter().position(|b| *b == NAME_VALUE_SEPARATOR) else {
                continue;
            };
            if sep == 0 || sep >= entry.len() - 1 {
                continue;
            }
            if &entry[..sep] == name.as_bytes() {
                found = Some(&entry[sep + 1..]);
            }
        }
        // Java decodes the whole string as UTF-8 first; an invalid value simply never matches
        found.and_then(|v| std::str::from_utf8(v).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_encoded_properties_like_the_java_decoder() {
        let raw = b"TAGS\x01TagA\x02a\x011\x02empty\x01\x02\x01novalue\x02a\x012\x02x";
        let ctx = PropertiesContext::new(raw);
        assert_eq!(ctx.get("TAGS"), Some("TagA"));
        assert_eq!(ctx.get("a"), Some("2"), "the later duplicate wins");
        assert_eq!(ctx.get("empty"), None, "empty values are dropped");
        assert_eq!(ctx.get(""), None);
        assert_eq!(ctx.get("x"), None);
        assert_eq!(ctx.get("missing"), None);
        assert_eq!(PropertiesContext::new(b"").get("a"), None);
        assert_eq!(PropertiesContext::new(b"k\x01v").get("k"), Some("v"));
    }
}

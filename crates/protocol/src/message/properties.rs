//! Message properties and their string form (`name\u{1}value\u{2}` per entry).

use super::property::{NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR};

/// A message's properties: a small string map that keeps insertion order.
///
/// Messages carry a dozen entries at most, so a vector beats hashing and keeps the encoded
/// form stable.
#[derive(Debug, Clone, Default, Eq)]
pub struct Properties {
    entries: Vec<(String, String)>,
}

impl Properties {
    /// An empty map.
    pub fn new() -> Self {
        Properties::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` is present.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name` to `value`, returning the previous value; a new name goes last.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) -> Option<String> {
        let name = name.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == name) {
            Some((_, v)) => Some(std::mem::replace(v, value)),
            None => {
                self.entries.push((name, value));
                None
            }
        }
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.entries.iter().position(|(k, _)| k == name)?;
        Some(self.entries.remove(i).1)
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Byte length of [`properties_to_string`]'s result.
    pub fn encoded_len(&self) -> usize {
        self.entries
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum()
    }
}

impl PartialEq for Properties {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut p = Properties::new();
        for (k, v) in iter {
            p.insert(k, v);
        }
        p
    }
}

impl<K: Into<String>, V: Into<String>> Extend<(K, V)> for Properties {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

/// RocketMQ's `messageProperties2String`: `name\u{1}value\u{2}` for every entry.
pub fn properties_to_string(properties: &Properties) -> String {
    let mut s = String::with_capacity(properties.encoded_len());
    write_properties(properties, &mut s);
    s
}

/// Appends the string form of `properties` to `out`.
pub fn write_properties(properties: &Properties, out: &mut String) {
    for (k, v) in properties.iter() {
        out.push_str(k);
        out.push(NAME_VALUE_SEPARATOR);
        out.push_str(v);
        out.push(PROPERTY_SEPARATOR);
    }
}

/// RocketMQ's tolerant `string2messageProperties`.
///
/// The string is split on `\u{2}`; a chunk counts only when its first `\u{1}` follows a
/// non-empty name and precedes a non-empty value. Later duplicates win.
pub fn string_to_properties(s: &str) -> Properties {
    let mut p = Properties::new();
    for (k, v) in property_pairs(s) {
        p.insert(k, v);
    }
    p
}

/// The value of `name` in an encoded properties string, without decoding the rest.
pub fn find_property<'a>(encoded: &'a str, name: &str) -> Option<&'a str> {
    // the byte search cuts only at the ASCII separators, so what it finds is whole UTF-8
    find_property_bytes(encoded.as_bytes(), name).and_then(|v| std::str::from_utf8(v).ok())
}

/// [`find_property`] on the raw bytes of a stored record's properties, without checking that
/// all of them are UTF-8: the separators are ASCII, so no invalid sequence hides one, and the
/// value found is what `find_property` finds in the lossily decoded string, before its own
/// decoding. The dispatch of every replicated or indexed record looks up two or three names.
pub fn find_property_bytes<'a>(encoded: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let name = name.as_bytes();
    // a name holding the separator never matches: the name is what precedes the first one
    if name.is_empty() || name.contains(&(NAME_VALUE_SEPARATOR as u8)) {
        return None;
    }
    let mut found = None;
    for chunk in split_at(encoded, PROPERTY_SEPARATOR as u8) {
        let value = chunk
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(&[NAME_VALUE_SEPARATOR as u8]));
        // like `property_pairs`, an empty value is no pair
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            found = Some(v);
        }
    }
    found
}

/// A lookup of one property name, prepared once and used on many records (the dispatch of a
/// replicated or indexed record looks up `TAGS`, `KEYS` and `UNIQ_KEY`): one vectorized search
/// for `\u{2}NAME\u{1}` instead of a pass over every pair. Finds what [`find_property_bytes`]
/// finds.
pub struct PropertyFinder {
    /// `NAME` + the name/value separator: the first pair.
    first: Vec<u8>,
    /// The pair separator + `first`: every later pair.
    later: memchr::memmem::Finder<'static>,
    /// A name that can never match (empty, or holding a separator).
    never: bool,
}

impl PropertyFinder {
    /// A finder for `name`.
    pub fn new(name: &str) -> Self {
        let mut first = name.as_bytes().to_vec();
        first.push(NAME_VALUE_SEPARATOR as u8);
        let mut later = vec![PROPERTY_SEPARATOR as u8];
        later.extend_from_slice(&first);
        PropertyFinder {
            first,
            later: memchr::memmem::Finder::new(&later).into_owned(),
            never: name.is_empty() || name.contains([NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR]),
        }
    }

    /// The value of the last non-empty pair with the name, as [`find_property_bytes`].
    pub fn find<'a>(&self, encoded: &'a [u8]) -> Option<&'a [u8]> {
        if self.never {
            return None;
        }
        // a pair starts at the beginning or after a separator; the last one wins
        let start = match self.later.find_iter(encoded).last() {
            Some(at) => at + 1 + self.first.len(),
            None if encoded.starts_with(&self.first) => self.first.len(),
            None => return None,
        };
        let rest = &encoded[start..];
        let value = &rest[..memchr::memchr(PROPERTY_SEPARATOR as u8, rest).unwrap_or(rest.len())];
        if value.is_empty() {
            // an empty value is no pair: an earlier one may count (rare, so the slow way)
            return find_property_bytes(&encoded[..start], self.name());
        }
        Some(value)
    }

    fn name(&self) -> &str {
        // built from a &str plus an ASCII separator
        std::str::from_utf8(&self.first[..self.first.len() - 1]).unwrap_or_default()
    }
}

/// `bytes.split(|b| *b == sep)`, with the separators found by `memchr`.
fn split_at(bytes: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr(sep, r) {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// The well-formed `(name, value)` chunks of an encoded properties string, in order.
pub fn property_pairs(encoded: &str) -> impl Iterator<Item = (&str, &str)> {
    encoded.split(PROPERTY_SEPARATOR).filter_map(|chunk| {
        let sep = chunk.find(NAME_VALUE_SEPARATOR)?;
        // the separator is one byte, so `sep + 1 < len` means a non-empty value
        (sep > 0 && sep + 1 < chunk.len()).then(|| (&chunk[..sep], &chunk[sep + 1..]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn byte_lookup_matches_the_decoded_lookup(raw in proptest::collection::vec(
            prop_oneof![Just(1u8), Just(2u8), Just(b'K'), Just(b'v'), Just(0xC3u8), Just(0xA9u8), Just(0xFFu8)],
            0..40,
        )) {
            let decoded = String::from_utf8_lossy(&raw);
            for name in ["K", "KK", "v", "", "K\u{1}", "\u{2}K"] {
                // the meaning of a lookup: the last decoded pair of that name
                let want = property_pairs(&decoded).filter(|(k, _)| *k == name).last().map(|(_, v)| v);
                prop_assert_eq!(find_property(&decoded, name), want);
                let got = find_property_bytes(&raw, name).map(String::from_utf8_lossy);
                prop_assert_eq!(want, got.as_deref());
            }
            for name in ["K", "KK", "v", "", "K\u{1}", "\u{2}K"] {
                prop_assert_eq!(PropertyFinder::new(name).find(&raw), find_property_bytes(&raw, name));
            }
        }
    }

    #[test]
    fn encodes_in_insertion_order() {
        let mut p = Properties::new();
        p.insert("TAGS", "TagA");
        p.insert("KEYS", "k1 k2");
        p.insert("TAGS", "TagB");
        assert_eq!(
            properties_to_string(&p),
            "TAGS\u{1}TagB\u{2}KEYS\u{1}k1 k2\u{2}"
        );
        assert_eq!(p.encoded_len(), properties_to_string(&p).len());
    }

    #[test]
    fn decoding_is_tolerant() {
        let p = string_to_properties(
            "A\u{1}1\u{2}\u{1}x\u{2}B\u{1}\u{2}C\u{1}3\u{1}4\u{2}junk\u{2}D\u{1}5",
        );
        assert_eq!(p.get("A"), Some("1"));
        assert_eq!(p.get("B"), None, "empty values are dropped");
        assert_eq!(
            p.get("C"),
            Some("3\u{1}4"),
            "only the first separator splits"
        );
        assert_eq!(p.get("D"), Some("5"), "a missing final terminator is fine");
        assert_eq!(p.len(), 3);
        assert!(string_to_properties("").is_empty());
        assert!(string_to_properties("\u{2}\u{2}\u{1}\u{1}").is_empty());
    }

    #[test]
    fn later_duplicates_win() {
        let s = "K\u{1}1\u{2}K\u{1}2\u{2}";
        assert_eq!(string_to_properties(s).get("K"), Some("2"));
        assert_eq!(find_property(s, "K"), Some("2"));
        assert_eq!(find_property(s, "X"), None);
    }

    #[test]
    fn equality_ignores_order() {
        let a: Properties = [("a", "1"), ("b", "2")].into_iter().collect();
        let b: Properties = [("b", "2"), ("a", "1")].into_iter().collect();
        assert_eq!(a, b);
        let mut c = a.clone();
        assert_eq!(c.remove("a"), Some("1".to_string()));
        assert_ne!(a, c);
    }

    proptest! {
        #[test]
        fn round_trips(entries in proptest::collection::vec(("[^\u{1}\u{2}]{1,8}", "[^\u{1}\u{2}]{1,12}"), 0..8)) {
            let p: Properties = entries.into_iter().collect();
            let s = properties_to_string(&p);
            prop_assert_eq!(string_to_properties(&s), p.clone());
            for (k, v) in p.iter() {
                prop_assert_eq!(find_property(&s, k), Some(v));
            }
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = string_to_properties(&s);
        }
    }
}

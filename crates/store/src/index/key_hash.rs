//! The hash RocketMQ files index keys under: `abs(String.hashCode())`.

/// Java's `String.hashCode()`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, wrapping.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// RocketMQ `IndexFile.indexKeyHashMethod`: the absolute hash, with `Integer.MIN_VALUE` (whose
/// absolute value overflows) mapped to 0.
pub fn index_key_hash(key: &str) -> i32 {
    java_string_hash(key).checked_abs().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_java() {
        // values computed by java.lang.String#hashCode
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("TopicTest#KEY1"), -1_656_969_516);
        // "polygenelubricants" hashes to Integer.MIN_VALUE
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(index_key_hash("polygenelubricants"), 0);
        // a non-BMP character counts as two UTF-16 units
        assert_eq!(java_string_hash("\u{1F600}"), 1_772_899);
        // "Aa" and "BB" collide in Java
        assert_eq!(java_string_hash("Aa"), java_string_hash("BB"));
        assert_eq!(index_key_hash("TopicTest#KEY1"), 1_656_969_516);
    }
}

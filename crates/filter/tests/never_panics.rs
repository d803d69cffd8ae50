//! Property tests: compiling and evaluating arbitrary input never panics.

use ferrocket_filter::{compile, PropertiesContext};
use proptest::prelude::*;

/// Fragments that reach deep into the grammar more often than random text does.
fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a",
        "b",
        "TAGS",
        " ",
        "(",
        ")",
        "'x'",
        "'it''s'",
        "''",
        "1",
        "-",
        "+",
        "0",
        "2.5",
        ".5",
        "1e3",
        "10L",
        "9223372036854775808",
        "=",
        "<>",
        ">",
        ">=",
        "<",
        "<=",
        ",",
        "AND",
        "OR",
        "NOT",
        "BETWEEN",
        "IN",
        "IS",
        "NULL",
        "TRUE",
        "FALSE",
        "CONTAINS",
        "STARTSWITH",
        "ENDSWITH",
        "/*",
        "*/",
        "--",
        "\n",
        "'",
        ".",
        "#",
        "é",
        "$_",
    ])
}

fn properties() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (
            prop::sample::select(vec!["a", "b", "TAGS"]),
            prop::sample::select(vec!["1", "2.5", "x", "true", "", "-3", "NaN", "1e400", "é"]),
        ),
        0..4,
    )
    .prop_map(|kv| {
        let mut raw = Vec::new();
        for (k, v) in kv {
            raw.extend_from_slice(k.as_bytes());
            raw.push(1);
            raw.extend_from_slice(v.as_bytes());
            raw.push(2);
        }
        raw
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(src in ".{0,80}") {
        let _ = compile(&src);
    }

    #[test]
    fn token_soup_never_panics(parts in prop::collection::vec(fragment(), 0..24), props in properties()) {
        let src = parts.join(" ");
        if let Ok(selector) = compile(&src) {
            let ctx = PropertiesContext::new(&props);
            let _ = selector.matches(&ctx);
            let _ = selector.to_string();
        }
        let glued = parts.concat();
        if let Ok(selector) = compile(&glued) {
            let _ = selector.matches(&PropertiesContext::new(&props));
        }
    }

    #[test]
    fn arbitrary_property_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..64)) {
        let selector = compile("a = 1 OR TAGS IN ('x') OR b IS NULL").unwrap();
        let _ = selector.matches(&PropertiesContext::new(&raw));
    }
}

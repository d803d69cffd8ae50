//! Selector behaviour, case by case against RocketMQ's rules.

use crate::{compile, EvaluationContext, FilterErrorKind, Value};

fn ctx(pairs: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    pairs.to_vec()
}

/// The raw three-valued result: Some(true), Some(false), None (unknown); panics on errors.
fn eval(expr: &str, pairs: &[(&'static str, &'static str)]) -> Option<bool> {
    let s = compile(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let c = ctx(pairs);
    match s
        .evaluate(c.as_slice())
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
    {
        Value::Bool(b) => Some(b),
        Value::Null => None,
        other => panic!("{expr} gave {other:?}"),
    }
}

fn matches(expr: &str, pairs: &[(&'static str, &'static str)]) -> bool {
    let c = ctx(pairs);
    compile(expr).unwrap().matches(c.as_slice())
}

fn refused(expr: &str) -> crate::FilterError {
    match compile(expr) {
        Ok(s) => panic!("{expr} compiled to {s}"),
        Err(e) => e,
    }
}

#[test]
fn comparisons_with_numeric_properties() {
    let m = [("a", "3"), ("b", "4"), ("c", "6"), ("d", "4"), ("f", "2.5")];
    assert_eq!(eval("a=3 and b<>4 And c>5 AND d<=4", &m), Some(false));
    assert_eq!(eval("a=3 and b<>5 And c>5 AND d<=4", &m), Some(true));
    assert_eq!(eval("a=3 or b<>4 Or c>5 OR d<=4", &m), Some(true));
    assert_eq!(eval("a > 2", &m), Some(true));
    assert_eq!(eval("a >= 3", &m), Some(true));
    assert_eq!(eval("a < 3", &m), Some(false));
    assert_eq!(eval("f > 2.4", &m), Some(true));
    assert_eq!(eval("f = 2.5", &m), Some(true));
    assert_eq!(eval("f < 2.6", &m), Some(true));
    assert_eq!(eval("a > -1", &m), Some(true));
    assert_eq!(
        eval("-a < 0", &m),
        None,
        "negating a string property gives null"
    );
    assert_eq!(eval("a = 3L", &m), Some(true));
    assert_eq!(eval("a < 10000000000", &m), Some(true));
    assert_eq!(
        eval("a > b", &m),
        Some(false),
        "two strings order as numbers"
    );
    assert_eq!(eval("f < a", &m), Some(true));
}

#[test]
fn string_equality_and_in() {
    let m = [("TAGS", "TagA"), ("region", "eu"), ("q", "it's")];
    assert!(matches("TAGS = 'TagA'", &m));
    assert!(!matches("TAGS = 'TagB'", &m));
    assert!(matches("TAGS <> 'TagB'", &m));
    assert!(matches("q = 'it''s'", &m));
    assert!(matches("region IN ('us', 'eu')", &m));
    assert!(
        matches("region in ('a', 'b', 'c', 'd', 'e', 'eu')", &m),
        "hashed list"
    );
    assert!(!matches("region NOT IN ('us', 'eu')", &m));
    assert!(matches("region not in ('a', 'b', 'c', 'd', 'e', 'f')", &m));
    assert!(matches("'abc' = 'abc'", &m));
    assert!(!matches("region IN ('EU')", &m), "case matters");
}

#[test]
fn missing_properties_make_comparisons_unknown() {
    let m = [("a", "1")];
    assert_eq!(eval("b = 1", &m), None);
    assert_eq!(eval("b <> 1", &m), None);
    assert_eq!(eval("b > 1", &m), None);
    assert_eq!(eval("b BETWEEN 1 AND 2", &m), None);
    assert_eq!(eval("b NOT BETWEEN 1 AND 2", &m), None);
    assert_eq!(eval("b IN ('1')", &m), None);
    assert_eq!(eval("b NOT IN ('1')", &m), None);
    assert_eq!(eval("NOT (b = 1)", &m), None);
    // unknown OR true is true, unknown AND false is false
    assert_eq!(eval("b = 1 OR a = 1", &m), Some(true));
    assert_eq!(eval("b = 1 OR a = 2", &m), None);
    assert_eq!(eval("b = 1 AND a = 2", &m), Some(false));
    assert_eq!(eval("b = 1 AND a = 1", &m), None);
    // a constant on the left against a missing property is plain false
    assert_eq!(eval("1 = b", &m), Some(false));
    // string tests are false, never unknown
    assert_eq!(eval("b CONTAINS 'x'", &m), Some(false));
    assert_eq!(eval("b NOT CONTAINS 'x'", &m), Some(false));
    assert!(!matches("b <> 1", &m));
}

#[test]
fn is_null_and_is_not_null() {
    let m = [("a", "1")];
    assert_eq!(eval("b IS NULL", &m), Some(true));
    assert_eq!(eval("a IS NULL", &m), Some(false));
    assert_eq!(eval("a is not null", &m), Some(true));
    assert_eq!(eval("b IS NOT NULL", &m), Some(false));
    assert_eq!(eval("b IS NULL OR b > 5", &m), Some(true));
    assert_eq!(
        eval("key is not null and key between 0 and 100", &m),
        Some(false)
    );
}

#[test]
fn between_and_not_between() {
    let m = [("a", "5"), ("low", "1"), ("up", "10"), ("x", "5.5")];
    assert!(matches("a BETWEEN 1 AND 10", &m));
    assert!(matches("a between 5 and 5", &m));
    assert!(!matches("a BETWEEN 6 AND 10", &m));
    assert!(matches("a NOT BETWEEN 6 AND 10", &m));
    assert!(!matches("a NOT BETWEEN 1 AND 10", &m));
    assert!(matches("x BETWEEN 5.0 AND 6.0", &m));
    // as in RocketMQ, an Integer bound parses the property with Integer.valueOf
    assert!(!matches("x BETWEEN 5 AND 6", &m));
    assert!(matches("a BETWEEN low AND up", &m));
    assert!(matches(
        "(a between 2 and 10) AND (a not between 6 and 9)",
        &m
    ));
    assert!(matches("a BETWEEN -1 AND 1.5e1", &m));
}

#[test]
fn true_false_and_boolean_casts() {
    let m = [("flag", "true"), ("n", "1")];
    assert!(matches("TRUE", &m));
    assert!(!matches("FALSE", &m));
    assert!(!matches("NULL", &m));
    assert!(matches("NOT FALSE", &m));
    assert!(matches("flag = TRUE", &m));
    assert!(matches("flag = 'true'", &m));
    assert!(!matches("n = TRUE", &m));
    // a bare property is a boolean cast: strings are never TRUE
    assert_eq!(eval("flag", &m), Some(false));
    assert_eq!(eval("missing", &m), None);
    assert!(matches("NOT flag", &m));
    assert!(matches("TRUE AND n = 1", &m));
    assert!(
        matches("1 = TRUE OR TRUE", &m),
        "a number is never equal to a boolean"
    );
}

#[test]
fn not_binds_tighter_than_comparison() {
    // RocketMQ parses NOT a = 1 as (NOT a) = 1
    let m = [("a", "1")];
    assert_eq!(eval("NOT a = 1", &m), Some(false));
    assert_eq!(eval("NOT (a = 1)", &m), Some(false));
    assert_eq!(eval("NOT (a = 2)", &m), Some(true));
}

#[test]
fn contains_startswith_endswith() {
    let m = [("value", "axb"), ("space", " ")];
    assert!(matches("value contains 'x'", &m));
    assert!(matches("value startswith 'ax'", &m));
    assert!(matches("value endswith 'xb'", &m));
    assert!(!matches("value not contains 'x'", &m));
    assert!(matches("value not startswith 'b'", &m));
    assert!(matches("value NOT ENDSWITH 'a'", &m));
    assert!(
        !matches("value contains ''", &m),
        "an empty search never matches"
    );
    assert!(!matches("value not contains ''", &m));
    assert!(matches("'axb' CONTAINS 'x'", &m));
    assert!(matches("space contains ' '", &m));
    assert!(!matches("value contains '.'", &m));
    let e = refused("value contains x");
    assert_eq!(e.kind, FilterErrorKind::Parse);
    refused("value contains 123");
    refused("'axb' contains ");
}

#[test]
fn numeric_coercion_errors_skip_the_message() {
    let m = [
        ("a", "abc"),
        ("f", "1.5"),
        ("big", "3000000000"),
        ("b", "true"),
    ];
    // a decimal property against an Integer literal: Integer.valueOf("1.5") throws
    assert!(compile("f > 1")
        .unwrap()
        .evaluate(ctx(&m).as_slice())
        .is_err());
    let s = compile("a > 1").unwrap();
    let c = ctx(&m);
    assert!(s.evaluate(c.as_slice()).is_err());
    assert!(!s.matches(c.as_slice()));
    // Integer.valueOf("1.5") fails in RocketMQ too
    assert!(compile("f = 1").unwrap().evaluate(c.as_slice()).is_err());
    assert!(compile("f = 1.5").unwrap().matches(c.as_slice()));
    assert!(compile("big = 1").unwrap().evaluate(c.as_slice()).is_err());
    assert!(compile("big = 3000000000").unwrap().matches(c.as_slice()));
    assert!(
        compile("a > 'x' OR TRUE").is_err(),
        "strings cannot be ordered"
    );
    assert!(compile("a = 'abc'").unwrap().matches(c.as_slice()));
    assert!(compile("a > f").unwrap().evaluate(c.as_slice()).is_err());
    // RocketMQ's Boolean-to-String cast fails whenever the property is present
    assert!(compile("TRUE = b").unwrap().evaluate(c.as_slice()).is_err());
    // an error in one OR branch is not rescued by the next
    assert!(!compile("a > 1 OR TRUE").unwrap().matches(c.as_slice()));
    assert!(compile("TRUE OR a > 1").unwrap().matches(c.as_slice()));
}

#[test]
fn comments_whitespace_and_case() {
    let m = [("a", "1")];
    assert!(matches("/* c */ a\t=\n1 -- done\n", &m));
    assert!(
        matches("A = 1 or a = 1", &m),
        "identifiers are case-sensitive"
    );
    assert!(!matches("A = 1", &m));
    assert!(matches("a = 1 aNd tRuE", &m));
}

#[test]
fn trailing_tokens_after_a_complete_expression_are_ignored() {
    // RocketMQ's grammar has no <EOF> at the end of JmsSelector
    let m = [("a", "1")];
    assert!(matches("a = 1 b", &m));
    assert!(matches("a = 1)", &m));
    assert!(compile("a = 1 #").is_err(), "the next token is still read");
}

#[test]
fn compile_errors_read_like_the_apache_broker() {
    let e = refused("a and between 2 and 10");
    assert_eq!(e.kind, FilterErrorKind::Parse);
    assert!(
        e.to_string().starts_with(
            "org.apache.rocketmq.filter.parser.ParseException: Encountered \" \"BETWEEN\" \"between \"\" at line 1, column 7."
        ),
        "{e}"
    );
    let e = refused("a = ");
    assert!(
        e.message.starts_with("Encountered \"<EOF>\" at line 1"),
        "{e}"
    );
    let e = refused(" a between 10 and 0");
    assert_eq!(
        e.to_string(),
        "java.lang.RuntimeException: Illegal values of between, left value(10) must less than or equal to right value(0)"
    );
    let e = refused("a between NULL and 1");
    assert!(e.message.contains("values can not be null"), "{e}");
    assert_eq!(refused("a = NULL").message, "'NULL' cannot be compared.");
    assert_eq!(
        refused("a > 'x'").to_string(),
        "java.lang.RuntimeException: Value ''x'' cannot be compared."
    );
    assert_eq!(
        refused("a > TRUE").message,
        "Value 'TRUE' cannot be compared."
    );
    assert!(refused("(a > 1) > 2")
        .message
        .contains("cannot be compared"));
    assert_eq!(
        refused("TRUE = 1").message,
        "'TRUE' cannot be compared with '1'"
    );
    assert!(compile("1 = TRUE").is_ok());
    assert_eq!(
        refused("'a' IN ('a')").message,
        "Expected a property for In expression, got: 'a'"
    );
    assert_eq!(
        refused("1").to_string(),
        "org.apache.rocketmq.filter.parser.ParseException: Expression will not result in a boolean value: 1"
    );
    assert_eq!(refused("a AND 'x'").kind, FilterErrorKind::Parse);
    let e = refused("a > 100000000000000000000000");
    assert_eq!(
        e.to_string(),
        "java.lang.NumberFormatException: For input string: \"100000000000000000000000\""
    );
    assert!(refused("a > 1e400")
        .message
        .contains("is greater than 1.7976931348623157E308"));
    assert_eq!(refused("a > 0.0").message, "0.0 is less than 4.9E-324");
    assert_eq!(refused("a in ()").kind, FilterErrorKind::Parse);
    assert_eq!(refused("a in (1)").kind, FilterErrorKind::Parse);
    assert_eq!(refused("a is 1").kind, FilterErrorKind::Parse);
    assert_eq!(refused("a = 'open").kind, FilterErrorKind::Lexical);
    assert_eq!(refused("a.b = 1").kind, FilterErrorKind::Lexical);
    assert_eq!(refused("").kind, FilterErrorKind::Parse);
    assert_eq!(refused("a != 1").kind, FilterErrorKind::Lexical);
    assert_eq!(refused("(a = 1").kind, FilterErrorKind::Parse);
}

#[test]
fn literals_keep_java_types() {
    let m = [("a", "2147483648"), ("b", "-5")];
    assert!(matches("a = 2147483648", &m), "a Long literal");
    assert!(matches("a > 2147483647.0", &m));
    assert!(!matches("a > 2147483647", &m), "Integer.valueOf overflows");
    assert!(matches("b = -5", &m));
    assert!(matches("b < -4.5", &m));
    assert!(matches("b = +-5", &m));
    assert!(matches("b BETWEEN -10 AND .5", &m));
}

#[test]
fn deep_nesting_is_refused_not_a_crash() {
    let deep = format!("{}a = 1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(compile(&deep).is_err());
    let nots = format!("{}TRUE", "NOT ".repeat(5000));
    assert!(compile(&nots).is_err());
    let eqs = format!("a{}", " = 1".repeat(5000));
    assert!(compile(&eqs).is_err());
    // long flat chains are fine
    let ors = vec!["a = 1"; 5000].join(" OR ");
    assert!(matches(&ors, &[("a", "1")]));
    let ands = vec!["a = 1"; 5000].join(" AND ");
    assert!(matches(&ands, &[("a", "1")]));
    // very long chains compile in linear time, and print without quadratic copying
    let huge = vec!["a = 1"; 200_000].join(" OR ");
    let s = compile(&huge).unwrap();
    assert!(s.matches([("a", "1")].as_slice()));
    assert!(s.to_string().len() > 200_000);
    let e = refused(&format!("({huge}) > 1"));
    assert!(e.message.starts_with("Value '"), "{}", &e.message[..40]);
    let modest = format!("{}a = 1{}", "(".repeat(20), ")".repeat(20));
    assert!(matches(&modest, &[("a", "1")]));
}

#[test]
fn display_prints_the_java_form() {
    let s = compile("a=3 and b<>4 or c in ('x')").unwrap();
    assert_eq!(
        s.to_string(),
        "(((a == 3) && (NOT (b == 4))) || c IN ( x ))"
    );
}

#[test]
fn hash_map_context() {
    let mut m = std::collections::HashMap::new();
    m.insert("k".to_string(), "v".to_string());
    assert_eq!(EvaluationContext::get(&m, "k"), Some("v"));
    assert!(compile("k = 'v'").unwrap().matches(&m));
}

#[test]
fn tag_type_detection() {
    assert!(crate::is_tag_type(None));
    assert!(crate::is_tag_type(Some("")));
    assert!(crate::is_tag_type(Some("TAG")));
    assert!(!crate::is_tag_type(Some("SQL92")));
    assert!(!crate::is_tag_type(Some("tag")));
}

#[test]
fn nesting_up_to_the_limit_compiles() {
    let n = crate::parser::MAX_NESTING - 1;
    let deep = format!("{}a = 1{}", "(".repeat(n), ")".repeat(n));
    assert!(matches(&deep, &[("a", "1")]));
    let nots = format!("{}TRUE", "NOT ".repeat(n));
    assert!(compile(&nots).is_ok());
}

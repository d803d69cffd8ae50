//! The compiled expression tree and its evaluation (`org.apache.rocketmq.filter.expression`).

use std::collections::HashSet;
use std::fmt;

use crate::context::EvaluationContext;
use crate::error::EvaluationError;
use crate::value::{java_compare, java_double_to_string, Value};

/// A literal (`ConstantExpression`; TRUE, FALSE and NULL are `BooleanConstantExpression`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Constant {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(String),
}

impl Constant {
    pub(crate) fn value(&self) -> Value<'_> {
        match self {
            Constant::Null => Value::Null,
            Constant::Bool(b) => Value::Bool(*b),
            Constant::Int(i) => Value::Int(*i),
            Constant::Long(l) => Value::Long(*l),
            Constant::Double(d) => Value::Double(*d),
            Constant::Str(s) => Value::Str(s),
        }
    }

    /// TRUE, FALSE and NULL are boolean expressions; numbers and strings are not.
    pub(crate) fn is_boolean(&self) -> bool {
        matches!(self, Constant::Null | Constant::Bool(_))
    }
}

/// `>`, `>=`, `<`, `<=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Relation {
    fn symbol(self) -> &'static str {
        match self {
            Relation::Gt => ">",
            Relation::Ge => ">=",
            Relation::Lt => "<",
            Relation::Le => "<=",
        }
    }

    fn holds(self, ord: std::cmp::Ordering) -> bool {
        match self {
            Relation::Gt => ord.is_gt(),
            Relation::Ge => ord.is_ge(),
            Relation::Lt => ord.is_lt(),
            Relation::Le => ord.is_le(),
        }
    }
}

/// CONTAINS, STARTSWITH, ENDSWITH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StringTest {
    Contains,
    StartsWith,
    EndsWith,
}

impl StringTest {
    fn symbol(self) -> &'static str {
        match self {
            StringTest::Contains => "CONTAINS",
            StringTest::StartsWith => "STARTSWITH",
            StringTest::EndsWith => "ENDSWITH",
        }
    }
}

/// The values of an IN list: a few are scanned, more are hashed, as RocketMQ does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum InList {
    Few(Vec<String>),
    Many(HashSet<String>),
}

impl InList {
    pub(crate) fn new(items: Vec<String>) -> Self {
        if items.len() < 5 {
            InList::Few(items)
        } else {
            InList::Many(items.into_iter().collect())
        }
    }

    fn contains(&self, s: &str) -> bool {
        match self {
            InList::Few(v) => v.iter().any(|i| i == s),
            InList::Many(h) => h.contains(s),
        }
    }

    fn items(&self) -> Vec<&str> {
        match self {
            InList::Few(v) => v.iter().map(String::as_str).collect(),
            InList::Many(h) => h.iter().map(String::as_str).collect(),
        }
    }
}

/// The operands of an AND or OR chain, with the depth of the deepest one kept so that
/// growing a long chain stays linear.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Terms {
    pub(crate) items: Vec<Expr>,
    max_depth: usize,
}

impl Terms {
    pub(crate) fn new() -> Self {
        Terms {
            items: Vec::new(),
            max_depth: 0,
        }
    }

    pub(crate) fn push(&mut self, e: Expr) {
        self.max_depth = self.max_depth.max(e.depth());
        self.items.push(e);
    }

    pub(crate) fn append(&mut self, other: Terms) {
        self.max_depth = self.max_depth.max(other.max_depth);
        self.items.extend(other.items);
    }
}

/// One node of a compiled selector.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Constant(Constant),
    Property(String),
    /// Unary minus.
    Negate(Box<Expr>),
    Not(Box<Expr>),
    /// A bare property used as a condition.
    BooleanCast(Box<Expr>),
    /// A chain of ANDs, evaluated left to right.
    And(Terms),
    /// A chain of ORs, evaluated left to right.
    Or(Terms),
    Equal(Box<Expr>, Box<Expr>),
    Compare(Relation, Box<Expr>, Box<Expr>),
    In {
        property: String,
        list: Option<InList>,
        not: bool,
    },
    StringTest {
        test: StringTest,
        not: bool,
        operand: Box<Expr>,
        search: String,
    },
}

type EvalResult<'a> = Result<Value<'a>, EvaluationError>;

impl Expr {
    /// Whether the node is a `BooleanExpression` in RocketMQ's class hierarchy.
    pub(crate) fn is_boolean(&self) -> bool {
        match self {
            Expr::Constant(c) => c.is_boolean(),
            Expr::Property(_) | Expr::Negate(_) => false,
            _ => true,
        }
    }

    /// Tree depth, bounded at parse time so evaluation cannot exhaust the stack.
    pub(crate) fn depth(&self) -> usize {
        1 + match self {
            Expr::Constant(_) | Expr::Property(_) | Expr::In { .. } => 0,
            Expr::Negate(e) | Expr::Not(e) | Expr::BooleanCast(e) => e.depth(),
            Expr::StringTest { operand, .. } => operand.depth(),
            Expr::And(t) | Expr::Or(t) => t.max_depth,
            Expr::Equal(l, r) | Expr::Compare(_, l, r) => l.depth().max(r.depth()),
        }
    }

    pub(crate) fn evaluate<'a, C: EvaluationContext + ?Sized>(
        &'a self,
        ctx: &'a C,
    ) -> EvalResult<'a> {
        Ok(match self {
            Expr::Constant(c) => c.value(),
            Expr::Property(name) => ctx.get(name).map_or(Value::Null, Value::Str),
            Expr::Negate(e) => match e.evaluate(ctx)? {
                Value::Int(i) => Value::Int(i.wrapping_neg()),
                Value::Long(l) => Value::Long(l.wrapping_neg()),
                Value::Double(d) => Value::Double(-d),
                _ => Value::Null,
            },
            Expr::Not(e) => match as_bool(e.evaluate(ctx)?)? {
                None => Value::Null,
                Some(b) => Value::Bool(!b),
            },
            Expr::BooleanCast(e) => match e.evaluate(ctx)? {
                Value::Null => Value::Null,
                Value::Bool(b) => Value::Bool(b),
                _ => Value::Bool(false),
            },
            Expr::And(terms) => evaluate_chain(terms, ctx, false)?,
            Expr::Or(terms) => evaluate_chain(terms, ctx, true)?,
            Expr::Equal(l, r) => evaluate_equal(l, r, ctx)?,
            Expr::Compare(rel, l, r) => evaluate_compare(*rel, l, r, ctx)?,
            Expr::In {
                property,
                list,
                not,
            } => match ctx.get(property) {
                None => Value::Null,
                Some(v) => Value::Bool(list.as_ref().is_some_and(|l| l.contains(v)) ^ not),
            },
            Expr::StringTest {
                test,
                not,
                operand,
                search,
            } => {
                if search.is_empty() {
                    return Ok(Value::Bool(false));
                }
                match operand.evaluate(ctx)? {
                    Value::Str(s) => {
                        let hit = match test {
                            StringTest::Contains => s.contains(search.as_str()),
                            StringTest::StartsWith => s.starts_with(search.as_str()),
                            StringTest::EndsWith => s.ends_with(search.as_str()),
                        };
                        Value::Bool(hit ^ not)
                    }
                    _ => Value::Bool(false),
                }
            }
        })
    }
}

/// An AND chain (`decisive` false) or an OR chain (`decisive` true), left to right: the first
/// term equal to `decisive` decides; otherwise an unknown (NULL) term makes the chain unknown.
fn evaluate_chain<'a, C: EvaluationContext + ?Sized>(
    terms: &'a Terms,
    ctx: &'a C,
    decisive: bool,
) -> EvalResult<'a> {
    let mut unknown = false;
    for t in &terms.items {
        match as_bool(t.evaluate(ctx)?)? {
            Some(b) if b == decisive => return Ok(Value::Bool(decisive)),
            None => unknown = true,
            Some(_) => {}
        }
    }
    Ok(if unknown {
        Value::Null
    } else {
        Value::Bool(!decisive)
    })
}

/// `=`: NULL equals only NULL; a NULL left side is unknown.
fn evaluate_equal<'a, C: EvaluationContext + ?Sized>(
    l: &'a Expr,
    r: &'a Expr,
    ctx: &'a C,
) -> EvalResult<'a> {
    let lv = l.evaluate(ctx)?;
    let rv = r.evaluate(ctx)?;
    Ok(match (lv, rv) {
        (Value::Null, Value::Null) => Value::Bool(true),
        (Value::Null, _) => Value::Null,
        (_, Value::Null) => Value::Bool(false),
        _ if lv.java_equals(&rv) => Value::Bool(true),
        _ => Value::Bool(java_compare(&lv, &rv)?.is_eq()),
    })
}

/// `>`, `>=`, `<`, `<=`: unknown when a side is NULL (the right side is not evaluated when the
/// left one is).
fn evaluate_compare<'a, C: EvaluationContext + ?Sized>(
    rel: Relation,
    l: &'a Expr,
    r: &'a Expr,
    ctx: &'a C,
) -> EvalResult<'a> {
    let lv = l.evaluate(ctx)?;
    if lv == Value::Null {
        return Ok(Value::Null);
    }
    let rv = r.evaluate(ctx)?;
    if rv == Value::Null {
        return Ok(Value::Null);
    }
    let ord = match (lv, rv) {
        // strings are only ordered as numbers
        (Value::Str(a), Value::Str(b)) => {
            match (
                crate::value::parse_java_double(a),
                crate::value::parse_java_double(b),
            ) {
                (Ok(x), Ok(y)) => crate::value::double_compare(x, y),
                _ => {
                    return Err(EvaluationError(format!(
                        "It's illegal to compare string by '>=', '>', '<', '<='. lv={a}, rv={b}"
                    )))
                }
            }
        }
        _ => java_compare(&lv, &rv)?,
    };
    Ok(Value::Bool(rel.holds(ord)))
}

/// The `(Boolean)` cast RocketMQ applies to a logic operand.
fn as_bool(v: Value<'_>) -> Result<Option<bool>, EvaluationError> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        other => Err(EvaluationError(format!(
            "java.lang.ClassCastException: {other} is not a Boolean"
        ))),
    }
}

/// `ConstantExpression.encodeString`.
fn encode_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl fmt::Display for Expr {
    /// RocketMQ's `toString` of the expression, as its error messages print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Constant(c) => match c {
                Constant::Null => f.write_str("NULL"),
                Constant::Bool(true) => f.write_str("TRUE"),
                Constant::Bool(false) => f.write_str("FALSE"),
                Constant::Int(i) => write!(f, "{i}"),
                Constant::Long(l) => write!(f, "{l}"),
                Constant::Double(d) => f.write_str(&java_double_to_string(*d)),
                Constant::Str(s) => f.write_str(&encode_string(s)),
            },
            Expr::Property(name) => f.write_str(name),
            Expr::Negate(e) => write!(f, "(- {e})"),
            Expr::Not(e) => write!(f, "(NOT {e})"),
            Expr::BooleanCast(e) => write!(f, "{e}"),
            Expr::And(terms) | Expr::Or(terms) => {
                let symbol = if matches!(self, Expr::And(_)) {
                    "&&"
                } else {
                    "||"
                };
                // left-nested pairs, as the binary Java tree prints: ((a && b) && c)
                let items = &terms.items;
                for _ in 1..items.len() {
                    f.write_str("(")?;
                }
                for (i, t) in items.iter().enumerate() {
                    if i == 0 {
                        write!(f, "{t}")?;
                    } else {
                        write!(f, " {symbol} {t})")?;
                    }
                }
                Ok(())
            }
            Expr::Equal(l, r) => write!(f, "({l} == {r})"),
            Expr::Compare(rel, l, r) => write!(f, "({l} {} {r})", rel.symbol()),
            Expr::In {
                property,
                list,
                not,
            } => {
                let items = list.as_ref().map(InList::items).unwrap_or_default();
                let symbol = if *not { "NOT IN" } else { "IN" };
                write!(f, "{property} {symbol} ( {} )", items.join(", "))
            }
            Expr::StringTest {
                test, not, operand, ..
            } => {
                let not = if *not { "NOT " } else { "" };
                write!(f, "({not}{} {operand})", test.symbol())
            }
        }
    }
}

/// A compiled SQL92 selector; compile once per subscription, evaluate per message.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    root: Expr,
}

impl Selector {
    pub(crate) fn new(root: Expr) -> Self {
        Selector { root }
    }

    /// The raw result: `Bool(true)`, `Bool(false)` or `Null` (unknown), or the error RocketMQ
    /// would throw for this message (e.g. a non-numeric property compared with a number).
    pub fn evaluate<'a, C: EvaluationContext + ?Sized>(
        &'a self,
        ctx: &'a C,
    ) -> Result<Value<'a>, EvaluationError> {
        self.root.evaluate(ctx)
    }

    /// Whether the message is selected: only a definite TRUE selects; unknown and errors do
    /// not (`ExpressionMessageFilter.isMatchedByCommitLog`).
    pub fn matches<C: EvaluationContext + ?Sized>(&self, ctx: &C) -> bool {
        matches!(self.evaluate(ctx), Ok(Value::Bool(true)))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.fmt(f)
    }
}

//! Recursive-descent parser for `SelectorParser.jj`, with the checks RocketMQ makes while it
//! builds the expression (`ComparisonExpression.create*`, `ConstantExpression.create*`).
//!
//! As in RocketMQ, parsing stops after the first complete expression: tokens after it are not
//! examined (only the one following token is read).

use crate::error::{FilterError, FilterErrorKind};
use crate::expression::{Constant, Expr, InList, Relation, StringTest, Terms};
use crate::lexer::{escape, Kind, Lexer, Token};
use crate::value::{java_compare, java_double_to_string};

/// Deepest expression tree accepted, so that evaluating it cannot exhaust a thread's stack
/// (Java throws `StackOverflowError` for the same reason, much later).
pub(crate) const MAX_DEPTH: usize = 100;
/// Deepest nesting of parentheses and unary operators the recursive parser descends into.
pub(crate) const MAX_NESTING: usize = 32;

/// Parses `src` into a boolean expression (`SelectorParser.JmsSelector`).
pub(crate) fn parse(src: &str) -> Result<Expr, FilterError> {
    let mut p = Parser {
        lexer: Lexer::new(src),
        ahead: Vec::with_capacity(2),
        nesting: 0,
    };
    let e = p.or_expression()?;
    as_boolean(e)
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    /// Read but not consumed tokens (at most two: JavaCC's LOOKAHEAD(2)).
    ahead: Vec<Token<'a>>,
    nesting: usize,
}

type PResult<T> = Result<T, FilterError>;

impl<'a> Parser<'a> {
    fn peek_n(&mut self, n: usize) -> PResult<Token<'a>> {
        while self.ahead.len() <= n {
            let t = self.lexer.next_token()?;
            self.ahead.push(t);
        }
        Ok(self.ahead[n])
    }

    fn peek(&mut self) -> PResult<Kind> {
        Ok(self.peek_n(0)?.kind)
    }

    fn bump(&mut self) -> PResult<Token<'a>> {
        self.peek_n(0)?;
        Ok(self.ahead.remove(0))
    }

    fn expect(&mut self, kind: Kind, expected: &[Kind]) -> PResult<Token<'a>> {
        let t = self.peek_n(0)?;
        if t.kind == kind {
            self.bump()
        } else {
            Err(unexpected(t, expected))
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(FilterError::new(
                FilterErrorKind::Parse,
                format!("Expression nested too deeply (more than {MAX_NESTING} levels)"),
            ));
        }
        Ok(())
    }

    fn or_expression(&mut self) -> PResult<Expr> {
        let mut left = self.and_expression()?;
        while self.peek()? == Kind::Or {
            self.bump()?;
            let right = self.and_expression()?;
            left = logic(left, right, false)?;
        }
        Ok(left)
    }

    fn and_expression(&mut self) -> PResult<Expr> {
        let mut left = self.equality_expression()?;
        while self.peek()? == Kind::And {
            self.bump()?;
            let right = self.equality_expression()?;
            left = logic(left, right, true)?;
        }
        Ok(left)
    }

    fn equality_expression(&mut self) -> PResult<Expr> {
        let mut left = self.comparison_expression()?;
        loop {
            left = match self.peek()? {
                Kind::Eq => {
                    self.bump()?;
                    let right = self.comparison_expression()?;
                    create_equal(left, right)?
                }
                Kind::Ne => {
                    self.bump()?;
                    let right = self.comparison_expression()?;
                    not(create_equal(left, right)?)?
                }
                Kind::Is => {
                    self.bump()?;
                    if self.peek()? == Kind::Null {
                        self.bump()?;
                        equal_null(left)?
                    } else {
                        self.expect(Kind::Not, &[Kind::Null, Kind::Not])?;
                        self.expect(Kind::Null, &[Kind::Null])?;
                        not(equal_null(left)?)?
                    }
                }
                _ => return Ok(left),
            };
        }
    }

    fn comparison_expression(&mut self) -> PResult<Expr> {
        let mut left = self.unary_expression()?;
        loop {
            let kind = self.peek()?;
            left = match kind {
                Kind::Gt | Kind::Ge | Kind::Lt | Kind::Le => {
                    self.bump()?;
                    let right = self.unary_expression()?;
                    let rel = match kind {
                        Kind::Gt => Relation::Gt,
                        Kind::Ge => Relation::Ge,
                        Kind::Lt => Relation::Lt,
                        _ => Relation::Le,
                    };
                    create_compare(rel, left, right)?
                }
                Kind::Contains | Kind::StartsWith | Kind::EndsWith => {
                    self.bump()?;
                    let search = self.string_literal()?;
                    string_test(kind, false, left, search)?
                }
                Kind::Between => {
                    self.bump()?;
                    let (low, high) = self.between_bounds()?;
                    create_between(left, low, high)?
                }
                Kind::In => {
                    self.bump()?;
                    let items = self.in_list()?;
                    create_in(left, items, false)?
                }
                Kind::Not => {
                    // LOOKAHEAD(2): only NOT followed by one of these belongs here
                    let next = self.peek_n(1)?.kind;
                    match next {
                        Kind::Contains | Kind::StartsWith | Kind::EndsWith => {
                            self.bump()?;
                            self.bump()?;
                            let search = self.string_literal()?;
                            string_test(next, true, left, search)?
                        }
                        Kind::Between => {
                            self.bump()?;
                            self.bump()?;
                            let (low, high) = self.between_bounds()?;
                            create_not_between(left, low, high)?
                        }
                        Kind::In => {
                            self.bump()?;
                            self.bump()?;
                            let items = self.in_list()?;
                            create_in(left, items, true)?
                        }
                        _ => return Ok(left),
                    }
                }
                _ => return Ok(left),
            };
        }
    }

    fn between_bounds(&mut self) -> PResult<(Expr, Expr)> {
        let low = self.unary_expression()?;
        self.expect(Kind::And, &[Kind::And])?;
        let high = self.unary_expression()?;
        Ok((low, high))
    }

    fn in_list(&mut self) -> PResult<Vec<String>> {
        self.expect(Kind::LParen, &[Kind::LParen])?;
        let mut items = vec![self.string_literal()?];
        while self.peek()? == Kind::Comma {
            self.bump()?;
            items.push(self.string_literal()?);
        }
        self.expect(Kind::RParen, &[Kind::Comma, Kind::RParen])?;
        Ok(items)
    }

    fn unary_expression(&mut self) -> PResult<Expr> {
        self.enter()?;
        let e = match self.peek()? {
            Kind::Plus => {
                self.bump()?;
                self.unary_expression()?
            }
            Kind::Minus => {
                self.bump()?;
                bounded(Expr::Negate(Box::new(self.unary_expression()?)))?
            }
            Kind::Not => {
                self.bump()?;
                let operand = self.unary_expression()?;
                not(as_boolean(operand)?)?
            }
            _ => self.primary_expression()?,
        };
        self.nesting -= 1;
        Ok(e)
    }

    fn primary_expression(&mut self) -> PResult<Expr> {
        let t = self.peek_n(0)?;
        match t.kind {
            Kind::LParen => {
                self.bump()?;
                let e = self.or_expression()?;
                self.expect(Kind::RParen, &[Kind::RParen, Kind::And, Kind::Or])?;
                Ok(e)
            }
            Kind::Id => {
                self.bump()?;
                Ok(Expr::Property(t.text.to_string()))
            }
            Kind::Str => Ok(Expr::Constant(Constant::Str(self.string_literal()?))),
            Kind::Decimal => {
                self.bump()?;
                create_from_decimal(t.text)
            }
            Kind::Float => {
                self.bump()?;
                create_float(t.text)
            }
            Kind::True => {
                self.bump()?;
                Ok(Expr::Constant(Constant::Bool(true)))
            }
            Kind::False => {
                self.bump()?;
                Ok(Expr::Constant(Constant::Bool(false)))
            }
            Kind::Null => {
                self.bump()?;
                Ok(Expr::Constant(Constant::Null))
            }
            _ => Err(unexpected(
                t,
                &[
                    Kind::Str,
                    Kind::Decimal,
                    Kind::Float,
                    Kind::True,
                    Kind::False,
                    Kind::Null,
                    Kind::Id,
                    Kind::LParen,
                    Kind::Plus,
                    Kind::Minus,
                    Kind::Not,
                ],
            )),
        }
    }

    /// A string literal with `''` decoded to `'`.
    fn string_literal(&mut self) -> PResult<String> {
        let t = self.expect(Kind::Str, &[Kind::Str])?;
        let inner = &t.text[1..t.text.len() - 1];
        Ok(inner.replace("''", "'"))
    }
}

/// JavaCC's `ParseException` text for an unexpected token.
fn unexpected(t: Token<'_>, expected: &[Kind]) -> FilterError {
    let found = if t.kind == Kind::Eof {
        Kind::Eof.image().to_string()
    } else {
        format!(" {} \"{} \"", t.kind.image(), escape(t.text))
    };
    let mut message = format!(
        "Encountered \"{found}\" at line {}, column {}.\n",
        t.line, t.column
    );
    message.push_str(if expected.len() == 1 {
        "Was expecting:\n"
    } else {
        "Was expecting one of:\n"
    });
    for k in expected {
        message.push_str("    ");
        message.push_str(k.image());
        message.push_str(" ...\n");
    }
    FilterError::new(FilterErrorKind::Parse, message)
}

fn too_deep() -> FilterError {
    FilterError::new(
        FilterErrorKind::Parse,
        format!("Expression nested too deeply (more than {MAX_DEPTH} levels)"),
    )
}

fn bounded(e: Expr) -> PResult<Expr> {
    if e.depth() > MAX_DEPTH {
        Err(too_deep())
    } else {
        Ok(e)
    }
}

/// `asBooleanExpression`: a property becomes a boolean cast; numbers and strings are refused.
fn as_boolean(e: Expr) -> PResult<Expr> {
    match e {
        Expr::Property(_) => bounded(Expr::BooleanCast(Box::new(e))),
        e if e.is_boolean() => Ok(e),
        e => Err(FilterError::new(
            FilterErrorKind::Parse,
            format!("Expression will not result in a boolean value: {e}"),
        )),
    }
}

fn not(e: Expr) -> PResult<Expr> {
    bounded(Expr::Not(Box::new(e)))
}

/// AND / OR; chains are kept flat so that long machine-written selectors stay shallow.
fn logic(left: Expr, right: Expr, and: bool) -> PResult<Expr> {
    let left = as_boolean(left)?;
    let right = as_boolean(right)?;
    // extend the left chain in place: rebuilding it for every operand would be quadratic
    let mut terms = match left {
        Expr::And(t) if and => t,
        Expr::Or(t) if !and => t,
        e => {
            let mut t = Terms::new();
            t.push(e);
            t
        }
    };
    match right {
        Expr::And(t) if and => terms.append(t),
        Expr::Or(t) if !and => terms.append(t),
        e => terms.push(e),
    }
    bounded(if and {
        Expr::And(terms)
    } else {
        Expr::Or(terms)
    })
}

fn is_constant(e: &Expr) -> bool {
    matches!(e, Expr::Constant(_))
}

/// `checkEqualOperand`: NULL is compared with IS NULL, never with `=`.
fn check_equal_operand(e: &Expr) -> PResult<()> {
    if matches!(e, Expr::Constant(Constant::Null)) {
        return Err(FilterError::semantic(format!("'{e}' cannot be compared.")));
    }
    Ok(())
}

fn create_equal(left: Expr, right: Expr) -> PResult<Expr> {
    check_equal_operand(&left)?;
    check_equal_operand(&right)?;
    // checkEqualOperandCompatability
    if is_constant(&left) && is_constant(&right) && left.is_boolean() && !right.is_boolean() {
        return Err(FilterError::semantic(format!(
            "'{left}' cannot be compared with '{right}'"
        )));
    }
    bounded(Expr::Equal(Box::new(left), Box::new(right)))
}

fn equal_null(left: Expr) -> PResult<Expr> {
    bounded(Expr::Equal(
        Box::new(left),
        Box::new(Expr::Constant(Constant::Null)),
    ))
}

/// `checkLessThanOperand`: only numbers (or what may evaluate to one) can be ordered.
fn check_less_than_operand(e: &Expr) -> PResult<()> {
    let ok = match e {
        Expr::Constant(c) => c.value().is_number(),
        e => !e.is_boolean(),
    };
    if ok {
        Ok(())
    } else {
        Err(FilterError::semantic(format!(
            "Value '{e}' cannot be compared."
        )))
    }
}

fn create_compare(rel: Relation, left: Expr, right: Expr) -> PResult<Expr> {
    check_less_than_operand(&left)?;
    check_less_than_operand(&right)?;
    bounded(Expr::Compare(rel, Box::new(left), Box::new(right)))
}

/// `createBetween`: `value >= low AND value <= high`, refusing constant bounds out of order.
fn create_between(value: Expr, low: Expr, high: Expr) -> PResult<Expr> {
    if let (Expr::Constant(l), Expr::Constant(h)) = (&low, &high) {
        let (lv, hv) = (l.value(), h.value());
        if lv == crate::Value::Null || hv == crate::Value::Null {
            return Err(FilterError::semantic(
                "Illegal values of between, values can not be null!",
            ));
        }
        let ord = java_compare(&hv, &lv).map_err(|e| FilterError::semantic(e.0))?;
        if ord.is_lt() {
            return Err(FilterError::semantic(format!(
                "Illegal values of between, left value({lv}) must less than or equal to right value({hv})"
            )));
        }
    }
    let ge = create_compare(Relation::Ge, value.clone(), low)?;
    let le = create_compare(Relation::Le, value, high)?;
    let mut terms = Terms::new();
    terms.push(ge);
    terms.push(le);
    bounded(Expr::And(terms))
}

/// `createNotBetween`: `value < low OR value > high`.
fn create_not_between(value: Expr, low: Expr, high: Expr) -> PResult<Expr> {
    let lt = create_compare(Relation::Lt, value.clone(), low)?;
    let gt = create_compare(Relation::Gt, value, high)?;
    let mut terms = Terms::new();
    terms.push(lt);
    terms.push(gt);
    bounded(Expr::Or(terms))
}

fn create_in(left: Expr, items: Vec<String>, not: bool) -> PResult<Expr> {
    let Expr::Property(property) = left else {
        return Err(FilterError::semantic(format!(
            "Expected a property for In expression, got: {left}"
        )));
    };
    let list = if items.is_empty() {
        None
    } else {
        Some(InList::new(items))
    };
    Ok(Expr::In {
        property,
        list,
        not,
    })
}

fn string_test(kind: Kind, not: bool, operand: Expr, search: String) -> PResult<Expr> {
    let test = match kind {
        Kind::Contains => StringTest::Contains,
        Kind::StartsWith => StringTest::StartsWith,
        _ => StringTest::EndsWith,
    };
    bounded(Expr::StringTest {
        test,
        not,
        operand: Box::new(operand),
        search,
    })
}

/// `ConstantExpression.createFromDecimal`: a Long, narrowed to an Integer when it fits.
fn create_from_decimal(text: &str) -> PResult<Expr> {
    let digits = text.strip_suffix(['l', 'L']).unwrap_or(text);
    let value: i64 = digits.parse().map_err(|_| {
        FilterError::new(
            FilterErrorKind::NumberFormat,
            format!("For input string: \"{digits}\""),
        )
    })?;
    Ok(Expr::Constant(match i32::try_from(value) {
        Ok(i) => Constant::Int(i),
        Err(_) => Constant::Long(value),
    }))
}

/// `ConstantExpression.createFloat`: a Double, finite and not below `Double.MIN_VALUE`
/// (so, as in RocketMQ, a literal `0.0` is refused).
fn create_float(text: &str) -> PResult<Expr> {
    let value: f64 = text.parse().map_err(|_| {
        FilterError::new(
            FilterErrorKind::NumberFormat,
            format!("For input string: \"{text}\""),
        )
    })?;
    if value > f64::MAX {
        return Err(FilterError::semantic(format!(
            "{text} is greater than {}",
            java_double_to_string(f64::MAX)
        )));
    }
    if value < f64::from_bits(1) {
        return Err(FilterError::semantic(format!(
            "{text} is less than 4.9E-324"
        )));
    }
    Ok(Expr::Constant(Constant::Double(value)))
}

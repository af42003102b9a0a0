//! Predicates over table columns: unbound (columns by name) and bound (columns by field id,
//! literals in the column's type).
//!
//! - [`PredicateOperator`]: the leaf operators, with their negations.
//! - [`Reference`]: a column by name, with builder methods (`Reference::new("x").less_than(..)`).
//! - [`Predicate`]: the unbound expression tree; [`Predicate::bind`] checks it against a
//!   [`Schema`] and produces a [`BoundPredicate`].
//! - [`BoundReference`], [`BoundPredicate`]: the bound forms. Binding pushes `Not` down (a bound
//!   predicate has no `Not`), converts literals to the column's type where that is lossless, and
//!   folds what the schema already decides (`x IS NULL` on a required column is false).

use std::fmt;

use super::literal::{Converted, DisplayDatum, convert_literal, dedup_literals};
use crate::spec::{Datum, NestedField, PrimitiveType, Schema, Type};
use crate::{Error, Result};

/// The operator of a predicate leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PredicateOperator {
    /// The value is null.
    IsNull,
    /// The value is not null.
    NotNull,
    /// The value is NaN (float and double columns only).
    IsNan,
    /// The value is not NaN (float and double columns only).
    NotNan,
    /// `<`
    LessThan,
    /// `<=`
    LessThanOrEq,
    /// `>`
    GreaterThan,
    /// `>=`
    GreaterThanOrEq,
    /// `=`
    Eq,
    /// `!=`
    NotEq,
    /// The string value starts with the literal.
    StartsWith,
    /// The string value does not start with the literal.
    NotStartsWith,
    /// The value is one of the literals.
    In,
    /// The value is none of the literals.
    NotIn,
}

impl PredicateOperator {
    /// Whether the operator takes no literal (null and NaN checks).
    pub fn is_unary(self) -> bool {
        use PredicateOperator::*;
        matches!(self, IsNull | NotNull | IsNan | NotNan)
    }

    /// Whether the operator takes exactly one literal (comparisons and prefix tests).
    pub fn is_binary(self) -> bool {
        !self.is_unary() && !self.is_set()
    }

    /// Whether the operator takes a set of literals (`In`, `NotIn`).
    pub fn is_set(self) -> bool {
        matches!(self, PredicateOperator::In | PredicateOperator::NotIn)
    }

    /// The operator that holds exactly where this one does not (`<` becomes `>=`).
    pub fn negate(self) -> Self {
        use PredicateOperator::*;
        match self {
            IsNull => NotNull,
            NotNull => IsNull,
            IsNan => NotNan,
            NotNan => IsNan,
            LessThan => GreaterThanOrEq,
            LessThanOrEq => GreaterThan,
            GreaterThan => LessThanOrEq,
            GreaterThanOrEq => LessThan,
            Eq => NotEq,
            NotEq => Eq,
            StartsWith => NotStartsWith,
            NotStartsWith => StartsWith,
            In => NotIn,
            NotIn => In,
        }
    }
}

impl fmt::Display for PredicateOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PredicateOperator::*;
        f.write_str(match self {
            IsNull => "is_null",
            NotNull => "not_null",
            IsNan => "is_nan",
            NotNan => "not_nan",
            LessThan => "<",
            LessThanOrEq => "<=",
            GreaterThan => ">",
            GreaterThanOrEq => ">=",
            Eq => "=",
            NotEq => "!=",
            StartsWith => "starts_with",
            NotStartsWith => "not_starts_with",
            In => "in",
            NotIn => "not_in",
        })
    }
}

/// A column referenced by name (dotted for nested fields, e.g. `location.lat`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    name: String,
}

impl Reference {
    /// A reference to the column named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    /// The referenced column name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn unary(&self, op: PredicateOperator) -> Predicate {
        Predicate::Unary {
            op,
            term: self.clone(),
        }
    }

    fn binary(&self, op: PredicateOperator, literal: Datum) -> Predicate {
        Predicate::Binary {
            op,
            term: self.clone(),
            literal,
        }
    }

    fn set(&self, op: PredicateOperator, literals: impl IntoIterator<Item = Datum>) -> Predicate {
        Predicate::Set {
            op,
            term: self.clone(),
            literals: literals.into_iter().collect(),
        }
    }

    /// `self IS NULL`
    pub fn is_null(&self) -> Predicate {
        self.unary(PredicateOperator::IsNull)
    }

    /// `self IS NOT NULL`
    pub fn is_not_null(&self) -> Predicate {
        self.unary(PredicateOperator::NotNull)
    }

    /// `self` is NaN.
    pub fn is_nan(&self) -> Predicate {
        self.unary(PredicateOperator::IsNan)
    }

    /// `self` is not NaN.
    pub fn is_not_nan(&self) -> Predicate {
        self.unary(PredicateOperator::NotNan)
    }

    /// `self < literal`
    pub fn less_than(&self, literal: Datum) -> Predicate {
        self.binary(PredicateOperator::LessThan, literal)
    }

    /// `self <= literal`
    pub fn less_than_or_eq(&self, literal: Datum) -> Predicate {
        self.binary(PredicateOperator::LessThanOrEq, literal)
    }

    /// `self > literal`
    pub fn greater_than(&self, literal: Datum) -> Predicate {
        self.binary(PredicateOperator::GreaterThan, literal)
    }

    /// `self >= literal`
    pub fn greater_than_or_eq(&self, literal: Datum) -> Predicate {
        self.binary(PredicateOperator::GreaterThanOrEq, literal)
    }

    /// `self = literal`
    pub fn equal_to(&self, literal: Datum) -> Predicate {
        self.binary(PredicateOperator::Eq, literal)
    }

    /// `self != literal`
    pub fn not_equal_to(&self, literal: Datum) -> Predicate {
        self.binary(PredicateOperator::NotEq, literal)
    }

    /// `self` starts with the string `prefix`.
    pub fn starts_with(&self, prefix: impl Into<String>) -> Predicate {
        self.binary(PredicateOperator::StartsWith, Datum::String(prefix.into()))
    }

    /// `self` does not start with the string `prefix`.
    pub fn not_starts_with(&self, prefix: impl Into<String>) -> Predicate {
        self.binary(
            PredicateOperator::NotStartsWith,
            Datum::String(prefix.into()),
        )
    }

    /// `self IN (literals)`
    pub fn is_in(&self, literals: impl IntoIterator<Item = Datum>) -> Predicate {
        self.set(PredicateOperator::In, literals)
    }

    /// `self NOT IN (literals)`
    pub fn is_not_in(&self, literals: impl IntoIterator<Item = Datum>) -> Predicate {
        self.set(PredicateOperator::NotIn, literals)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// An unbound predicate: columns by name, literals as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// Matches every row.
    AlwaysTrue,
    /// Matches no row.
    AlwaysFalse,
    /// Both sides match.
    And(Box<Predicate>, Box<Predicate>),
    /// Either side matches.
    Or(Box<Predicate>, Box<Predicate>),
    /// The inner predicate does not match.
    Not(Box<Predicate>),
    /// A leaf without a literal (`IsNull`, `NotNull`, `IsNan`, `NotNan`).
    Unary {
        /// The operator; must be unary.
        op: PredicateOperator,
        /// The column.
        term: Reference,
    },
    /// A leaf with one literal (comparisons, `StartsWith`, `NotStartsWith`).
    Binary {
        /// The operator; must take one literal.
        op: PredicateOperator,
        /// The column.
        term: Reference,
        /// The value compared with.
        literal: Datum,
    },
    /// A leaf with a set of literals (`In`, `NotIn`).
    Set {
        /// The operator; `In` or `NotIn`.
        op: PredicateOperator,
        /// The column.
        term: Reference,
        /// The values.
        literals: Vec<Datum>,
    },
}

impl Predicate {
    /// `self AND other`, folding `AlwaysTrue` and `AlwaysFalse`.
    pub fn and(self, other: Predicate) -> Predicate {
        match (self, other) {
            (Predicate::AlwaysFalse, _) | (_, Predicate::AlwaysFalse) => Predicate::AlwaysFalse,
            (Predicate::AlwaysTrue, p) | (p, Predicate::AlwaysTrue) => p,
            (a, b) => Predicate::And(Box::new(a), Box::new(b)),
        }
    }

    /// `self OR other`, folding `AlwaysTrue` and `AlwaysFalse`.
    pub fn or(self, other: Predicate) -> Predicate {
        match (self, other) {
            (Predicate::AlwaysTrue, _) | (_, Predicate::AlwaysTrue) => Predicate::AlwaysTrue,
            (Predicate::AlwaysFalse, p) | (p, Predicate::AlwaysFalse) => p,
            (a, b) => Predicate::Or(Box::new(a), Box::new(b)),
        }
    }

    /// The predicate matching exactly the rows this one does not, with the negation pushed
    /// down to the leaves (De Morgan; `<` becomes `>=`, `In` becomes `NotIn`, ...).
    pub fn negate(self) -> Predicate {
        match self {
            Predicate::AlwaysTrue => Predicate::AlwaysFalse,
            Predicate::AlwaysFalse => Predicate::AlwaysTrue,
            Predicate::And(a, b) => a.negate().or(b.negate()),
            Predicate::Or(a, b) => a.negate().and(b.negate()),
            Predicate::Not(p) => *p,
            Predicate::Unary { op, term } => Predicate::Unary {
                op: op.negate(),
                term,
            },
            Predicate::Binary { op, term, literal } => Predicate::Binary {
                op: op.negate(),
                term,
                literal,
            },
            Predicate::Set { op, term, literals } => Predicate::Set {
                op: op.negate(),
                term,
                literals,
            },
        }
    }

    /// Resolve column names against `schema` (exact case, or ignoring case) and convert
    /// literals to the columns' types.
    ///
    /// Fails with a message naming the column when a name is not in the schema, is not a
    /// primitive column, the operator does not fit the column (NaN checks on non-float
    /// columns, prefix tests on non-string columns), or a literal cannot be converted to the
    /// column's type without loss. Literals beyond the type's range fold to `AlwaysTrue` or
    /// `AlwaysFalse`; `Not` is pushed down to the leaves.
    pub fn bind(&self, schema: &Schema, case_sensitive: bool) -> Result<BoundPredicate> {
        match self {
            Predicate::AlwaysTrue => Ok(BoundPredicate::AlwaysTrue),
            Predicate::AlwaysFalse => Ok(BoundPredicate::AlwaysFalse),
            Predicate::And(a, b) => Ok(a
                .bind(schema, case_sensitive)?
                .and(b.bind(schema, case_sensitive)?)),
            Predicate::Or(a, b) => Ok(a
                .bind(schema, case_sensitive)?
                .or(b.bind(schema, case_sensitive)?)),
            Predicate::Not(p) => Ok(p.bind(schema, case_sensitive)?.negate()),
            Predicate::Unary { op, term } => {
                let bound = BoundReference::bind(term, schema, case_sensitive)?;
                bind_unary(self, *op, bound)
            }
            Predicate::Binary { op, term, literal } => {
                let bound = BoundReference::bind(term, schema, case_sensitive)?;
                bind_binary(self, *op, bound, literal)
            }
            Predicate::Set { op, term, literals } => {
                let bound = BoundReference::bind(term, schema, case_sensitive)?;
                bind_set(self, *op, bound, literals)
            }
        }
    }
}

impl std::ops::Not for Predicate {
    type Output = Predicate;

    /// `NOT self`, kept as a `Not` node until binding pushes it down.
    fn not(self) -> Predicate {
        Predicate::Not(Box::new(self))
    }
}

fn wrong_arity(pred: &Predicate, op: PredicateOperator) -> Error {
    let shape = if op.is_unary() {
        "no literal"
    } else if op.is_set() {
        "a set of literals"
    } else {
        "exactly one literal"
    };
    Error::invalid(format!("cannot bind {pred}: operator {op} takes {shape}"))
}

fn reject_nan(pred: &Predicate, literal: &Datum) -> Result<()> {
    let nan = match literal {
        Datum::Float(f) => f.is_nan(),
        Datum::Double(d) => d.is_nan(),
        _ => false,
    };
    if nan {
        return Err(Error::invalid(format!(
            "cannot bind {pred}: NaN is not a comparable literal; use is_nan / not_nan"
        )));
    }
    Ok(())
}

fn bind_unary(
    pred: &Predicate,
    op: PredicateOperator,
    term: BoundReference,
) -> Result<BoundPredicate> {
    use PredicateOperator::*;
    match op {
        IsNull if term.never_null => Ok(BoundPredicate::AlwaysFalse),
        NotNull if term.never_null => Ok(BoundPredicate::AlwaysTrue),
        IsNull | NotNull => Ok(BoundPredicate::Unary { op, term }),
        IsNan | NotNan => match term.field_type {
            PrimitiveType::Float | PrimitiveType::Double => Ok(BoundPredicate::Unary { op, term }),
            other => Err(Error::invalid(format!(
                "cannot bind {pred}: {op} needs a float or double column, but '{}' is {other}",
                term.name
            ))),
        },
        _ => Err(wrong_arity(pred, op)),
    }
}

fn bind_binary(
    pred: &Predicate,
    op: PredicateOperator,
    term: BoundReference,
    literal: &Datum,
) -> Result<BoundPredicate> {
    use PredicateOperator::*;
    if !op.is_binary() {
        return Err(wrong_arity(pred, op));
    }
    reject_nan(pred, literal)?;
    if matches!(op, StartsWith | NotStartsWith)
        && (term.field_type != PrimitiveType::String || !matches!(literal, Datum::String(_)))
    {
        return Err(Error::invalid(format!(
            "cannot bind {pred}: {op} needs a string column and a string literal, but '{}' is {}",
            term.name, term.field_type
        )));
    }
    match convert_for(pred, &term, literal)? {
        Converted::Value(literal) => Ok(BoundPredicate::Binary { op, term, literal }),
        Converted::AboveMax => Ok(match op {
            LessThan | LessThanOrEq | NotEq => BoundPredicate::AlwaysTrue,
            _ => BoundPredicate::AlwaysFalse,
        }),
        Converted::BelowMin => Ok(match op {
            GreaterThan | GreaterThanOrEq | NotEq => BoundPredicate::AlwaysTrue,
            _ => BoundPredicate::AlwaysFalse,
        }),
    }
}

fn bind_set(
    pred: &Predicate,
    op: PredicateOperator,
    term: BoundReference,
    literals: &[Datum],
) -> Result<BoundPredicate> {
    if !op.is_set() {
        return Err(wrong_arity(pred, op));
    }
    let mut values = Vec::with_capacity(literals.len());
    for literal in literals {
        reject_nan(pred, literal)?;
        // A literal outside the column type's range equals no value: drop it from the set.
        if let Converted::Value(v) = convert_for(pred, &term, literal)? {
            values.push(v);
        }
    }
    let mut values = dedup_literals(values);
    let negated = op == PredicateOperator::NotIn;
    if values.len() > 1 {
        return Ok(BoundPredicate::Set {
            op,
            term,
            literals: values,
        });
    }
    Ok(match values.pop() {
        None if negated => BoundPredicate::AlwaysTrue,
        None => BoundPredicate::AlwaysFalse,
        Some(literal) => BoundPredicate::Binary {
            op: if negated {
                PredicateOperator::NotEq
            } else {
                PredicateOperator::Eq
            },
            term,
            literal,
        },
    })
}

fn convert_for(pred: &Predicate, term: &BoundReference, literal: &Datum) -> Result<Converted> {
    convert_literal(literal, &term.field_type).map_err(|why| {
        Error::invalid(format!(
            "cannot bind {pred}: column '{}' is {}, and {why}",
            term.name, term.field_type
        ))
    })
}

/// A column resolved against a schema: its field id, full name and primitive type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BoundReference {
    field_id: i32,
    name: String,
    field_type: PrimitiveType,
    never_null: bool,
}

impl BoundReference {
    /// A bound column; `never_null` says whether the schema guarantees a value in every row
    /// (the field and every struct around it are required).
    pub fn new(
        field_id: i32,
        name: impl Into<String>,
        field_type: PrimitiveType,
        never_null: bool,
    ) -> Self {
        Self {
            field_id,
            name: name.into(),
            field_type,
            never_null,
        }
    }

    /// The field id.
    pub fn field_id(&self) -> i32 {
        self.field_id
    }

    /// The field's full (dotted) name in the schema.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The field's primitive type; bound literals have this type.
    pub fn field_type(&self) -> &PrimitiveType {
        &self.field_type
    }

    /// Whether the schema guarantees the field is never null.
    pub fn is_never_null(&self) -> bool {
        self.never_null
    }

    fn bind(term: &Reference, schema: &Schema, case_sensitive: bool) -> Result<BoundReference> {
        let field = if case_sensitive {
            schema.field_by_name(term.name())
        } else {
            schema.field_by_name_case_insensitive(term.name())
        }
        .ok_or_else(|| {
            Error::invalid(format!(
                "cannot bind a predicate on '{}': schema {} has no {}column of that name",
                term.name(),
                schema.schema_id(),
                if case_sensitive {
                    ""
                } else {
                    "(case-insensitive) "
                }
            ))
        })?;
        let name = schema
            .name_by_id(field.id)
            .unwrap_or(&field.name)
            .to_string();
        let field_type = match field.field_type.as_ref() {
            Type::Primitive(p) => *p,
            other => {
                return Err(Error::invalid(format!(
                    "cannot bind a predicate on '{name}': it is a {other}, and predicates need a primitive column"
                )));
            }
        };
        Ok(BoundReference {
            field_id: field.id,
            never_null: never_null(schema, field),
            name,
            field_type,
        })
    }
}

/// Whether `field` holds a value in every row: it is required and sits only in required
/// structs (a required field of an optional struct is null when the struct is).
fn never_null(schema: &Schema, field: &NestedField) -> bool {
    let mut required = field.required;
    let mut parent = schema.parent_id(field.id);
    while let Some(pid) = parent {
        if !required {
            break;
        }
        required = schema
            .field_by_id(pid)
            .is_some_and(|p| p.required && matches!(p.field_type.as_ref(), Type::Struct(_)));
        parent = schema.parent_id(pid);
    }
    required
}

impl fmt::Display for BoundReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A predicate bound to a schema: columns by field id, literals of the column's type, and no
/// `Not` nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum BoundPredicate {
    /// Matches every row.
    AlwaysTrue,
    /// Matches no row.
    AlwaysFalse,
    /// Both sides match.
    And(Box<BoundPredicate>, Box<BoundPredicate>),
    /// Either side matches.
    Or(Box<BoundPredicate>, Box<BoundPredicate>),
    /// A leaf without a literal.
    Unary {
        /// The operator (unary).
        op: PredicateOperator,
        /// The column.
        term: BoundReference,
    },
    /// A leaf with one literal of the column's type.
    Binary {
        /// The operator (one literal).
        op: PredicateOperator,
        /// The column.
        term: BoundReference,
        /// The literal, of the column's type.
        literal: Datum,
    },
    /// A leaf with two or more distinct literals of the column's type.
    Set {
        /// `In` or `NotIn`.
        op: PredicateOperator,
        /// The column.
        term: BoundReference,
        /// The distinct literals, of the column's type.
        literals: Vec<Datum>,
    },
}

impl BoundPredicate {
    /// `self AND other`, folding `AlwaysTrue` and `AlwaysFalse`.
    pub fn and(self, other: BoundPredicate) -> BoundPredicate {
        match (self, other) {
            (BoundPredicate::AlwaysFalse, _) | (_, BoundPredicate::AlwaysFalse) => {
                BoundPredicate::AlwaysFalse
            }
            (BoundPredicate::AlwaysTrue, p) | (p, BoundPredicate::AlwaysTrue) => p,
            (a, b) => BoundPredicate::And(Box::new(a), Box::new(b)),
        }
    }

    /// `self OR other`, folding `AlwaysTrue` and `AlwaysFalse`.
    pub fn or(self, other: BoundPredicate) -> BoundPredicate {
        match (self, other) {
            (BoundPredicate::AlwaysTrue, _) | (_, BoundPredicate::AlwaysTrue) => {
                BoundPredicate::AlwaysTrue
            }
            (BoundPredicate::AlwaysFalse, p) | (p, BoundPredicate::AlwaysFalse) => p,
            (a, b) => BoundPredicate::Or(Box::new(a), Box::new(b)),
        }
    }

    /// The predicate matching exactly the rows this one does not, negated at the leaves.
    pub fn negate(self) -> BoundPredicate {
        match self {
            BoundPredicate::AlwaysTrue => BoundPredicate::AlwaysFalse,
            BoundPredicate::AlwaysFalse => BoundPredicate::AlwaysTrue,
            BoundPredicate::And(a, b) => a.negate().or(b.negate()),
            BoundPredicate::Or(a, b) => a.negate().and(b.negate()),
            BoundPredicate::Unary { op, term } => BoundPredicate::Unary {
                op: op.negate(),
                term,
            },
            BoundPredicate::Binary { op, term, literal } => BoundPredicate::Binary {
                op: op.negate(),
                term,
                literal,
            },
            BoundPredicate::Set { op, term, literals } => BoundPredicate::Set {
                op: op.negate(),
                term,
                literals,
            },
        }
    }

    /// The column of a leaf (`None` for constants, `And` and `Or`).
    pub fn term(&self) -> Option<&BoundReference> {
        match self {
            BoundPredicate::Unary { term, .. }
            | BoundPredicate::Binary { term, .. }
            | BoundPredicate::Set { term, .. } => Some(term),
            _ => None,
        }
    }

    /// The operator of a leaf (`None` for constants, `And` and `Or`).
    pub fn op(&self) -> Option<PredicateOperator> {
        match self {
            BoundPredicate::Unary { op, .. }
            | BoundPredicate::Binary { op, .. }
            | BoundPredicate::Set { op, .. } => Some(*op),
            _ => None,
        }
    }
}

/// Writes a leaf as `op(term)`, `term op literal` or `term op (a, b, ...)`.
fn fmt_leaf(
    f: &mut fmt::Formatter<'_>,
    op: PredicateOperator,
    term: &dyn fmt::Display,
    literals: LeafLiterals<'_>,
) -> fmt::Result {
    match literals {
        LeafLiterals::None => write!(f, "{op}({term})"),
        LeafLiterals::One(lit) => write!(f, "{term} {op} {}", DisplayDatum(lit)),
        LeafLiterals::Many(lits) => {
            write!(f, "{term} {op} (")?;
            for (i, lit) in lits.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}", DisplayDatum(lit))?;
            }
            f.write_str(")")
        }
    }
}

enum LeafLiterals<'a> {
    None,
    One(&'a Datum),
    Many(&'a [Datum]),
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Predicate::AlwaysTrue => f.write_str("true"),
            Predicate::AlwaysFalse => f.write_str("false"),
            Predicate::And(a, b) => write!(f, "({a} and {b})"),
            Predicate::Or(a, b) => write!(f, "({a} or {b})"),
            Predicate::Not(p) => write!(f, "not({p})"),
            Predicate::Unary { op, term } => fmt_leaf(f, *op, term, LeafLiterals::None),
            Predicate::Binary { op, term, literal } => {
                fmt_leaf(f, *op, term, LeafLiterals::One(literal))
            }
            Predicate::Set { op, term, literals } => {
                fmt_leaf(f, *op, term, LeafLiterals::Many(literals))
            }
        }
    }
}

impl fmt::Display for BoundPredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoundPredicate::AlwaysTrue => f.write_str("true"),
            BoundPredicate::AlwaysFalse => f.write_str("false"),
            BoundPredicate::And(a, b) => write!(f, "({a} and {b})"),
            BoundPredicate::Or(a, b) => write!(f, "({a} or {b})"),
            BoundPredicate::Unary { op, term } => fmt_leaf(f, *op, term, LeafLiterals::None),
            BoundPredicate::Binary { op, term, literal } => {
                fmt_leaf(f, *op, term, LeafLiterals::One(literal))
            }
            BoundPredicate::Set { op, term, literals } => {
                fmt_leaf(f, *op, term, LeafLiterals::Many(literals))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{NestedField, StructType};

    fn schema() -> Schema {
        Schema::builder()
            .with_schema_id(1)
            .with_fields([
                NestedField::required(1, "id", PrimitiveType::Long),
                NestedField::optional(2, "count", PrimitiveType::Int),
                NestedField::optional(3, "Name", PrimitiveType::String),
                NestedField::optional(4, "score", PrimitiveType::Double),
                NestedField::optional(
                    5,
                    "price",
                    PrimitiveType::Decimal {
                        precision: 9,
                        scale: 2,
                    },
                ),
                NestedField::optional(
                    6,
                    "location",
                    Type::Struct(StructType::new(vec![NestedField::required(
                        7,
                        "lat",
                        PrimitiveType::Double,
                    )])),
                ),
                NestedField::required(8, "ts", PrimitiveType::Timestamp),
            ])
            .build()
            .unwrap()
    }

    fn col(name: &str) -> Reference {
        Reference::new(name)
    }

    fn bound(id: i32, name: &str, t: PrimitiveType, never_null: bool) -> BoundReference {
        BoundReference::new(id, name, t, never_null)
    }

    #[test]
    fn bind_resolves_names_to_ids_and_widens_literals() {
        let p = col("id")
            .less_than(Datum::Int(5))
            .bind(&schema(), true)
            .unwrap();
        assert_eq!(
            p,
            BoundPredicate::Binary {
                op: PredicateOperator::LessThan,
                term: bound(1, "id", PrimitiveType::Long, true),
                literal: Datum::Long(5),
            }
        );
        let p = col("price")
            .equal_to(Datum::Int(14))
            .bind(&schema(), true)
            .unwrap();
        assert_eq!(
            p,
            BoundPredicate::Binary {
                op: PredicateOperator::Eq,
                term: bound(
                    5,
                    "price",
                    PrimitiveType::Decimal {
                        precision: 9,
                        scale: 2
                    },
                    false
                ),
                literal: Datum::Decimal {
                    unscaled: 1400,
                    precision: 9,
                    scale: 2
                },
            }
        );
    }

    #[test]
    fn bind_honours_case_sensitivity() {
        assert!(col("name").is_null().bind(&schema(), true).is_err());
        let p = col("name").is_null().bind(&schema(), false).unwrap();
        assert_eq!(p.term().unwrap().field_id(), 3);
        assert_eq!(p.term().unwrap().name(), "Name");
    }

    #[test]
    fn bind_errors_name_the_column_and_the_mismatch() {
        let err = col("count")
            .equal_to(Datum::String("x".into()))
            .bind(&schema(), true)
            .unwrap_err();
        assert!(err.message().contains("'count'"), "{err}");
        assert!(err.message().contains("int"), "{err}");
        assert!(err.message().contains("string literal"), "{err}");

        let err = col("missing").is_null().bind(&schema(), true).unwrap_err();
        assert!(err.message().contains("'missing'"), "{err}");

        let err = col("location").is_null().bind(&schema(), true).unwrap_err();
        assert!(err.message().contains("primitive"), "{err}");

        let err = col("count").is_nan().bind(&schema(), true).unwrap_err();
        assert!(err.message().contains("float or double"), "{err}");

        let err = col("count")
            .starts_with("a")
            .bind(&schema(), true)
            .unwrap_err();
        assert!(err.message().contains("string column"), "{err}");

        let err = col("score")
            .less_than(Datum::Double(f64::NAN))
            .bind(&schema(), true)
            .unwrap_err();
        assert!(err.message().contains("is_nan"), "{err}");

        let err = col("price")
            .equal_to(Datum::Decimal {
                unscaled: 1234,
                precision: 9,
                scale: 3,
            })
            .bind(&schema(), true)
            .unwrap_err();
        assert!(err.message().contains("no exact"), "{err}");

        let malformed = Predicate::Unary {
            op: PredicateOperator::LessThan,
            term: col("count"),
        };
        assert!(malformed.bind(&schema(), true).is_err());
    }

    #[test]
    fn out_of_range_literals_fold_to_constants() {
        let s = schema();
        let big = Datum::Long(1 << 40);
        let c = col("count");
        assert_eq!(
            c.less_than(big.clone()).bind(&s, true).unwrap(),
            BoundPredicate::AlwaysTrue
        );
        assert_eq!(
            c.greater_than(big.clone()).bind(&s, true).unwrap(),
            BoundPredicate::AlwaysFalse
        );
        assert_eq!(
            c.equal_to(big.clone()).bind(&s, true).unwrap(),
            BoundPredicate::AlwaysFalse
        );
        assert_eq!(
            c.not_equal_to(big.clone()).bind(&s, true).unwrap(),
            BoundPredicate::AlwaysTrue
        );
        assert_eq!(
            c.greater_than(Datum::Long(-(1 << 40)))
                .bind(&s, true)
                .unwrap(),
            BoundPredicate::AlwaysTrue
        );
        // Out-of-range set members are dropped; a single remaining one becomes Eq.
        assert_eq!(
            c.is_in([big, Datum::Int(3)]).bind(&s, true).unwrap(),
            BoundPredicate::Binary {
                op: PredicateOperator::Eq,
                term: bound(2, "count", PrimitiveType::Int, false),
                literal: Datum::Int(3),
            }
        );
    }

    #[test]
    fn sets_are_deduplicated_and_folded() {
        let s = schema();
        let c = col("count");
        let p = c
            .is_in([Datum::Int(1), Datum::Long(2), Datum::Int(1)])
            .bind(&s, true)
            .unwrap();
        assert_eq!(
            p,
            BoundPredicate::Set {
                op: PredicateOperator::In,
                term: bound(2, "count", PrimitiveType::Int, false),
                literals: vec![Datum::Int(1), Datum::Int(2)],
            }
        );
        assert_eq!(
            c.is_in([]).bind(&s, true).unwrap(),
            BoundPredicate::AlwaysFalse
        );
        assert_eq!(
            c.is_not_in([]).bind(&s, true).unwrap(),
            BoundPredicate::AlwaysTrue
        );
        assert_eq!(
            c.is_not_in([Datum::Int(4), Datum::Int(4)])
                .bind(&s, true)
                .unwrap()
                .op(),
            Some(PredicateOperator::NotEq)
        );
    }

    #[test]
    fn null_checks_on_never_null_columns_fold() {
        let s = schema();
        assert_eq!(
            col("id").is_null().bind(&s, true).unwrap(),
            BoundPredicate::AlwaysFalse
        );
        assert_eq!(
            col("id").is_not_null().bind(&s, true).unwrap(),
            BoundPredicate::AlwaysTrue
        );
        // `lat` is required, but its struct is optional: it can be null.
        let p = col("location.lat").is_null().bind(&s, true).unwrap();
        assert_eq!(p.op(), Some(PredicateOperator::IsNull));
        assert!(!p.term().unwrap().is_never_null());
    }

    #[test]
    fn not_is_pushed_down_when_binding() {
        let s = schema();
        let p = !(col("count")
            .less_than(Datum::Int(5))
            .and(col("Name").starts_with("a")));
        let b = p.bind(&s, true).unwrap();
        assert_eq!(
            b,
            BoundPredicate::Or(
                Box::new(BoundPredicate::Binary {
                    op: PredicateOperator::GreaterThanOrEq,
                    term: bound(2, "count", PrimitiveType::Int, false),
                    literal: Datum::Int(5),
                }),
                Box::new(BoundPredicate::Binary {
                    op: PredicateOperator::NotStartsWith,
                    term: bound(3, "Name", PrimitiveType::String, false),
                    literal: Datum::String("a".into()),
                }),
            )
        );
        let double_not = !!col("score").is_nan();
        assert_eq!(
            double_not.bind(&s, true).unwrap().op(),
            Some(PredicateOperator::IsNan)
        );
        assert_eq!(
            (!col("count").is_in([Datum::Int(1), Datum::Int(2)]))
                .bind(&s, true)
                .unwrap()
                .op(),
            Some(PredicateOperator::NotIn)
        );
        assert_eq!(
            (!Predicate::AlwaysTrue).bind(&s, true).unwrap(),
            BoundPredicate::AlwaysFalse
        );
    }

    #[test]
    fn unbound_negate_and_constant_folding() {
        let a = col("a").greater_than(Datum::Int(1));
        assert_eq!(a.clone().negate(), col("a").less_than_or_eq(Datum::Int(1)));
        assert_eq!(a.clone().and(Predicate::AlwaysTrue), a);
        assert_eq!(
            a.clone().and(Predicate::AlwaysFalse),
            Predicate::AlwaysFalse
        );
        assert_eq!(a.clone().or(Predicate::AlwaysTrue), Predicate::AlwaysTrue);
        assert_eq!(a.clone().or(Predicate::AlwaysFalse), a);
        for op in [
            PredicateOperator::IsNull,
            PredicateOperator::LessThan,
            PredicateOperator::StartsWith,
            PredicateOperator::In,
        ] {
            assert_eq!(op.negate().negate(), op);
        }
    }

    #[test]
    fn predicates_display_readably() {
        let p = col("x")
            .less_than(Datum::Int(5))
            .or(col("s").is_in([Datum::String("a".into()), Datum::String("b".into())]))
            .and(col("y").is_null());
        assert_eq!(
            p.to_string(),
            r#"((x < 5 or s in ("a", "b")) and is_null(y))"#
        );
    }
}

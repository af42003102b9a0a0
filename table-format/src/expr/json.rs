//! Predicates in the REST catalog spec's JSON expression form (OpenAPI `Expression`, as Java's
//! `ExpressionParser` writes it).
//!
//! - [`predicate_from_json`]: parse `{"type": "and", "left": .., "right": ..}`, `{"type": "eq",
//!   "term": "id", "value": 5}`, `{"type": "in", "term": "id", "values": [1, 2]}`, `{"type":
//!   "is-null", "term": "x"}`, `{"type": "not", "child": ..}`, `true`/`false` (or `{"type":
//!   "true"}`) into a [`Predicate`]. Literal values use the spec's JSON single-value
//!   serialization of the column's type (dates as `"2025-06-15"`, decimals as strings, ...),
//!   so the column is looked up in the schema to read them.
//!
//! Transform terms (`{"type": "transform", ..}`) are not supported: Floe's predicates
//! reference columns only.

use serde_json::Value;

use super::predicate::{Predicate, PredicateOperator, Reference};
use crate::spec::{Datum, PrimitiveType, Schema};
use crate::{Error, Result};

/// Parse a REST-spec JSON expression into a predicate, reading literals with the types of the
/// columns they are compared with (looked up in `schema`, exact case, dotted names for nested
/// fields).
pub fn predicate_from_json(value: &Value, schema: &Schema) -> Result<Predicate> {
    let obj = match value {
        Value::Bool(true) => return Ok(Predicate::AlwaysTrue),
        Value::Bool(false) => return Ok(Predicate::AlwaysFalse),
        Value::Object(o) => o,
        other => {
            return Err(Error::invalid(format!(
                "an expression must be a JSON object or boolean, got {other}"
            )));
        }
    };
    let ty = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid("an expression object needs a string \"type\""))?;
    let child = |key: &str| -> Result<Predicate> {
        let v = obj.get(key).ok_or_else(|| {
            Error::invalid(format!("a '{ty}' expression needs a \"{key}\" expression"))
        })?;
        predicate_from_json(v, schema)
    };
    let unary = |op: PredicateOperator| -> Result<Predicate> {
        let (term, _) = term(obj.get("term"), ty, schema)?;
        Ok(Predicate::Unary { op, term })
    };
    let binary = |op: PredicateOperator| -> Result<Predicate> {
        let (term, column_type) = term(obj.get("term"), ty, schema)?;
        let v = obj
            .get("value")
            .ok_or_else(|| Error::invalid(format!("a '{ty}' expression needs a \"value\"")))?;
        let literal = literal(v, &column_type, &term)?;
        Ok(Predicate::Binary { op, term, literal })
    };
    let set = |op: PredicateOperator| -> Result<Predicate> {
        let (term, column_type) = term(obj.get("term"), ty, schema)?;
        let values = obj.get("values").and_then(Value::as_array).ok_or_else(|| {
            Error::invalid(format!("a '{ty}' expression needs a \"values\" array"))
        })?;
        let literals = values
            .iter()
            .map(|v| literal(v, &column_type, &term))
            .collect::<Result<Vec<_>>>()?;
        Ok(Predicate::Set { op, term, literals })
    };
    use PredicateOperator as Op;
    match ty {
        "true" => Ok(Predicate::AlwaysTrue),
        "false" => Ok(Predicate::AlwaysFalse),
        "and" => Ok(child("left")?.and(child("right")?)),
        "or" => Ok(child("left")?.or(child("right")?)),
        "not" => Ok(Predicate::Not(Box::new(child("child")?))),
        "is-null" => unary(Op::IsNull),
        "not-null" => unary(Op::NotNull),
        "is-nan" => unary(Op::IsNan),
        "not-nan" => unary(Op::NotNan),
        "lt" => binary(Op::LessThan),
        "lt-eq" => binary(Op::LessThanOrEq),
        "gt" => binary(Op::GreaterThan),
        "gt-eq" => binary(Op::GreaterThanOrEq),
        "eq" => binary(Op::Eq),
        "not-eq" => binary(Op::NotEq),
        "starts-with" => binary(Op::StartsWith),
        "not-starts-with" => binary(Op::NotStartsWith),
        "in" => set(Op::In),
        "not-in" => set(Op::NotIn),
        other => Err(Error::invalid(format!("unknown expression type '{other}'"))),
    }
}

/// The referenced column and its type.
fn term(v: Option<&Value>, ty: &str, schema: &Schema) -> Result<(Reference, PrimitiveType)> {
    let name = match v {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Object(o)) if o.get("type").and_then(Value::as_str) == Some("transform") => {
            return Err(Error::unsupported(
                "transform terms in expressions are not supported; reference a column",
            ));
        }
        Some(Value::Object(o)) if o.get("type").and_then(Value::as_str) == Some("reference") => o
            .get("term")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::invalid("a reference term needs a string \"term\""))?,
        _ => {
            return Err(Error::invalid(format!(
                "a '{ty}' expression needs a \"term\" naming a column"
            )));
        }
    };
    let field = schema
        .field_by_name(name)
        .ok_or_else(|| Error::invalid(format!("column '{name}' is not in the table schema")))?;
    let column_type = field.field_type.as_primitive().copied().ok_or_else(|| {
        Error::invalid(format!(
            "column '{name}' is not of a primitive type and cannot be filtered on"
        ))
    })?;
    Ok((Reference::new(name), column_type))
}

/// A literal in the column type's JSON single-value form.
fn literal(v: &Value, column_type: &PrimitiveType, term: &Reference) -> Result<Datum> {
    Datum::from_json(v, column_type).map_err(|e| e.context(format!("column '{term}'")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::spec::NestedField;

    fn schema() -> Schema {
        Schema::builder()
            .with_fields([
                NestedField::required(1, "id", PrimitiveType::Long),
                NestedField::optional(2, "day", PrimitiveType::Date),
                NestedField::optional(3, "name", PrimitiveType::String),
                NestedField::optional(4, "score", PrimitiveType::Double),
            ])
            .build()
            .unwrap()
    }

    #[test]
    fn parses_the_rest_expression_forms() {
        let e = json!({
            "type": "and",
            "left": {"type": "gt-eq", "term": "day", "value": "2025-06-15"},
            "right": {"type": "or",
                "left": {"type": "in", "term": "id", "values": [1, 2]},
                "right": {"type": "not", "child": {"type": "is-null", "term": "name"}}}
        });
        let p = predicate_from_json(&e, &schema()).unwrap();
        let expected = Reference::new("day")
            .greater_than_or_eq(Datum::Date(20_254))
            .and(
                Reference::new("id")
                    .is_in([Datum::Long(1), Datum::Long(2)])
                    .or(Predicate::Not(Box::new(Reference::new("name").is_null()))),
            );
        assert_eq!(p, expected);
        assert!(p.bind(&schema(), true).is_ok());
        assert_eq!(
            predicate_from_json(&json!(true), &schema()).unwrap(),
            Predicate::AlwaysTrue
        );
        assert_eq!(
            predicate_from_json(&json!({"type": "false"}), &schema()).unwrap(),
            Predicate::AlwaysFalse
        );
        let p = predicate_from_json(
            &json!({"type": "starts-with", "term": "name", "value": "ab"}),
            &schema(),
        )
        .unwrap();
        assert_eq!(p, Reference::new("name").starts_with("ab"));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let s = schema();
        for bad in [
            json!({"type": "eq", "term": "nope", "value": 1}),
            json!({"type": "eq", "term": "id", "value": "x"}),
            json!({"type": "eq", "term": "id"}),
            json!({"type": "in", "term": "id", "values": 3}),
            json!({"type": "xor", "left": true, "right": false}),
            json!({"type": "and", "left": true}),
            json!(5),
        ] {
            let err = predicate_from_json(&bad, &s).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::DataInvalid, "{bad}");
        }
        let t = json!({"type": "eq", "term": {"type": "transform", "transform": "day", "term": "day"}, "value": 1});
        assert_eq!(
            predicate_from_json(&t, &s).unwrap_err().kind(),
            crate::ErrorKind::FeatureUnsupported
        );
    }
}

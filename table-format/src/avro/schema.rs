//! Avro schemas as read from a file header (`avro.schema`), resolved into a tree of [`Node`]s.
//!
//! Named types referenced by name are expanded in place (Iceberg reuses `decimal_P_S`,
//! `uuid_fixed` and `fixed_L` this way); a budget on the expanded size keeps a hostile schema
//! from blowing up. Only what decoding needs is kept: the type, Iceberg's `field-id`, the
//! record and field names, and the `logicalType`.

use std::collections::HashMap;

use serde_json::Value as JsonValue;

use crate::{Error, Result};

/// Most nodes a resolved schema may have (manifests have a few hundred).
const MAX_NODES: usize = 100_000;
/// Deepest nesting accepted.
const MAX_DEPTH: usize = 64;

/// A resolved Avro schema node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// `null`
    Null,
    /// `boolean`
    Boolean,
    /// `int`, with its logical type if any (`date`, `time-millis`).
    Int(Logical),
    /// `long`, with its logical type if any (`time-micros`, `timestamp-micros`, ...).
    Long(Logical),
    /// `float`
    Float,
    /// `double`
    Double,
    /// `bytes`, with its logical type if any (`decimal`).
    Bytes(Logical),
    /// `string`, with its logical type if any (`uuid`).
    String(Logical),
    /// `fixed` of the given size, with its logical type if any (`decimal`, `uuid`).
    Fixed(usize, Logical),
    /// `enum` with the given number of symbols.
    Enum(usize),
    /// `array` of items.
    Array(Box<Node>),
    /// `map` with string keys and values of the given type.
    Map(Box<Node>),
    /// `record`
    Record(Box<Record>),
    /// `union` of branches.
    Union(Vec<Node>),
}

/// An Avro logical type annotation, as far as Iceberg uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Logical {
    /// None, or one Floe does not need to know.
    #[default]
    None,
    /// `date` on int.
    Date,
    /// `time-millis` on int.
    TimeMillis,
    /// `time-micros` on long.
    TimeMicros,
    /// `timestamp-millis` on long.
    TimestampMillis,
    /// `timestamp-micros` on long.
    TimestampMicros,
    /// `timestamp-nanos` on long.
    TimestampNanos,
    /// `decimal` on bytes or fixed.
    Decimal {
        /// Digits in total.
        precision: u32,
        /// Digits after the point.
        scale: u32,
    },
    /// `uuid` on string or fixed(16).
    Uuid,
    /// `map` on an array of key/value records (Iceberg's non-string-keyed maps).
    Map,
}

/// A resolved Avro record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    /// The record's name (without namespace).
    pub(crate) name: String,
    /// Its fields, in writer order.
    pub(crate) fields: Vec<Field>,
}

/// A field of a record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    /// The field name.
    pub(crate) name: String,
    /// Iceberg's `field-id` attribute, when present.
    pub(crate) id: Option<i32>,
    /// The field's type.
    pub(crate) node: Node,
}

impl Node {
    /// The smallest number of bytes a value of this type takes.
    pub(crate) fn min_size(&self) -> usize {
        match self {
            Node::Null => 0,
            Node::Fixed(n, _) => *n,
            Node::Float => 4,
            Node::Double => 8,
            Node::Record(r) => r.fields.iter().map(|f| f.node.min_size()).sum(),
            _ => 1,
        }
    }

    /// A short name of the type, for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Node::Null => "null".into(),
            Node::Boolean => "boolean".into(),
            Node::Int(_) => "int".into(),
            Node::Long(_) => "long".into(),
            Node::Float => "float".into(),
            Node::Double => "double".into(),
            Node::Bytes(_) => "bytes".into(),
            Node::String(_) => "string".into(),
            Node::Fixed(n, _) => format!("fixed({n})"),
            Node::Enum(_) => "enum".into(),
            Node::Array(i) => format!("array<{}>", i.describe()),
            Node::Map(v) => format!("map<{}>", v.describe()),
            Node::Record(r) => format!("record {}", r.name),
            Node::Union(b) => {
                let parts: Vec<String> = b.iter().map(Node::describe).collect();
                format!("[{}]", parts.join(", "))
            }
        }
    }
}

/// Parse and resolve a writer schema from its JSON text.
pub(crate) fn parse_schema(json: &[u8]) -> Result<Node> {
    let value: JsonValue = serde_json::from_slice(json).map_err(|e| {
        Error::invalid(format!("avro.schema is not valid JSON: {e}")).with_source(e)
    })?;
    let mut parser = Parser {
        named: HashMap::new(),
        nodes: 0,
    };
    parser.node(&value, None, 0)
}

struct Parser {
    /// Named types defined so far, by full name and by simple name.
    named: HashMap<String, Node>,
    /// Nodes produced so far (expansions included).
    nodes: usize,
}

fn schema_err(message: impl Into<String>) -> Error {
    Error::invalid(format!("invalid Avro schema: {}", message.into()))
}

impl Parser {
    fn count(&mut self, n: usize) -> Result<()> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(schema_err(format!(
                "more than {MAX_NODES} types after expanding named references"
            )));
        }
        Ok(())
    }

    fn node(&mut self, v: &JsonValue, namespace: Option<&str>, depth: usize) -> Result<Node> {
        if depth > MAX_DEPTH {
            return Err(schema_err(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        self.count(1)?;
        match v {
            JsonValue::String(name) => self.named_or_primitive(name, namespace),
            JsonValue::Array(branches) => {
                let mut out = Vec::with_capacity(branches.len());
                for b in branches {
                    let n = self.node(b, namespace, depth + 1)?;
                    if matches!(n, Node::Union(_)) {
                        return Err(schema_err("a union may not directly contain a union"));
                    }
                    out.push(n);
                }
                if out.is_empty() {
                    return Err(schema_err("empty union"));
                }
                Ok(Node::Union(out))
            }
            JsonValue::Object(obj) => {
                let ty = obj
                    .get("type")
                    .ok_or_else(|| schema_err("a type object without \"type\""))?;
                let logical = logical_type(obj);
                let ty_name = match ty {
                    JsonValue::String(s) => s.as_str(),
                    // {"type": {...}} or {"type": [...]}: a wrapped schema.
                    other => return self.node(other, namespace, depth + 1),
                };
                match ty_name {
                    "record" | "error" => self.record(obj, namespace, depth),
                    "enum" => {
                        let symbols = obj
                            .get("symbols")
                            .and_then(JsonValue::as_array)
                            .ok_or_else(|| schema_err("an enum without symbols"))?;
                        let node = Node::Enum(symbols.len());
                        self.define(obj, namespace, node.clone())?;
                        Ok(node)
                    }
                    "fixed" => {
                        let size = obj
                            .get("size")
                            .and_then(JsonValue::as_u64)
                            .ok_or_else(|| schema_err("a fixed without a valid size"))?;
                        let size = usize::try_from(size)
                            .ok()
                            .filter(|s| *s <= 1 << 20)
                            .ok_or_else(|| schema_err(format!("fixed size {size} is too large")))?;
                        let node = Node::Fixed(size, logical);
                        self.define(obj, namespace, node.clone())?;
                        Ok(node)
                    }
                    "array" => {
                        let items = obj
                            .get("items")
                            .ok_or_else(|| schema_err("an array without items"))?;
                        Ok(Node::Array(Box::new(self.node(
                            items,
                            namespace,
                            depth + 1,
                        )?)))
                    }
                    "map" => {
                        let values = obj
                            .get("values")
                            .ok_or_else(|| schema_err("a map without values"))?;
                        Ok(Node::Map(Box::new(self.node(
                            values,
                            namespace,
                            depth + 1,
                        )?)))
                    }
                    primitive => match primitive_node(primitive, logical) {
                        Some(n) => Ok(n),
                        None => self.named_or_primitive(primitive, namespace),
                    },
                }
            }
            other => Err(schema_err(format!(
                "unexpected JSON {other} where a type belongs"
            ))),
        }
    }

    fn named_or_primitive(&mut self, name: &str, namespace: Option<&str>) -> Result<Node> {
        if let Some(n) = primitive_node(name, Logical::None) {
            return Ok(n);
        }
        let full = match namespace {
            Some(ns) if !name.contains('.') && !ns.is_empty() => format!("{ns}.{name}"),
            _ => name.to_string(),
        };
        let node = self
            .named
            .get(&full)
            .or_else(|| self.named.get(name))
            .cloned()
            .ok_or_else(|| schema_err(format!("unknown type '{name}'")))?;
        self.count(node_size(&node))?;
        Ok(node)
    }

    fn define(
        &mut self,
        obj: &serde_json::Map<String, JsonValue>,
        namespace: Option<&str>,
        node: Node,
    ) -> Result<()> {
        let name = obj
            .get("name")
            .and_then(JsonValue::as_str)
            .ok_or_else(|| schema_err("a named type without a name"))?;
        let ns = obj
            .get("namespace")
            .and_then(JsonValue::as_str)
            .or(namespace);
        let full = match ns {
            Some(ns) if !name.contains('.') && !ns.is_empty() => format!("{ns}.{name}"),
            _ => name.to_string(),
        };
        let simple = name.rsplit('.').next().unwrap_or(name).to_string();
        self.named.insert(full, node.clone());
        self.named.entry(simple).or_insert(node);
        Ok(())
    }

    fn record(
        &mut self,
        obj: &serde_json::Map<String, JsonValue>,
        namespace: Option<&str>,
        depth: usize,
    ) -> Result<Node> {
        let name = obj
            .get("name")
            .and_then(JsonValue::as_str)
            .unwrap_or_default()
            .to_string();
        let ns_owned = obj
            .get("namespace")
            .and_then(JsonValue::as_str)
            .map(str::to_string)
            .or_else(|| name.rsplit_once('.').map(|(ns, _)| ns.to_string()))
            .or_else(|| namespace.map(str::to_string));
        let fields_json = obj
            .get("fields")
            .and_then(JsonValue::as_array)
            .ok_or_else(|| schema_err(format!("record '{name}' has no fields array")))?;
        let mut fields = Vec::with_capacity(fields_json.len());
        for f in fields_json {
            let fname = f
                .get("name")
                .and_then(JsonValue::as_str)
                .ok_or_else(|| schema_err(format!("a field of record '{name}' has no name")))?;
            let ty = f.get("type").ok_or_else(|| {
                schema_err(format!("field '{fname}' of record '{name}' has no type"))
            })?;
            let id = match f.get("field-id") {
                None | Some(JsonValue::Null) => None,
                Some(v) => Some(json_i32(v).ok_or_else(|| {
                    schema_err(format!("field '{fname}' has an invalid field-id {v}"))
                })?),
            };
            let node = self.node(ty, ns_owned.as_deref(), depth + 1)?;
            fields.push(Field {
                name: fname.to_string(),
                id,
                node,
            });
        }
        let simple = name.rsplit('.').next().unwrap_or(&name).to_string();
        let node = Node::Record(Box::new(Record {
            name: simple,
            fields,
        }));
        if !name.is_empty() {
            self.define(obj, namespace, node.clone())?;
        }
        Ok(node)
    }
}

/// Iceberg writes ids as JSON numbers; some writers use strings.
fn json_i32(v: &JsonValue) -> Option<i32> {
    match v {
        JsonValue::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
        JsonValue::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn node_size(n: &Node) -> usize {
    match n {
        Node::Array(i) | Node::Map(i) => 1 + node_size(i),
        Node::Record(r) => 1 + r.fields.iter().map(|f| node_size(&f.node)).sum::<usize>(),
        Node::Union(b) => 1 + b.iter().map(node_size).sum::<usize>(),
        _ => 1,
    }
}

fn primitive_node(name: &str, logical: Logical) -> Option<Node> {
    Some(match name {
        "null" => Node::Null,
        "boolean" => Node::Boolean,
        "int" => Node::Int(logical),
        "long" => Node::Long(logical),
        "float" => Node::Float,
        "double" => Node::Double,
        "bytes" => Node::Bytes(logical),
        "string" => Node::String(logical),
        _ => return None,
    })
}

fn logical_type(obj: &serde_json::Map<String, JsonValue>) -> Logical {
    match obj.get("logicalType").and_then(JsonValue::as_str) {
        Some("date") => Logical::Date,
        Some("time-millis") => Logical::TimeMillis,
        Some("time-micros") => Logical::TimeMicros,
        Some("timestamp-millis") | Some("local-timestamp-millis") => Logical::TimestampMillis,
        Some("timestamp-micros") | Some("local-timestamp-micros") => Logical::TimestampMicros,
        Some("timestamp-nanos") | Some("local-timestamp-nanos") => Logical::TimestampNanos,
        Some("uuid") => Logical::Uuid,
        Some("map") => Logical::Map,
        Some("decimal") => {
            let precision = obj.get("precision").and_then(json_i32);
            let scale = obj.get("scale").and_then(json_i32).unwrap_or(0);
            match precision {
                Some(p) if p > 0 && scale >= 0 => Logical::Decimal {
                    precision: p as u32,
                    scale: scale as u32,
                },
                _ => Logical::None,
            }
        }
        _ => Logical::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_types_are_expanded_where_referenced() {
        let s = br#"{"type":"record","name":"r","fields":[
            {"name":"a","field-id":1,"type":["null",{"type":"fixed","name":"decimal_9_2","size":4,"logicalType":"decimal","precision":9,"scale":2}]},
            {"name":"b","field-id":2,"type":["null","decimal_9_2"]}]}"#;
        let Node::Record(r) = parse_schema(s).unwrap() else {
            panic!("not a record")
        };
        assert_eq!(r.fields[0].node, r.fields[1].node);
        assert_eq!(r.fields[1].id, Some(2));
    }

    #[test]
    fn unknown_names_and_exploding_schemas_are_refused() {
        assert!(parse_schema(br#""nope""#).is_err());
        // Each record has two fields of the previous one: 2^40 leaves if expanded naively.
        let mut s = String::from(r#"{"type":"record","name":"t0","fields":[]}"#);
        let mut defs = vec![s.clone()];
        for i in 1..40 {
            s = format!(
                r#"{{"type":"record","name":"t{i}","fields":[{{"name":"a","type":"t{p}"}},{{"name":"b","type":"t{p}"}}]}}"#,
                p = i - 1
            );
            defs.push(s.clone());
        }
        let mut fields = Vec::new();
        for (i, d) in defs.iter().enumerate() {
            fields.push(format!(r#"{{"name":"f{i}","type":{d}}}"#));
        }
        let all = format!(
            r#"{{"type":"record","name":"top","fields":[{}]}}"#,
            fields.join(",")
        );
        assert!(parse_schema(all.as_bytes()).is_err());
    }
}

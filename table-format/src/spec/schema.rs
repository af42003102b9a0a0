//! Schemas: a struct of fields with a schema id and identifier fields (spec "Schemas").
//!
//! - [`Schema`]: immutable; look-ups by field id and by (nested, dotted) name are indexed lazily.
//! - [`SchemaBuilder`]: the only way to make one; checks that field ids are unique.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::types::{NestedField, PrimitiveType, StructType, Type};
use crate::{Error, Result};

/// Schema id used by v1 metadata that carries no ids.
pub const DEFAULT_SCHEMA_ID: i32 = 0;

/// An Iceberg schema: a top-level struct with an id.
#[derive(Debug, Clone)]
pub struct Schema {
    schema_id: i32,
    identifier_field_ids: Vec<i32>,
    fields: StructType,
    index: OnceLock<SchemaIndex>,
}

#[derive(Debug, Clone, Default)]
struct SchemaIndex {
    /// field id -> the field.
    by_id: HashMap<i32, NestedField>,
    /// field id -> its parent field id (absent for top-level fields).
    parent: HashMap<i32, i32>,
    /// full dotted name (and short names that skip list/map wrappers) -> field id.
    by_name: HashMap<String, i32>,
    /// lower-cased names -> field id.
    by_lower_name: HashMap<String, i32>,
    /// field id -> full dotted name.
    name_of: HashMap<i32, String>,
    highest_field_id: i32,
}

impl PartialEq for Schema {
    fn eq(&self, other: &Self) -> bool {
        self.schema_id == other.schema_id
            && self.identifier_field_ids == other.identifier_field_ids
            && self.fields == other.fields
    }
}

impl Schema {
    /// Start building a schema from its top-level fields.
    pub fn builder() -> SchemaBuilder {
        SchemaBuilder::default()
    }

    /// The schema id.
    pub fn schema_id(&self) -> i32 {
        self.schema_id
    }

    /// The identifier (row key) field ids.
    pub fn identifier_field_ids(&self) -> &[i32] {
        &self.identifier_field_ids
    }

    /// The top-level struct.
    pub fn as_struct(&self) -> &StructType {
        &self.fields
    }

    /// The top-level fields.
    pub fn fields(&self) -> &[NestedField] {
        self.fields.fields()
    }

    fn index(&self) -> &SchemaIndex {
        self.index.get_or_init(|| SchemaIndex::build(&self.fields))
    }

    /// The field with id `id`, at any depth.
    pub fn field_by_id(&self, id: i32) -> Option<&NestedField> {
        self.index().by_id.get(&id)
    }

    /// The field named `name` (dotted for nested fields, e.g. `location.lat`), exact case.
    pub fn field_by_name(&self, name: &str) -> Option<&NestedField> {
        let id = self.index().by_name.get(name)?;
        self.field_by_id(*id)
    }

    /// The field named `name`, ignoring case.
    pub fn field_by_name_case_insensitive(&self, name: &str) -> Option<&NestedField> {
        let id = self.index().by_lower_name.get(&name.to_lowercase())?;
        self.field_by_id(*id)
    }

    /// The full dotted name of field `id`.
    pub fn name_by_id(&self, id: i32) -> Option<&str> {
        self.index().name_of.get(&id).map(String::as_str)
    }

    /// The id of the struct, list or map that holds field `id` (None for top-level fields).
    pub fn parent_id(&self, id: i32) -> Option<i32> {
        self.index().parent.get(&id).copied()
    }

    /// The primitive type of field `id`, if it is a primitive field.
    pub fn primitive_type_by_id(&self, id: i32) -> Option<&PrimitiveType> {
        self.field_by_id(id)?.field_type.as_primitive()
    }

    /// The highest field id used anywhere in the schema (0 when empty).
    pub fn highest_field_id(&self) -> i32 {
        if let Some(idx) = self.index.get() {
            return idx.highest_field_id;
        }
        let mut max = 0;
        walk_fields(self.fields.fields(), &mut |f| max = max.max(f.id));
        max
    }

    /// The first column (by name) whose primitive type needs a format version above `version`.
    pub fn first_type_needing_version_above(&self, version: u8) -> Option<(String, PrimitiveType)> {
        let mut found = None;
        walk_fields(self.fields.fields(), &mut |f| {
            if found.is_none()
                && let Some(p) = f.field_type.as_primitive()
                && p.min_format_version() > version
            {
                found = Some((f.name.clone(), *p));
            }
        });
        found
    }

    /// Every field id in the schema.
    pub fn field_ids(&self) -> impl Iterator<Item = i32> + '_ {
        self.index().by_id.keys().copied()
    }

    /// This schema under another id.
    pub fn with_schema_id(&self, schema_id: i32) -> Schema {
        Schema {
            schema_id,
            identifier_field_ids: self.identifier_field_ids.clone(),
            fields: self.fields.clone(),
            index: self.index.clone(),
        }
    }

    /// Whether two schemas have the same fields and identifier fields, ignoring the schema id.
    pub fn same_structure(&self, other: &Schema) -> bool {
        self.fields == other.fields && {
            let mut a = self.identifier_field_ids.clone();
            let mut b = other.identifier_field_ids.clone();
            a.sort_unstable();
            b.sort_unstable();
            a == b
        }
    }

    /// Check the spec's rules for identifier fields: each exists, is a required primitive that
    /// is not float or double, and is not nested in an optional struct, a list or a map.
    pub fn validate_identifier_fields(&self) -> Result<()> {
        for id in &self.identifier_field_ids {
            let field = self.field_by_id(*id).ok_or_else(|| {
                Error::invalid(format!(
                    "identifier field id {id} is not in schema {}",
                    self.schema_id
                ))
            })?;
            let name = self.name_by_id(*id).unwrap_or(&field.name);
            match field.field_type.as_ref() {
                Type::Primitive(PrimitiveType::Float | PrimitiveType::Double) => {
                    return Err(Error::invalid(format!(
                        "identifier field '{name}' cannot be float or double"
                    )));
                }
                Type::Primitive(_) => {}
                _ => {
                    return Err(Error::invalid(format!(
                        "identifier field '{name}' must be a primitive type, not {}",
                        field.field_type
                    )));
                }
            }
            if !field.required {
                return Err(Error::invalid(format!(
                    "identifier field '{name}' must be required"
                )));
            }
            let mut cur = self.parent_id(*id);
            while let Some(pid) = cur {
                let parent = self.field_by_id(pid).ok_or_else(|| {
                    Error::invalid(format!("schema index is missing parent field {pid}"))
                })?;
                match parent.field_type.as_ref() {
                    Type::Struct(_) if parent.required => {}
                    Type::Struct(_) => {
                        return Err(Error::invalid(format!(
                            "identifier field '{name}' is nested in optional struct '{}'",
                            parent.name
                        )));
                    }
                    _ => {
                        return Err(Error::invalid(format!(
                            "identifier field '{name}' is nested in a list or map"
                        )));
                    }
                }
                cur = self.parent_id(pid);
            }
        }
        Ok(())
    }
}

impl SchemaIndex {
    fn build(root: &StructType) -> SchemaIndex {
        let mut idx = SchemaIndex::default();
        idx.visit_struct(root, None, "", "");
        idx
    }

    fn add(&mut self, field: &NestedField, parent: Option<i32>, full: String, short: String) {
        self.highest_field_id = self.highest_field_id.max(field.id);
        self.by_id.insert(field.id, field.clone());
        if let Some(p) = parent {
            self.parent.insert(field.id, p);
        }
        self.by_lower_name
            .entry(full.to_lowercase())
            .or_insert(field.id);
        if short != full {
            self.by_name.entry(short.clone()).or_insert(field.id);
            self.by_lower_name
                .entry(short.to_lowercase())
                .or_insert(field.id);
        }
        self.by_name.insert(full.clone(), field.id);
        self.name_of.insert(field.id, full);
    }

    fn visit_struct(&mut self, s: &StructType, parent: Option<i32>, full: &str, short: &str) {
        for f in s.fields() {
            let full_name = join(full, &f.name);
            let short_name = join(short, &f.name);
            self.add(f, parent, full_name.clone(), short_name.clone());
            self.visit_type(&f.field_type, f.id, &full_name, &short_name);
        }
    }

    fn visit_type(&mut self, t: &Type, owner: i32, full: &str, short: &str) {
        match t {
            Type::Primitive(_) => {}
            Type::Struct(s) => self.visit_struct(s, Some(owner), full, short),
            Type::List(l) => {
                let e = &l.element;
                let full_e = join(full, "element");
                self.add(e, Some(owner), full_e.clone(), full_e.clone());
                // Short names skip the `element` level for a list of structs.
                self.visit_type(&e.field_type, e.id, &full_e, short);
            }
            Type::Map(m) => {
                let full_k = join(full, "key");
                let full_v = join(full, "value");
                self.add(&m.key, Some(owner), full_k.clone(), full_k.clone());
                self.visit_type(&m.key.field_type, m.key.id, &full_k, &full_k);
                self.add(&m.value, Some(owner), full_v.clone(), full_v.clone());
                self.visit_type(&m.value.field_type, m.value.id, &full_v, short);
            }
        }
    }
}

/// Visit every field at any depth (struct fields, list elements, map keys and values).
fn walk_fields(fields: &[NestedField], visit: &mut impl FnMut(&NestedField)) {
    for f in fields {
        visit_field(f, visit);
    }
}

fn visit_field(f: &NestedField, visit: &mut impl FnMut(&NestedField)) {
    visit(f);
    match f.field_type.as_ref() {
        Type::Primitive(_) => {}
        Type::Struct(s) => walk_fields(s.fields(), visit),
        Type::List(l) => visit_field(&l.element, visit),
        Type::Map(m) => {
            visit_field(&m.key, visit);
            visit_field(&m.value, visit);
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Builds a [`Schema`], checking that field ids are unique.
#[derive(Debug, Default)]
pub struct SchemaBuilder {
    schema_id: i32,
    identifier_field_ids: Vec<i32>,
    fields: Vec<NestedField>,
}

impl SchemaBuilder {
    /// Set the schema id (default 0).
    pub fn with_schema_id(mut self, id: i32) -> Self {
        self.schema_id = id;
        self
    }

    /// Set the identifier field ids.
    pub fn with_identifier_field_ids(mut self, ids: impl IntoIterator<Item = i32>) -> Self {
        self.identifier_field_ids = ids.into_iter().collect();
        self
    }

    /// Append top-level fields.
    pub fn with_fields(mut self, fields: impl IntoIterator<Item = NestedField>) -> Self {
        self.fields.extend(fields);
        self
    }

    /// Finish: fails when a field id repeats, a name repeats within a struct, or an
    /// identifier field breaks the spec's rules.
    pub fn build(self) -> Result<Schema> {
        let schema = Schema {
            schema_id: self.schema_id,
            identifier_field_ids: self.identifier_field_ids,
            fields: StructType::new(self.fields),
            index: OnceLock::new(),
        };
        check_unique_ids(&schema)?;
        schema.validate_identifier_fields()?;
        Ok(schema)
    }
}

fn check_unique_ids(schema: &Schema) -> Result<()> {
    fn walk_struct(s: &StructType, seen: &mut std::collections::HashSet<i32>) -> Result<()> {
        let mut names = std::collections::HashSet::new();
        for f in s.fields() {
            if !names.insert(f.name.as_str()) {
                return Err(Error::invalid(format!(
                    "duplicate field name '{}' in a struct",
                    f.name
                )));
            }
            walk_field(f, seen)?;
        }
        Ok(())
    }
    fn walk_field(f: &NestedField, seen: &mut std::collections::HashSet<i32>) -> Result<()> {
        if !seen.insert(f.id) {
            return Err(Error::invalid(format!(
                "field id {} is used more than once (at '{}')",
                f.id, f.name
            )));
        }
        match f.field_type.as_ref() {
            Type::Primitive(_) => Ok(()),
            Type::Struct(s) => walk_struct(s, seen),
            Type::List(l) => walk_field(&l.element, seen),
            Type::Map(m) => {
                walk_field(&m.key, seen)?;
                walk_field(&m.value, seen)
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    walk_struct(&schema.fields, &mut seen)
}

impl Serialize for Schema {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = serializer.serialize_map(Some(4))?;
        m.serialize_entry("type", "struct")?;
        m.serialize_entry("schema-id", &self.schema_id)?;
        m.serialize_entry("identifier-field-ids", &self.identifier_field_ids)?;
        m.serialize_entry("fields", self.fields.fields())?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for Schema {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "kebab-case")]
        struct Repr {
            #[serde(rename = "type", default)]
            _type: Option<String>,
            #[serde(default)]
            schema_id: Option<i32>,
            #[serde(default)]
            identifier_field_ids: Option<Vec<i32>>,
            fields: Vec<NestedField>,
        }
        let r = Repr::deserialize(deserializer)?;
        if let Some(t) = &r._type
            && t != "struct"
        {
            return Err(serde::de::Error::custom(format!(
                "a schema must have type 'struct', found '{t}'"
            )));
        }
        Schema::builder()
            .with_schema_id(r.schema_id.unwrap_or(DEFAULT_SCHEMA_ID))
            .with_identifier_field_ids(r.identifier_field_ids.unwrap_or_default())
            .with_fields(r.fields)
            .build()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::types::{ListType, MapType};

    fn sample() -> Schema {
        Schema::builder()
            .with_schema_id(3)
            .with_identifier_field_ids([1])
            .with_fields([
                NestedField::required(1, "id", PrimitiveType::Long),
                NestedField::optional(
                    2,
                    "location",
                    Type::Struct(StructType::new(vec![
                        NestedField::required(3, "lat", PrimitiveType::Double),
                        NestedField::required(4, "lon", PrimitiveType::Double),
                    ])),
                ),
                NestedField::optional(
                    5,
                    "points",
                    Type::List(ListType::new(
                        6,
                        Type::Struct(StructType::new(vec![NestedField::required(
                            7,
                            "x",
                            PrimitiveType::Int,
                        )])),
                        true,
                    )),
                ),
                NestedField::optional(
                    8,
                    "props",
                    Type::Map(MapType::new(
                        9,
                        PrimitiveType::String.into(),
                        10,
                        PrimitiveType::String.into(),
                        false,
                    )),
                ),
            ])
            .build()
            .unwrap()
    }

    #[test]
    fn lookups_by_id_and_name() {
        let s = sample();
        assert_eq!(s.field_by_name("location.lat").unwrap().id, 3);
        assert_eq!(s.field_by_name("points.element.x").unwrap().id, 7);
        assert_eq!(s.field_by_name("points.x").unwrap().id, 7);
        assert_eq!(s.field_by_name("props.key").unwrap().id, 9);
        assert_eq!(
            s.field_by_name_case_insensitive("LOCATION.Lon").unwrap().id,
            4
        );
        assert_eq!(s.name_by_id(7), Some("points.element.x"));
        assert_eq!(s.parent_id(3), Some(2));
        assert_eq!(s.highest_field_id(), 10);
        assert!(s.field_by_name("nope").is_none());
    }

    #[test]
    fn json_round_trip() {
        let s = sample();
        let json = serde_json::to_string(&s).unwrap();
        let back: Schema = serde_json::from_str(&json).unwrap();
        assert_eq!(s, back);
        assert!(json.contains("\"schema-id\":3"));
        assert!(json.contains("\"identifier-field-ids\":[1]"));
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let err = Schema::builder()
            .with_fields([
                NestedField::required(1, "a", PrimitiveType::Int),
                NestedField::required(1, "b", PrimitiveType::Int),
            ])
            .build()
            .unwrap_err();
        assert!(err.message().contains("field id 1"), "{err}");
    }

    #[test]
    fn identifier_rules() {
        let bad_optional = Schema::builder()
            .with_identifier_field_ids([1])
            .with_fields([NestedField::optional(1, "a", PrimitiveType::Int)])
            .build();
        assert!(
            bad_optional
                .unwrap_err()
                .message()
                .contains("must be required")
        );
        let bad_float = Schema::builder()
            .with_identifier_field_ids([1])
            .with_fields([NestedField::required(1, "a", PrimitiveType::Double)])
            .build();
        assert!(bad_float.unwrap_err().message().contains("float or double"));
        let nested_in_optional = Schema::builder()
            .with_identifier_field_ids([3])
            .with_fields([NestedField::optional(
                2,
                "s",
                Type::Struct(StructType::new(vec![NestedField::required(
                    3,
                    "x",
                    PrimitiveType::Int,
                )])),
            )])
            .build();
        assert!(
            nested_in_optional
                .unwrap_err()
                .message()
                .contains("optional struct")
        );
        let missing = Schema::builder()
            .with_identifier_field_ids([9])
            .with_fields([NestedField::required(1, "a", PrimitiveType::Int)])
            .build();
        assert!(
            missing
                .unwrap_err()
                .message()
                .contains("identifier field id 9")
        );
    }
}

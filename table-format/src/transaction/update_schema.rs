//! Schema evolution: [`UpdateSchema`] makes a new schema from the current one, by field id,
//! and commits it as `add-schema` + `set-current-schema(-1)`.
//!
//! Columns are named by their full dotted name (`location.lat`). Changes are collected on the
//! builder and checked together when it is applied: a change that cannot apply, or two that
//! contradict each other, fail with [`ErrorKind::InvalidUpdate`] naming the column, before
//! anything is written. The commit asserts the table uuid and the current schema id; on a
//! conflict the same changes are applied again to the reloaded current schema.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::catalog::Catalog;
use crate::spec::{
    Datum, FormatVersion, ListType, MapType, NestedField, PrimitiveType, Schema, StructType,
    TableMetadata, TableRequirement, TableUpdate, Type,
};
use crate::table::Table;
use crate::{Error, Result};

/// Where a moved column goes, relative to its siblings.
#[derive(Debug, Clone)]
enum Position {
    First,
    Before(String),
    After(String),
}

#[derive(Debug, Clone)]
enum Change {
    Add {
        parent: Option<String>,
        name: String,
        field_type: Type,
        doc: Option<String>,
        required: bool,
        default: Option<Datum>,
    },
    Delete(String),
    Rename(String, String),
    MakeOptional(String),
    UpdateType(String, PrimitiveType),
    UpdateDoc(String, Option<String>),
    Move(String, Position),
    SetIdentifierFields(Vec<String>),
}

/// Evolve a table's schema; see the module docs.
#[derive(Debug, Clone)]
pub struct UpdateSchema {
    table: Table,
    changes: Vec<Change>,
}

fn err(message: impl Into<String>) -> Error {
    Error::invalid_update(message)
}

fn join(parent: Option<&str>, name: &str) -> String {
    match parent {
        Some(p) if !p.is_empty() => format!("{p}.{name}"),
        _ => name.to_string(),
    }
}

impl UpdateSchema {
    /// A schema change of `table`, starting from its current schema.
    pub(crate) fn new(table: Table) -> Self {
        Self {
            table,
            changes: Vec::new(),
        }
    }

    /// Add an optional column `name` under `parent` (a struct, or a list of structs or a map
    /// with struct values; `None` for a top-level column).
    pub fn add_column(
        mut self,
        parent: Option<&str>,
        name: impl Into<String>,
        field_type: impl Into<Type>,
        doc: Option<&str>,
    ) -> Self {
        self.changes.push(Change::Add {
            parent: parent.map(str::to_string),
            name: name.into(),
            field_type: field_type.into(),
            doc: doc.map(str::to_string),
            required: false,
            default: None,
        });
        self
    }

    /// Add a required column. Rows written before it existed have no value for it, so this
    /// needs a default: use [`UpdateSchema::add_column_with_default`] (format version 3).
    /// Without one the change is refused when applied.
    pub fn add_required_column(
        mut self,
        parent: Option<&str>,
        name: impl Into<String>,
        field_type: impl Into<Type>,
        doc: Option<&str>,
    ) -> Self {
        self.changes.push(Change::Add {
            parent: parent.map(str::to_string),
            name: name.into(),
            field_type: field_type.into(),
            doc: doc.map(str::to_string),
            required: true,
            default: None,
        });
        self
    }

    /// Add a (required or optional) primitive column with a default value, used both as its
    /// `initial-default` (for rows written before) and its `write-default`. Format version 3.
    pub fn add_column_with_default(
        mut self,
        parent: Option<&str>,
        name: impl Into<String>,
        field_type: PrimitiveType,
        doc: Option<&str>,
        required: bool,
        default: Datum,
    ) -> Self {
        self.changes.push(Change::Add {
            parent: parent.map(str::to_string),
            name: name.into(),
            field_type: field_type.into(),
            doc: doc.map(str::to_string),
            required,
            default: Some(default),
        });
        self
    }

    /// Delete a column (and everything nested in it).
    pub fn delete_column(mut self, name: impl Into<String>) -> Self {
        self.changes.push(Change::Delete(name.into()));
        self
    }

    /// Rename a column; `new_name` is the new last part of its name (no dots).
    pub fn rename_column(mut self, name: impl Into<String>, new_name: impl Into<String>) -> Self {
        self.changes
            .push(Change::Rename(name.into(), new_name.into()));
        self
    }

    /// Make a required column optional.
    pub fn make_optional(mut self, name: impl Into<String>) -> Self {
        self.changes.push(Change::MakeOptional(name.into()));
        self
    }

    /// Widen a primitive column's type (int to long, float to double, decimal precision,
    /// and in v3 date to timestamp).
    pub fn update_column_type(mut self, name: impl Into<String>, to: PrimitiveType) -> Self {
        self.changes.push(Change::UpdateType(name.into(), to));
        self
    }

    /// Set (or with `None` remove) a column's doc.
    pub fn update_doc(mut self, name: impl Into<String>, doc: Option<&str>) -> Self {
        self.changes
            .push(Change::UpdateDoc(name.into(), doc.map(str::to_string)));
        self
    }

    /// Move a column to the start of its struct.
    pub fn move_first(mut self, name: impl Into<String>) -> Self {
        self.changes
            .push(Change::Move(name.into(), Position::First));
        self
    }

    /// Move a column just before its sibling `before`.
    pub fn move_before(mut self, name: impl Into<String>, before: impl Into<String>) -> Self {
        self.changes
            .push(Change::Move(name.into(), Position::Before(before.into())));
        self
    }

    /// Move a column just after its sibling `after`.
    pub fn move_after(mut self, name: impl Into<String>, after: impl Into<String>) -> Self {
        self.changes
            .push(Change::Move(name.into(), Position::After(after.into())));
        self
    }

    /// Replace the identifier (row key) fields.
    pub fn set_identifier_fields(
        mut self,
        names: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.changes.push(Change::SetIdentifierFields(
            names.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// The schema these changes make from the table's current schema, and the new last
    /// column id. Nothing is written.
    pub fn apply(&self) -> Result<(Schema, i32)> {
        apply_changes(self.table.metadata(), &self.changes)
    }

    /// Commit through `catalog`, retrying conflicts per `commit.retry.*` by applying the same
    /// changes to the reloaded current schema. Without any change, returns the table as is.
    pub async fn commit(self, catalog: &dyn Catalog) -> Result<Table> {
        super::commit_with_retries(&self.table, catalog, |md| {
            let (schema, last_column_id) = apply_changes(md, &self.changes)?;
            if schema.same_structure(md.current_schema()) && last_column_id == md.last_column_id() {
                return Ok(None);
            }
            let requirements = vec![
                TableRequirement::AssertTableUuid {
                    uuid: md.table_uuid(),
                },
                TableRequirement::AssertCurrentSchemaId {
                    current_schema_id: md.current_schema_id(),
                },
            ];
            let updates = vec![
                TableUpdate::AddSchema {
                    schema,
                    last_column_id: Some(last_column_id),
                },
                TableUpdate::SetCurrentSchema { schema_id: -1 },
            ];
            Ok(Some((requirements, updates)))
        })
        .await
    }
}

/// A new field under a parent struct (identified by the id of the field that holds it; `None`
/// for the top level).
#[derive(Debug)]
struct Added {
    owner: Option<i32>,
    field: NestedField,
}

/// A move resolved to ids: the field, and where it goes (`None`: first; otherwise whether
/// it goes before, and the sibling it goes next to).
type Move = (i32, Option<(bool, i32)>);

/// The changes resolved to field ids against one base schema.
#[derive(Debug, Default)]
struct Resolved {
    deleted: HashSet<i32>,
    renamed: HashMap<i32, String>,
    optional: HashSet<i32>,
    retyped: HashMap<i32, PrimitiveType>,
    docs: HashMap<i32, Option<String>>,
    added: Vec<Added>,
    /// Full name of each added column -> its id.
    added_names: HashMap<String, i32>,
    /// Moves per owner struct, in order.
    moves: BTreeMap<Option<i32>, Vec<Move>>,
    identifiers: Option<Vec<i32>>,
}

fn apply_changes(md: &TableMetadata, changes: &[Change]) -> Result<(Schema, i32)> {
    let base = md.current_schema();
    let version = md.format_version();
    let mut last = md.last_column_id();
    let mut r = Resolved::default();

    let field_id = |name: &str| -> Result<i32> {
        base.field_by_name(name)
            .map(|f| f.id)
            .ok_or_else(|| err(format!("column '{name}' does not exist")))
    };
    // Which struct a field id lives in (the id of the field holding that struct).
    let owner_of = |r: &Resolved, id: i32| -> Option<i32> {
        match r.added.iter().find(|a| a.field.id == id) {
            Some(a) => a.owner,
            None => base.parent_id(id),
        }
    };

    for change in changes {
        match change {
            Change::Add {
                parent,
                name,
                field_type,
                doc,
                required,
                default,
            } => {
                let full = join(parent.as_deref(), name);
                if name.is_empty() {
                    return Err(err("cannot add a column with an empty name"));
                }
                if name.contains('.') {
                    return Err(err(format!(
                        "cannot add column '{name}': the name contains '.'; name the parent struct with `parent` instead"
                    )));
                }
                let owner = match parent.as_deref() {
                    None => None,
                    Some(p) => {
                        let pf = base.field_by_name(p).ok_or_else(|| {
                            err(format!(
                                "cannot add column '{full}': parent '{p}' does not exist"
                            ))
                        })?;
                        if r.deleted.contains(&pf.id) {
                            return Err(err(format!(
                                "cannot add column '{full}': parent '{p}' is deleted by this update"
                            )));
                        }
                        let holder = match pf.field_type.as_ref() {
                            Type::Struct(_) => pf,
                            Type::List(l)
                                if matches!(l.element.field_type.as_ref(), Type::Struct(_)) =>
                            {
                                &l.element
                            }
                            Type::Map(m)
                                if matches!(m.value.field_type.as_ref(), Type::Struct(_)) =>
                            {
                                &m.value
                            }
                            other => {
                                return Err(err(format!(
                                    "cannot add column '{full}': parent '{p}' is a {other}, not a struct"
                                )));
                            }
                        };
                        Some(holder.id)
                    }
                };
                let exists_in_base = match owner {
                    None => base.as_struct().field_by_name(name),
                    Some(o) => match base.field_by_id(o).map(|f| f.field_type.as_ref()) {
                        Some(Type::Struct(s)) => s.field_by_name(name),
                        _ => None,
                    },
                };
                if let Some(f) = exists_in_base
                    && !r.deleted.contains(&f.id)
                {
                    return Err(err(format!(
                        "cannot add column '{full}': it already exists"
                    )));
                }
                if r.added
                    .iter()
                    .any(|a| a.owner == owner && a.field.name == *name)
                {
                    return Err(err(format!(
                        "cannot add column '{full}': it is added twice in this update"
                    )));
                }
                if *required && default.is_none() {
                    return Err(err(format!(
                        "cannot add required column '{full}' without a default: rows written before it have no value; add it as optional, or with a default (add_column_with_default, format version 3)"
                    )));
                }
                let (initial_default, write_default) = match default {
                    None => (None, None),
                    Some(d) => {
                        if version < FormatVersion::V3 {
                            return Err(err(format!(
                                "cannot add column '{full}' with a default value: defaults need format version 3, the table is version {}",
                                version.as_u8()
                            )));
                        }
                        let prim = field_type.as_primitive().ok_or_else(|| {
                            err(format!(
                                "cannot add column '{full}' with a default: defaults are only supported for primitive types"
                            ))
                        })?;
                        let json = d.to_json();
                        Datum::from_json(&json, prim).map_err(|e| {
                            err(format!(
                                "cannot add column '{full}': its default does not fit type {prim}: {}",
                                e.message()
                            ))
                        })?;
                        (Some(json.clone()), Some(json))
                    }
                };
                last += 1;
                let id = last;
                let field_type = fresh_ids(field_type, &mut last);
                r.added_names.insert(full, id);
                r.added.push(Added {
                    owner,
                    field: NestedField {
                        id,
                        name: name.clone(),
                        required: *required,
                        field_type: Box::new(field_type),
                        doc: doc.clone(),
                        initial_default,
                        write_default,
                    },
                });
            }
            Change::Delete(name) => {
                let id = field_id(name)?;
                if !r.deleted.insert(id) {
                    return Err(err(format!(
                        "column '{name}' is deleted twice in this update"
                    )));
                }
                if r.renamed.contains_key(&id) {
                    return Err(err(format!(
                        "cannot delete column '{name}': it is renamed in this update"
                    )));
                }
                if r.optional.contains(&id)
                    || r.retyped.contains_key(&id)
                    || r.docs.contains_key(&id)
                {
                    return Err(err(format!(
                        "cannot delete column '{name}': it is updated in this update"
                    )));
                }
                if r.added.iter().any(|a| {
                    a.owner == Some(id) || {
                        // Adds into a list element / map value struct under this column.
                        let mut cur = a.owner;
                        let mut hit = false;
                        while let Some(c) = cur {
                            if c == id {
                                hit = true;
                                break;
                            }
                            cur = base.parent_id(c);
                        }
                        hit
                    }
                }) {
                    return Err(err(format!(
                        "cannot delete column '{name}': columns are added to it in this update"
                    )));
                }
            }
            Change::Rename(name, new_name) => {
                let id = field_id(name)?;
                if new_name.is_empty() || new_name.contains('.') {
                    return Err(err(format!(
                        "cannot rename column '{name}' to '{new_name}': a name must be non-empty and have no '.'"
                    )));
                }
                if r.deleted.contains(&id) {
                    return Err(err(format!(
                        "cannot rename column '{name}': it is deleted in this update"
                    )));
                }
                if r.renamed.insert(id, new_name.clone()).is_some() {
                    return Err(err(format!(
                        "column '{name}' is renamed twice in this update"
                    )));
                }
            }
            Change::MakeOptional(name) => {
                let id = check_updatable(base, &r, name)?;
                r.optional.insert(id);
            }
            Change::UpdateType(name, to) => {
                let id = check_updatable(base, &r, name)?;
                let f = base.field_by_id(id).expect("resolved");
                let from = f.field_type.as_primitive().ok_or_else(|| {
                    err(format!(
                        "cannot change the type of column '{name}': it is a {}, not a primitive",
                        f.field_type
                    ))
                })?;
                if !from.can_promote_to(to, version.as_u8()) {
                    return Err(err(format!(
                        "cannot change the type of column '{name}' from {from} to {to}: not an allowed promotion in format version {}",
                        version.as_u8()
                    )));
                }
                if to.min_format_version() > version.as_u8() {
                    return Err(err(format!(
                        "cannot change the type of column '{name}' to {to}: it needs format version {}",
                        to.min_format_version()
                    )));
                }
                if let Some(prev) = r.retyped.insert(id, *to)
                    && prev != *to
                {
                    return Err(err(format!(
                        "the type of column '{name}' is changed twice in this update ({prev} and {to})"
                    )));
                }
            }
            Change::UpdateDoc(name, doc) => {
                if let Some(&id) = r.added_names.get(name) {
                    let a = r
                        .added
                        .iter_mut()
                        .find(|a| a.field.id == id)
                        .expect("added");
                    a.field.doc = doc.clone();
                    continue;
                }
                let id = check_updatable(base, &r, name)?;
                r.docs.insert(id, doc.clone());
            }
            Change::Move(name, pos) => {
                let resolve = |r: &Resolved, n: &str| -> Result<i32> {
                    let id = match r.added_names.get(n) {
                        Some(&id) => id,
                        None => base.field_by_name(n).map(|f| f.id).ok_or_else(|| {
                            err(format!("cannot move: column '{n}' does not exist"))
                        })?,
                    };
                    if r.deleted.contains(&id) {
                        return Err(err(format!(
                            "cannot move column '{n}': it is deleted in this update"
                        )));
                    }
                    Ok(id)
                };
                let id = resolve(&r, name)?;
                let owner = owner_of(&r, id);
                if let Some(o) = owner
                    && !matches!(
                        base.field_by_id(o).map(|f| f.field_type.as_ref()),
                        Some(Type::Struct(_))
                    )
                {
                    return Err(err(format!(
                        "cannot move '{name}': only struct fields can be moved"
                    )));
                }
                let target = match pos {
                    Position::First => None,
                    Position::Before(other) | Position::After(other) => {
                        let other_id = resolve(&r, other)?;
                        if other_id == id {
                            return Err(err(format!(
                                "cannot move column '{name}' relative to itself"
                            )));
                        }
                        if owner_of(&r, other_id) != owner {
                            return Err(err(format!(
                                "cannot move column '{name}' next to '{other}': they are in different structs"
                            )));
                        }
                        Some((matches!(pos, Position::Before(_)), other_id))
                    }
                };
                r.moves.entry(owner).or_default().push((id, target));
            }
            Change::SetIdentifierFields(names) => {
                let mut ids = Vec::with_capacity(names.len());
                for n in names {
                    let id = match r.added_names.get(n) {
                        Some(&id) => id,
                        None => base.field_by_name(n).map(|f| f.id).ok_or_else(|| {
                            err(format!(
                                "cannot use '{n}' as an identifier field: the column does not exist"
                            ))
                        })?,
                    };
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                r.identifiers = Some(ids);
            }
        }
    }

    // Deleting a column deletes everything nested in it: no other change may touch those.
    let deleted_all = with_children(base, &r.deleted);
    let touched = r
        .renamed
        .keys()
        .chain(&r.optional)
        .chain(r.retyped.keys())
        .chain(r.docs.keys())
        .chain(r.moves.values().flatten().map(|(id, _)| id));
    for id in touched {
        if deleted_all.contains(id) && !r.deleted.contains(id) {
            let name = base.name_by_id(*id).unwrap_or_default();
            return Err(err(format!(
                "cannot update column '{name}': a struct that holds it is deleted in this update"
            )));
        }
    }
    for a in &r.added {
        if let Some(o) = a.owner
            && deleted_all.contains(&o)
        {
            let parent = base.name_by_id(o).unwrap_or_default();
            return Err(err(format!(
                "cannot add column '{}' to '{parent}': it is deleted in this update",
                a.field.name
            )));
        }
    }
    // Renames to a name another (kept) column of the same struct has, or an added one.
    for (&id, new_name) in &r.renamed {
        let owner = base.parent_id(id);
        let siblings: Vec<&NestedField> = match owner {
            None => base.fields().iter().collect(),
            Some(o) => match base.field_by_id(o).map(|f| f.field_type.as_ref()) {
                Some(Type::Struct(s)) => s.fields().iter().collect(),
                _ => vec![],
            },
        };
        let old = base.name_by_id(id).unwrap_or_default();
        let clash = siblings.iter().any(|s| {
            s.id != id
                && !r.deleted.contains(&s.id)
                && r.renamed.get(&s.id).unwrap_or(&s.name) == new_name
        }) || r
            .added
            .iter()
            .any(|a| a.owner == owner && a.field.name == *new_name);
        if clash {
            return Err(err(format!(
                "cannot rename column '{old}' to '{new_name}': another column of that struct has that name"
            )));
        }
    }
    let identifiers: Vec<i32> = r
        .identifiers
        .clone()
        .unwrap_or_else(|| base.identifier_field_ids().to_vec());
    for id in &identifiers {
        if deleted_all.contains(id) {
            let name = base.name_by_id(*id).unwrap_or_default();
            return Err(err(format!(
                "cannot delete column '{name}': it is an identifier field; change the identifier fields first"
            )));
        }
    }
    if let Some(spec) = md.partition_spec_by_id(md.default_spec_id()) {
        for pf in spec.fields() {
            if deleted_all.contains(&pf.source_id.id) {
                let name = base.name_by_id(pf.source_id.id).unwrap_or_default();
                return Err(err(format!(
                    "cannot delete column '{name}': the default partition spec uses it (partition field '{}')",
                    pf.name
                )));
            }
        }
    }
    if let Some(order) = md.default_sort_order() {
        for sf in order.fields() {
            if deleted_all.contains(&sf.source_id.id) {
                let name = base.name_by_id(sf.source_id.id).unwrap_or_default();
                return Err(err(format!(
                    "cannot delete column '{name}': the default sort order uses it"
                )));
            }
        }
    }

    let fields = rebuild_struct(base.as_struct(), None, &r)?;
    let schema = Schema::builder()
        .with_schema_id(base.schema_id())
        .with_identifier_field_ids(identifiers)
        .with_fields(fields)
        .build()
        .map_err(|e| err(format!("the new schema is invalid: {}", e.message())))?;
    if let Some((name, t)) = schema.first_type_needing_version_above(version.as_u8()) {
        return Err(err(format!(
            "column '{name}' has type {t}, which needs format version {}; the table is version {}",
            t.min_format_version(),
            version.as_u8()
        )));
    }
    if let Some(spec) = md.partition_spec_by_id(md.default_spec_id()) {
        spec.check_compatible(&schema).map_err(|e| {
            err(format!(
                "the new schema breaks the default partition spec: {}",
                e.message()
            ))
        })?;
    }
    if let Some(order) = md.default_sort_order() {
        order.check_compatible(&schema).map_err(|e| {
            err(format!(
                "the new schema breaks the default sort order: {}",
                e.message()
            ))
        })?;
    }
    Ok((schema, last))
}

/// The field id of `name`, which must exist and not be deleted by this update.
fn check_updatable(base: &Schema, r: &Resolved, name: &str) -> Result<i32> {
    let id = base
        .field_by_name(name)
        .map(|f| f.id)
        .ok_or_else(|| err(format!("column '{name}' does not exist")))?;
    if r.deleted.contains(&id) {
        return Err(err(format!(
            "cannot update column '{name}': it is deleted in this update"
        )));
    }
    Ok(id)
}

/// `ids` and every field id nested under them.
fn with_children(base: &Schema, ids: &HashSet<i32>) -> HashSet<i32> {
    base.field_ids()
        .filter(|id| {
            let mut cur = Some(*id);
            while let Some(c) = cur {
                if ids.contains(&c) {
                    return true;
                }
                cur = base.parent_id(c);
            }
            false
        })
        .collect()
}

/// A copy of `t` with fresh ids for every nested field (Java's order: a struct's fields
/// first, then what is nested in each).
fn fresh_ids(t: &Type, last: &mut i32) -> Type {
    match t {
        Type::Primitive(_) => t.clone(),
        Type::Struct(s) => {
            let ids: Vec<i32> = s
                .fields()
                .iter()
                .map(|_| {
                    *last += 1;
                    *last
                })
                .collect();
            let fields = s
                .fields()
                .iter()
                .zip(ids)
                .map(|(f, id)| NestedField {
                    id,
                    field_type: Box::new(fresh_ids(&f.field_type, last)),
                    ..f.clone()
                })
                .collect();
            Type::Struct(StructType::new(fields))
        }
        Type::List(l) => {
            *last += 1;
            let id = *last;
            let element = fresh_ids(&l.element.field_type, last);
            let mut list = ListType::new(id, element, l.element.required);
            list.element.doc = l.element.doc.clone();
            Type::List(list)
        }
        Type::Map(m) => {
            *last += 1;
            let key_id = *last;
            *last += 1;
            let value_id = *last;
            let key = fresh_ids(&m.key.field_type, last);
            let value = fresh_ids(&m.value.field_type, last);
            let mut map = MapType::new(key_id, key, value_id, value, m.value.required);
            map.key.doc = m.key.doc.clone();
            map.value.doc = m.value.doc.clone();
            Type::Map(map)
        }
    }
}

fn rebuild_field(f: &NestedField, r: &Resolved) -> Result<NestedField> {
    let mut out = f.clone();
    if let Some(n) = r.renamed.get(&f.id) {
        out.name = n.clone();
    }
    if r.optional.contains(&f.id) {
        out.required = false;
    }
    if let Some(d) = r.docs.get(&f.id) {
        out.doc = d.clone();
    }
    out.field_type = Box::new(match r.retyped.get(&f.id) {
        Some(p) => Type::Primitive(*p),
        None => rebuild_type(&f.field_type, f.id, r)?,
    });
    Ok(out)
}

fn rebuild_type(t: &Type, owner: i32, r: &Resolved) -> Result<Type> {
    Ok(match t {
        Type::Primitive(_) => t.clone(),
        Type::Struct(s) => Type::Struct(StructType::new(rebuild_struct(s, Some(owner), r)?)),
        Type::List(l) => Type::List(ListType {
            element: Box::new(rebuild_field(&l.element, r)?),
        }),
        Type::Map(m) => Type::Map(MapType {
            key: Box::new(rebuild_field(&m.key, r)?),
            value: Box::new(rebuild_field(&m.value, r)?),
        }),
    })
}

fn rebuild_struct(s: &StructType, owner: Option<i32>, r: &Resolved) -> Result<Vec<NestedField>> {
    let mut fields = Vec::with_capacity(s.fields().len());
    for f in s.fields() {
        if r.deleted.contains(&f.id) {
            continue;
        }
        fields.push(rebuild_field(f, r)?);
    }
    fields.extend(
        r.added
            .iter()
            .filter(|a| a.owner == owner)
            .map(|a| a.field.clone()),
    );
    for (id, target) in r.moves.get(&owner).into_iter().flatten() {
        let from = fields
            .iter()
            .position(|f| f.id == *id)
            .ok_or_else(|| err(format!("cannot move field {id}: it is not in its struct")))?;
        let moved = fields.remove(from);
        let at = match target {
            None => 0,
            Some((before, other)) => {
                let p = fields.iter().position(|f| f.id == *other).ok_or_else(|| {
                    err(format!(
                        "cannot move '{}': the column it is moved next to is not in its struct",
                        moved.name
                    ))
                })?;
                if *before { p } else { p + 1 }
            }
        };
        fields.insert(at, moved);
    }
    Ok(fields)
}

//! Partition spec evolution: [`UpdateSpec`] adds, removes and renames fields of the default
//! spec and commits the result as a new default spec (`add-spec` + `set-default-spec -1`).
//!
//! New fields carry no field id: the metadata builder reuses the id of an equivalent field
//! (same source and transform) of an older spec (v2+), or assigns `last-partition-id + 1`.
//! Removing a field drops it from the new spec in v2+; in v1, where specs must keep their
//! field order, it is replaced by a `void` transform of the same source (spec rule).
//!
//! Default names follow Java's and pyiceberg's spec evolution: `<col>` (identity),
//! `<col>_bucket_<n>`, `<col>_trunc_<w>`, `<col>_year`, `<col>_month`, `<col>_day`,
//! `<col>_hour`, `<col>_null` (void).

use crate::catalog::Catalog;
use crate::spec::{
    FormatVersion, SourceId, TableMetadata, TableRequirement, TableUpdate, Transform,
    UnboundPartitionField, UnboundPartitionSpec,
};
use crate::table::Table;
use crate::{Error, Result};

#[derive(Debug, Clone)]
enum SpecChange {
    Add {
        column: String,
        transform: Transform,
        name: Option<String>,
    },
    Remove(String),
    Rename(String, String),
}

/// Evolve the table's default partition spec. Changes apply in the order they were given.
#[derive(Debug)]
pub struct UpdateSpec {
    table: Table,
    changes: Vec<SpecChange>,
}

impl Table {
    /// Evolve the default partition spec.
    pub fn update_spec(&self) -> UpdateSpec {
        UpdateSpec {
            table: self.clone(),
            changes: vec![],
        }
    }
}

/// The default name of a partition field of `column` under `transform`.
pub fn default_field_name(column: &str, transform: &Transform) -> String {
    match transform {
        Transform::Identity => column.to_string(),
        Transform::Bucket(n) => format!("{column}_bucket_{n}"),
        Transform::Truncate(w) => format!("{column}_trunc_{w}"),
        Transform::Year => format!("{column}_year"),
        Transform::Month => format!("{column}_month"),
        Transform::Day => format!("{column}_day"),
        Transform::Hour => format!("{column}_hour"),
        Transform::Void => format!("{column}_null"),
        Transform::Unknown(t) => format!("{column}_{t}"),
    }
}

fn is_time(t: &Transform) -> bool {
    matches!(
        t,
        Transform::Year | Transform::Month | Transform::Day | Transform::Hour
    )
}

impl UpdateSpec {
    /// Add a field: `transform` of the column `source_column_name`, named `name` or by default.
    pub fn add_field(
        mut self,
        source_column_name: impl Into<String>,
        transform: Transform,
        name: Option<&str>,
    ) -> Self {
        self.changes.push(SpecChange::Add {
            column: source_column_name.into(),
            transform,
            name: name.map(str::to_string),
        });
        self
    }

    /// Remove the field named `name`.
    pub fn remove_field(mut self, name: impl Into<String>) -> Self {
        self.changes.push(SpecChange::Remove(name.into()));
        self
    }

    /// Rename the field `old` to `new`.
    pub fn rename_field(mut self, old: impl Into<String>, new: impl Into<String>) -> Self {
        self.changes
            .push(SpecChange::Rename(old.into(), new.into()));
        self
    }

    /// The spec these changes make from `md`'s default spec, or None when nothing changes.
    pub fn apply(&self, md: &TableMetadata) -> Result<Option<UnboundPartitionSpec>> {
        let current = md.default_partition_spec();
        let schema = md.current_schema();
        let v1 = md.format_version() == FormatVersion::V1;
        let mut fields: Vec<UnboundPartitionField> = UnboundPartitionSpec::from(current).fields;
        let name_taken = |fields: &[UnboundPartitionField], name: &str| {
            fields.iter().position(|f| f.name == name)
        };
        for change in &self.changes {
            match change {
                SpecChange::Add {
                    column,
                    transform,
                    name,
                } => {
                    let source = schema.field_by_name(column).ok_or_else(|| {
                        Error::invalid_update(format!(
                            "cannot partition by '{column}': no such column in the current schema"
                        ))
                    })?;
                    if !transform.can_transform(&source.field_type) {
                        return Err(Error::invalid_update(format!(
                            "cannot partition by {transform} of column '{column}' of type {}",
                            source.field_type
                        )));
                    }
                    if let Some(dup) = fields.iter().find(|f| {
                        *f.source_id == source.id
                            && f.transform == *transform
                            && f.transform != Transform::Void
                    }) {
                        return Err(Error::invalid_update(format!(
                            "cannot add {transform} of column '{column}': the spec already has it as field '{}'",
                            dup.name
                        )));
                    }
                    if is_time(transform)
                        && let Some(other) = fields
                            .iter()
                            .find(|f| *f.source_id == source.id && is_time(&f.transform))
                    {
                        return Err(Error::invalid_update(format!(
                            "cannot add {transform} of column '{column}': it is redundant with field '{}' ({})",
                            other.name, other.transform
                        )));
                    }
                    let field_name = name
                        .clone()
                        .unwrap_or_else(|| default_field_name(column, transform));
                    if let Some(col) = schema.field_by_name(&field_name)
                        && !(col.id == source.id && *transform == Transform::Identity)
                    {
                        return Err(Error::invalid_update(format!(
                            "cannot add partition field '{field_name}': it conflicts with a schema column of that name"
                        )));
                    }
                    if let Some(i) = name_taken(&fields, &field_name) {
                        if v1 && fields[i].transform == Transform::Void {
                            // A removed v1 field keeps its slot as void; free its name.
                            let id = fields[i].field_id.unwrap_or_default();
                            fields[i].name = format!("{}_{id}", fields[i].name);
                        } else {
                            return Err(Error::invalid_update(format!(
                                "cannot add partition field '{field_name}': the spec already has a field of that name"
                            )));
                        }
                    }
                    fields.push(UnboundPartitionField {
                        source_id: SourceId::from(source.id),
                        field_id: None,
                        name: field_name,
                        transform: transform.clone(),
                    });
                }
                SpecChange::Remove(name) => {
                    let i = name_taken(&fields, name)
                        .filter(|i| fields[*i].transform != Transform::Void || !v1)
                        .ok_or_else(|| {
                            Error::invalid_update(format!(
                                "cannot remove partition field '{name}': no such field"
                            ))
                        })?;
                    if fields[i].field_id.is_none() {
                        return Err(Error::invalid_update(format!(
                            "cannot remove partition field '{name}': it was added by this same update"
                        )));
                    }
                    if v1 {
                        fields[i].transform = Transform::Void;
                    } else {
                        fields.remove(i);
                    }
                }
                SpecChange::Rename(old, new) => {
                    let i = name_taken(&fields, old).ok_or_else(|| {
                        Error::invalid_update(format!(
                            "cannot rename partition field '{old}': no such field"
                        ))
                    })?;
                    if old == new {
                        continue;
                    }
                    if name_taken(&fields, new).is_some() {
                        return Err(Error::invalid_update(format!(
                            "cannot rename partition field '{old}' to '{new}': the spec already has a field of that name"
                        )));
                    }
                    if let Some(col) = schema.field_by_name(new)
                        && !(col.id == *fields[i].source_id
                            && fields[i].transform == Transform::Identity)
                    {
                        return Err(Error::invalid_update(format!(
                            "cannot rename partition field '{old}' to '{new}': it conflicts with a schema column of that name"
                        )));
                    }
                    fields[i].name = new.clone();
                }
            }
        }
        let unchanged = fields.len() == current.fields().len()
            && fields.iter().zip(current.fields()).all(|(a, b)| {
                a.field_id == Some(b.field_id)
                    && a.name == b.name
                    && a.transform == b.transform
                    && a.source_id == b.source_id
            });
        if unchanged {
            return Ok(None);
        }
        Ok(Some(UnboundPartitionSpec {
            spec_id: None,
            fields,
        }))
    }

    /// Commit the new spec as the default, retrying per `commit.retry.*` against the
    /// reloaded table when another commit got in first.
    pub async fn commit(self, catalog: &dyn Catalog) -> Result<Table> {
        super::commit_with_retries(&self.table, catalog, |md| {
            let Some(spec) = self.apply(md)? else {
                return Ok(None);
            };
            let requirements = vec![
                TableRequirement::AssertTableUuid {
                    uuid: md.table_uuid(),
                },
                TableRequirement::AssertDefaultSpecId {
                    default_spec_id: md.default_spec_id(),
                },
                TableRequirement::AssertLastAssignedPartitionId {
                    last_assigned_partition_id: md.last_partition_id(),
                },
            ];
            let updates = vec![
                TableUpdate::AddSpec { spec },
                TableUpdate::SetDefaultSpec { spec_id: -1 },
            ];
            Ok(Some((requirements, updates)))
        })
        .await
    }
}

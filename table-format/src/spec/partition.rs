//! Partition specs (spec "Partitioning").
//!
//! - [`PartitionField`], [`PartitionSpec`]: a spec as stored in table metadata, with field ids.
//! - [`UnboundPartitionField`], [`UnboundPartitionSpec`]: a spec as a client proposes it in an
//!   `add-spec` update, where the spec id and field ids may still be missing.
//! - [`PartitionSpec::partition_type`]: the struct of transform results that data files carry.

use serde::{Deserialize, Serialize};

use super::schema::Schema;
use super::transform::Transform;
use super::types::{NestedField, StructType};
use crate::{Error, Result};

/// Partition field ids start here (spec: "field ids for partition fields start at 1000").
pub const PARTITION_DATA_ID_START: i32 = 1000;
/// `last-partition-id` of a table that has only ever been unpartitioned.
pub const UNPARTITIONED_LAST_ASSIGNED_ID: i32 = PARTITION_DATA_ID_START - 1;
/// The spec id of the first spec of a table.
pub const DEFAULT_PARTITION_SPEC_ID: i32 = 0;

/// One field of a partition spec: a transform of a source column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PartitionField {
    /// The source column's field id.
    #[serde(deserialize_with = "de_source_id", flatten)]
    pub source_id: SourceId,
    /// The partition field id (unique across all specs of a table, >= 1000).
    pub field_id: i32,
    /// The partition field name.
    pub name: String,
    /// The transform applied to the source.
    pub transform: Transform,
}

/// The source column of a partition or sort field: `source-id`, or (v3) `source-ids` with one
/// element. Multi-argument transforms are not supported and refused on parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SourceId {
    /// The source column's field id.
    #[serde(rename = "source-id")]
    pub id: i32,
}

impl std::ops::Deref for SourceId {
    type Target = i32;
    fn deref(&self) -> &i32 {
        &self.id
    }
}

impl From<i32> for SourceId {
    fn from(id: i32) -> Self {
        SourceId { id }
    }
}

#[derive(Deserialize)]
struct SourceIdRepr {
    #[serde(rename = "source-id", default)]
    source_id: Option<i32>,
    #[serde(rename = "source-ids", default)]
    source_ids: Option<Vec<i32>>,
}

pub(crate) fn de_source_id<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<SourceId, D::Error> {
    let r = SourceIdRepr::deserialize(d)?;
    match (r.source_id, r.source_ids) {
        (Some(id), _) => Ok(SourceId { id }),
        (None, Some(ids)) if ids.len() == 1 => Ok(SourceId { id: ids[0] }),
        (None, Some(ids)) => Err(serde::de::Error::custom(format!(
            "multi-argument transforms are not supported (source-ids {ids:?})"
        ))),
        (None, None) => Err(serde::de::Error::missing_field("source-id")),
    }
}

/// A partition spec as stored in table metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PartitionSpec {
    spec_id: i32,
    fields: Vec<PartitionField>,
}

impl PartitionSpec {
    /// A spec with the given id and fields. Use [`PartitionSpec::check_compatible`] to check
    /// it against a schema.
    pub fn new(spec_id: i32, fields: Vec<PartitionField>) -> Self {
        Self { spec_id, fields }
    }

    /// The unpartitioned spec with id 0.
    pub fn unpartitioned() -> Self {
        Self::new(DEFAULT_PARTITION_SPEC_ID, vec![])
    }

    /// The spec id.
    pub fn spec_id(&self) -> i32 {
        self.spec_id
    }

    /// The fields, in order.
    pub fn fields(&self) -> &[PartitionField] {
        &self.fields
    }

    /// Whether no field partitions data (no fields, or only void transforms).
    pub fn is_unpartitioned(&self) -> bool {
        self.fields.iter().all(|f| f.transform == Transform::Void)
    }

    /// The highest partition field id, or `UNPARTITIONED_LAST_ASSIGNED_ID` when there are none.
    pub fn highest_field_id(&self) -> i32 {
        self.fields
            .iter()
            .map(|f| f.field_id)
            .max()
            .unwrap_or(UNPARTITIONED_LAST_ASSIGNED_ID)
    }

    /// This spec under another id.
    pub fn with_spec_id(&self, spec_id: i32) -> Self {
        Self {
            spec_id,
            fields: self.fields.clone(),
        }
    }

    /// Whether two specs partition data the same way (same fields, ids, names and transforms),
    /// ignoring the spec id.
    pub fn same_fields(&self, other: &PartitionSpec) -> bool {
        self.fields == other.fields
    }

    /// The struct type of this spec's partition tuples under `schema`: one field per partition
    /// field, with the partition field id and the transform's result type. Fields are optional.
    pub fn partition_type(&self, schema: &Schema) -> Result<StructType> {
        let mut fields = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            let source = schema.field_by_id(*f.source_id).ok_or_else(|| {
                Error::invalid(format!(
                    "partition field '{}' refers to source column {} which is not in schema {}",
                    f.name,
                    *f.source_id,
                    schema.schema_id()
                ))
            })?;
            let source_type = source.field_type.as_primitive().ok_or_else(|| {
                Error::invalid(format!(
                    "partition field '{}' has a non-primitive source column '{}'",
                    f.name, source.name
                ))
            })?;
            let result = f.transform.result_type(source_type)?;
            fields.push(NestedField::optional(f.field_id, f.name.clone(), result));
        }
        Ok(StructType::new(fields))
    }

    /// Check this spec against `schema`: every source column exists (unless the transform is
    /// void), is primitive, and can take the transform; names and field ids are unique.
    pub fn check_compatible(&self, schema: &Schema) -> Result<()> {
        let mut names = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        for f in &self.fields {
            if !names.insert(f.name.as_str()) {
                return Err(Error::invalid(format!(
                    "partition spec {} has the field name '{}' twice",
                    self.spec_id, f.name
                )));
            }
            if !ids.insert(f.field_id) {
                return Err(Error::invalid(format!(
                    "partition spec {} has the field id {} twice",
                    self.spec_id, f.field_id
                )));
            }
            let Some(source) = schema.field_by_id(*f.source_id) else {
                if f.transform == Transform::Void {
                    continue;
                }
                return Err(Error::invalid(format!(
                    "partition field '{}' refers to source column {} which is not in the schema",
                    f.name, *f.source_id
                )));
            };
            if let Transform::Unknown(name) = &f.transform {
                return Err(Error::unsupported(format!(
                    "partition field '{}' uses the unknown transform '{name}'",
                    f.name
                )));
            }
            if !f.transform.can_transform(&source.field_type) {
                return Err(Error::invalid(format!(
                    "partition field '{}': transform {} cannot be applied to column '{}' of type {}",
                    f.name, f.transform, source.name, source.field_type
                )));
            }
        }
        Ok(())
    }
}

/// A partition field proposed by a client: the field id may be missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct UnboundPartitionField {
    /// The source column's field id.
    #[serde(deserialize_with = "de_source_id", flatten)]
    pub source_id: SourceId,
    /// The partition field id, if the client chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_id: Option<i32>,
    /// The partition field name.
    pub name: String,
    /// The transform.
    pub transform: Transform,
}

/// A partition spec proposed by a client (`add-spec`, create-table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub struct UnboundPartitionSpec {
    /// The spec id, if the client chose one (the server assigns its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_id: Option<i32>,
    /// The fields.
    pub fields: Vec<UnboundPartitionField>,
}

impl From<&PartitionSpec> for UnboundPartitionSpec {
    fn from(spec: &PartitionSpec) -> Self {
        UnboundPartitionSpec {
            spec_id: Some(spec.spec_id),
            fields: spec
                .fields
                .iter()
                .map(|f| UnboundPartitionField {
                    source_id: f.source_id,
                    field_id: Some(f.field_id),
                    name: f.name.clone(),
                    transform: f.transform.clone(),
                })
                .collect(),
        }
    }
}

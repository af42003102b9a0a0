//! Sort orders (spec "Sorting").
//!
//! - [`SortDirection`], [`NullOrder`], [`SortField`], [`SortOrder`]. Order id 0 is reserved
//!   for the unsorted order, which has no fields.

use serde::{Deserialize, Serialize};

use super::partition::{SourceId, de_source_id};
use super::schema::Schema;
use super::transform::Transform;
use crate::{Error, Result};

/// The id of the unsorted order.
pub const UNSORTED_ORDER_ID: i64 = 0;

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// Where nulls go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NullOrder {
    /// Nulls before all values.
    #[serde(rename = "nulls-first")]
    NullsFirst,
    /// Nulls after all values.
    #[serde(rename = "nulls-last")]
    NullsLast,
}

/// One field of a sort order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SortField {
    /// The source column's field id.
    #[serde(deserialize_with = "de_source_id", flatten)]
    pub source_id: SourceId,
    /// The transform applied before sorting.
    pub transform: Transform,
    /// The direction.
    pub direction: SortDirection,
    /// The null order.
    pub null_order: NullOrder,
}

/// A sort order: an id and an ordered list of fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SortOrder {
    order_id: i64,
    fields: Vec<SortField>,
}

impl SortOrder {
    /// A sort order with `order_id` and `fields`.
    pub fn new(order_id: i64, fields: Vec<SortField>) -> Self {
        Self { order_id, fields }
    }

    /// The unsorted order (id 0, no fields).
    pub fn unsorted() -> Self {
        Self::new(UNSORTED_ORDER_ID, vec![])
    }

    /// The order id.
    pub fn order_id(&self) -> i64 {
        self.order_id
    }

    /// The fields, in order.
    pub fn fields(&self) -> &[SortField] {
        &self.fields
    }

    /// Whether this is the unsorted order.
    pub fn is_unsorted(&self) -> bool {
        self.fields.is_empty()
    }

    /// This order under another id.
    pub fn with_order_id(&self, order_id: i64) -> Self {
        Self {
            order_id,
            fields: self.fields.clone(),
        }
    }

    /// Check the order against a schema: every source exists, is primitive and takes the
    /// transform.
    pub fn check_compatible(&self, schema: &Schema) -> Result<()> {
        for f in &self.fields {
            let source = schema.field_by_id(*f.source_id).ok_or_else(|| {
                Error::invalid(format!(
                    "sort order {} refers to source column {} which is not in the schema",
                    self.order_id, *f.source_id
                ))
            })?;
            if !f.transform.can_transform(&source.field_type) {
                return Err(Error::invalid(format!(
                    "sort order {}: transform {} cannot be applied to column '{}' of type {}",
                    self.order_id, f.transform, source.name, source.field_type
                )));
            }
        }
        Ok(())
    }
}

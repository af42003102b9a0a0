//! Sort order evolution: [`ReplaceSortOrder`] replaces the table's default sort order with the
//! fields given, in order, and commits it (`add-sort-order` + `set-default-sort-order -1`).
//!
//! Columns are named by (dotted) name and resolved against the current schema at commit time,
//! so a retry after a concurrent schema change binds them again. The metadata builder gives the
//! order its id: an order equal to an existing one reuses that id, no fields is order 0 (spec
//! "Sorting"). Writers sort new data files by the default order and record its id.

use crate::catalog::Catalog;
use crate::spec::{
    NullOrder, SortDirection, SortField, SortOrder, SourceId, TableMetadata, TableRequirement,
    TableUpdate, Transform,
};
use crate::table::Table;
use crate::{Error, Result};

#[derive(Debug, Clone)]
struct Term {
    column: String,
    transform: Transform,
    direction: SortDirection,
    null_order: NullOrder,
}

/// Replace the table's default sort order. With no fields, the table becomes unsorted.
#[derive(Debug)]
pub struct ReplaceSortOrder {
    table: Table,
    terms: Vec<Term>,
}

impl Table {
    /// Replace the default sort order (fields are added in order with `asc`/`desc`).
    pub fn replace_sort_order(&self) -> ReplaceSortOrder {
        ReplaceSortOrder {
            table: self.clone(),
            terms: vec![],
        }
    }
}

impl ReplaceSortOrder {
    /// Sort ascending by `transform` of `column`, nulls placed per `null_order`.
    pub fn asc(
        self,
        column: impl Into<String>,
        transform: Transform,
        null_order: NullOrder,
    ) -> Self {
        self.field(column, transform, SortDirection::Asc, null_order)
    }

    /// Sort descending by `transform` of `column`, nulls placed per `null_order`.
    pub fn desc(
        self,
        column: impl Into<String>,
        transform: Transform,
        null_order: NullOrder,
    ) -> Self {
        self.field(column, transform, SortDirection::Desc, null_order)
    }

    /// Add a sort field with an explicit direction.
    pub fn field(
        mut self,
        column: impl Into<String>,
        transform: Transform,
        direction: SortDirection,
        null_order: NullOrder,
    ) -> Self {
        self.terms.push(Term {
            column: column.into(),
            transform,
            direction,
            null_order,
        });
        self
    }

    /// The order these fields make against `md`'s current schema (its id is a placeholder the
    /// metadata builder replaces), or None when it equals the default order already.
    pub fn apply(&self, md: &TableMetadata) -> Result<Option<SortOrder>> {
        let schema = md.current_schema();
        let mut fields = Vec::with_capacity(self.terms.len());
        for t in &self.terms {
            let source = schema.field_by_name(&t.column).ok_or_else(|| {
                Error::invalid_update(format!(
                    "cannot sort by '{}': no such column in the current schema",
                    t.column
                ))
            })?;
            if !t.transform.can_transform(&source.field_type) {
                return Err(Error::invalid_update(format!(
                    "cannot sort by {} of column '{}' of type {}",
                    t.transform, t.column, source.field_type
                )));
            }
            let field = SortField {
                source_id: SourceId::from(source.id),
                transform: t.transform.clone(),
                direction: t.direction,
                null_order: t.null_order,
            };
            if fields.iter().any(|f: &SortField| {
                f.source_id == field.source_id && f.transform == field.transform
            }) {
                return Err(Error::invalid_update(format!(
                    "cannot sort by {} of column '{}' twice",
                    t.transform, t.column
                )));
            }
            fields.push(field);
        }
        let unchanged = md
            .default_sort_order()
            .is_some_and(|o| o.fields() == fields.as_slice());
        if unchanged {
            return Ok(None);
        }
        let id = if fields.is_empty() { 0 } else { 1 };
        Ok(Some(SortOrder::new(id, fields)))
    }

    /// Commit the order as the default, retrying per `commit.retry.*` against the reloaded
    /// table (the columns are resolved again there) when another commit got in first.
    pub async fn commit(self, catalog: &dyn Catalog) -> Result<Table> {
        super::commit_with_retries(&self.table, catalog, |md| {
            let Some(sort_order) = self.apply(md)? else {
                return Ok(None);
            };
            let requirements = vec![
                TableRequirement::AssertTableUuid {
                    uuid: md.table_uuid(),
                },
                TableRequirement::AssertCurrentSchemaId {
                    current_schema_id: md.current_schema_id(),
                },
                TableRequirement::AssertDefaultSortOrderId {
                    default_sort_order_id: md.default_sort_order_id(),
                },
            ];
            let updates = vec![
                TableUpdate::AddSortOrder { sort_order },
                TableUpdate::SetDefaultSortOrder { sort_order_id: -1 },
            ];
            Ok(Some((requirements, updates)))
        })
        .await
    }
}

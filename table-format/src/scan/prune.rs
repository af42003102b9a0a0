//! Pruning for planning: which manifests and files may hold rows matching a filter, and
//! which files certainly hold only matching rows (for copy-on-write deletes).
//!
//! - [`Pruner`]: per partition spec, the filter projected through the spec's transforms
//!   (manifest summaries, partition tuples); per file, the column metrics. Each manifest and
//!   file is judged by its own spec, so one filter prunes files of every spec correctly.

use std::collections::HashMap;

use crate::Result;
use crate::expr::{
    BoundPredicate, InclusiveMetricsEvaluator, ManifestEvaluator, PartitionEvaluator,
    StrictMetricsEvaluator,
};
use crate::spec::{DataFile, ManifestFile, Schema, TableMetadata};

#[derive(Debug)]
struct SpecPruner {
    manifest: ManifestEvaluator,
    partition: PartitionEvaluator,
    strict_partition: PartitionEvaluator,
}

/// Decides, for one row filter, what planning may skip.
#[derive(Debug)]
pub struct Pruner {
    specs: HashMap<i32, SpecPruner>,
    metrics: Option<InclusiveMetricsEvaluator>,
    strict_metrics: Option<StrictMetricsEvaluator>,
}

impl Pruner {
    /// A pruner for `filter` (bound to `schema`) over every spec of `md`; with no filter
    /// nothing is pruned.
    pub fn new(
        md: &TableMetadata,
        schema: &Schema,
        filter: Option<&BoundPredicate>,
    ) -> Result<Self> {
        let Some(filter) = filter else {
            return Ok(Self {
                specs: HashMap::new(),
                metrics: None,
                strict_metrics: None,
            });
        };
        let mut specs = HashMap::new();
        for spec in md.partition_specs() {
            // A spec whose source columns are gone from this schema cannot be projected;
            // leave its manifests and files unpruned.
            let (Ok(manifest), Ok(partition), Ok(strict_partition)) = (
                ManifestEvaluator::for_row_filter(filter, spec, schema),
                PartitionEvaluator::inclusive(filter, spec, schema),
                PartitionEvaluator::strict(filter, spec, schema),
            ) else {
                continue;
            };
            specs.insert(
                spec.spec_id(),
                SpecPruner {
                    manifest,
                    partition,
                    strict_partition,
                },
            );
        }
        Ok(Self {
            specs,
            metrics: Some(InclusiveMetricsEvaluator::new(filter.clone(), schema)),
            strict_metrics: Some(StrictMetricsEvaluator::new(filter.clone(), schema)),
        })
    }

    /// Whether a manifest may hold matching rows (by its partition summaries).
    pub fn may_match_manifest(&self, m: &ManifestFile) -> bool {
        match self.specs.get(&m.partition_spec_id) {
            Some(p) => p.manifest.eval(m).unwrap_or(true),
            None => true,
        }
    }

    /// Whether a file may hold matching rows (by partition tuple, then column metrics).
    pub fn may_match_file(&self, spec_id: i32, f: &DataFile) -> Result<bool> {
        if let Some(p) = self.specs.get(&spec_id)
            && !p.partition.eval(&f.partition)
        {
            return Ok(false);
        }
        Ok(self.metrics.as_ref().is_none_or(|m| m.eval(f)))
    }

    /// Whether every row of a file matches (so it can be removed without reading it).
    pub fn all_rows_match(&self, spec_id: i32, f: &DataFile) -> Result<bool> {
        if self.metrics.is_none() {
            return Ok(true);
        }
        if let Some(p) = self.specs.get(&spec_id)
            && p.strict_partition.eval(&f.partition)
        {
            return Ok(true);
        }
        Ok(self.strict_metrics.as_ref().is_some_and(|m| m.eval(f)))
    }
}

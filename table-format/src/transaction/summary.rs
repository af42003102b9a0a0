//! Snapshot summaries: what a commit added and removed, and the table totals after it
//! (spec "Snapshot Summary"; the keys are the ones Java and pyiceberg write).

use std::collections::HashSet;

use crate::spec::{DataContentType, DataFile, Operation, PartitionValues, Summary};

/// Accumulates the files a snapshot adds and removes, then writes its [`Summary`].
#[derive(Debug, Default, Clone)]
pub struct SummaryBuilder {
    added_data_files: i64,
    added_records: i64,
    added_files_size: i64,
    deleted_data_files: i64,
    deleted_records: i64,
    removed_files_size: i64,
    added_delete_files: i64,
    added_position_delete_files: i64,
    added_equality_delete_files: i64,
    added_position_deletes: i64,
    added_equality_deletes: i64,
    removed_delete_files: i64,
    removed_position_deletes: i64,
    removed_equality_deletes: i64,
    partitions: HashSet<(i32, String)>,
}

fn key(spec_id: i32, p: &PartitionValues) -> (i32, String) {
    (spec_id, crate::spec::manifest::partition_key(p))
}

impl SummaryBuilder {
    /// Count a file the snapshot adds.
    pub fn add_file(&mut self, spec_id: i32, f: &DataFile) {
        self.partitions.insert(key(spec_id, &f.partition));
        match f.content {
            DataContentType::Data => {
                self.added_data_files += 1;
                self.added_records += f.record_count;
                self.added_files_size += f.file_size_in_bytes;
            }
            DataContentType::PositionDeletes => {
                self.added_delete_files += 1;
                self.added_position_delete_files += 1;
                self.added_position_deletes += f.record_count;
                self.added_files_size += f.file_size_in_bytes;
            }
            DataContentType::EqualityDeletes => {
                self.added_delete_files += 1;
                self.added_equality_delete_files += 1;
                self.added_equality_deletes += f.record_count;
                self.added_files_size += f.file_size_in_bytes;
            }
        }
    }

    /// Count a file the snapshot removes.
    pub fn remove_file(&mut self, spec_id: i32, f: &DataFile) {
        self.partitions.insert(key(spec_id, &f.partition));
        match f.content {
            DataContentType::Data => {
                self.deleted_data_files += 1;
                self.deleted_records += f.record_count;
                self.removed_files_size += f.file_size_in_bytes;
            }
            DataContentType::PositionDeletes => {
                self.removed_delete_files += 1;
                self.removed_position_deletes += f.record_count;
                self.removed_files_size += f.file_size_in_bytes;
            }
            DataContentType::EqualityDeletes => {
                self.removed_delete_files += 1;
                self.removed_equality_deletes += f.record_count;
                self.removed_files_size += f.file_size_in_bytes;
            }
        }
    }

    /// The summary for `operation`, with totals carried from the parent's summary.
    pub fn build(&self, operation: Operation, parent: Option<&Summary>) -> Summary {
        let total = |k: &str| -> i64 {
            parent
                .and_then(|s| s.get(k))
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let mut s = Summary::new(operation);
        let mut put = |k: &str, v: i64, always: bool| {
            if always || v != 0 {
                s.set(k, v.to_string());
            }
        };
        put("added-data-files", self.added_data_files, false);
        put("deleted-data-files", self.deleted_data_files, false);
        put("added-delete-files", self.added_delete_files, false);
        put(
            "added-position-delete-files",
            self.added_position_delete_files,
            false,
        );
        put(
            "added-equality-delete-files",
            self.added_equality_delete_files,
            false,
        );
        put("removed-delete-files", self.removed_delete_files, false);
        put("added-records", self.added_records, false);
        put("deleted-records", self.deleted_records, false);
        put("added-files-size", self.added_files_size, false);
        put("removed-files-size", self.removed_files_size, false);
        put("added-position-deletes", self.added_position_deletes, false);
        put(
            "removed-position-deletes",
            self.removed_position_deletes,
            false,
        );
        put("added-equality-deletes", self.added_equality_deletes, false);
        put(
            "removed-equality-deletes",
            self.removed_equality_deletes,
            false,
        );
        put(
            "changed-partition-count",
            self.partitions.len() as i64,
            true,
        );
        put(
            "total-records",
            total("total-records") + self.added_records - self.deleted_records,
            true,
        );
        put(
            "total-files-size",
            total("total-files-size") + self.added_files_size - self.removed_files_size,
            true,
        );
        put(
            "total-data-files",
            total("total-data-files") + self.added_data_files - self.deleted_data_files,
            true,
        );
        put(
            "total-delete-files",
            total("total-delete-files") + self.added_delete_files - self.removed_delete_files,
            true,
        );
        put(
            "total-position-deletes",
            total("total-position-deletes") + self.added_position_deletes
                - self.removed_position_deletes,
            true,
        );
        put(
            "total-equality-deletes",
            total("total-equality-deletes") + self.added_equality_deletes
                - self.removed_equality_deletes,
            true,
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Datum;

    fn file(path: &str, records: i64, size: i64, part: i32) -> DataFile {
        DataFile {
            file_path: path.into(),
            record_count: records,
            file_size_in_bytes: size,
            partition: vec![Some(Datum::Int(part))],
            ..Default::default()
        }
    }

    #[test]
    fn totals_carry_from_the_parent() {
        let mut b = SummaryBuilder::default();
        b.add_file(0, &file("a", 10, 100, 1));
        b.add_file(0, &file("b", 5, 50, 2));
        let first = b.build(Operation::Append, None);
        assert_eq!(first.get("added-data-files"), Some("2"));
        assert_eq!(first.get("total-records"), Some("15"));
        assert_eq!(first.get("changed-partition-count"), Some("2"));
        let mut b = SummaryBuilder::default();
        b.remove_file(0, &file("a", 10, 100, 1));
        b.add_file(0, &file("c", 3, 30, 1));
        let second = b.build(Operation::Overwrite, Some(&first));
        assert_eq!(second.get("deleted-data-files"), Some("1"));
        assert_eq!(second.get("deleted-records"), Some("10"));
        assert_eq!(second.get("total-records"), Some("8"));
        assert_eq!(second.get("total-data-files"), Some("2"));
        assert_eq!(second.get("total-files-size"), Some("80"));
        assert_eq!(second.get("changed-partition-count"), Some("1"));
    }
}

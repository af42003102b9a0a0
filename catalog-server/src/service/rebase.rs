//! Contention without losers: a stale pure append is rebased onto its branch's new head
//! instead of being answered with 409.
//!
//! # The rule
//!
//! A single-table commit is rebased when all of these hold (anything else keeps the honest
//! 409 of an unmet requirement):
//!
//! - the table is format v2 or v3 and its property `floe.commit.rebase-appends` is not
//!   `false` (the default is on);
//! - the updates are exactly `add-snapshot` followed by `set-snapshot-ref`, the ref is a
//!   branch `B` and points at the added snapshot, whose summary operation is `append`. Any
//!   other update (even `set-properties`) makes the commit more than an append: the client
//!   decided it against the state it saw, so it is refused;
//! - the requirements hold on the current metadata, except exactly one:
//!   `assert-ref-snapshot-id` on `B`, because `B` moved (or was created) since the client
//!   read it. `B` must still exist and still be a branch;
//! - the added snapshot's parent is the head the client asserted, and its id is not in the
//!   table yet (an id that is already there is most likely the client's retry of a commit
//!   that did land, and rebasing it would append the same files twice);
//! - its manifest list and manifests lie inside the warehouse, and the list is exactly a fast
//!   append: the manifests the client's parent listed, untouched, plus manifests this snapshot
//!   added (`added_snapshot_id` is the snapshot's id) that hold only data files with status
//!   ADDED and no explicit sequence numbers or first row ids, so that all of them are
//!   inherited from the manifest list (a merged manifest with EXISTING entries, a delete file
//!   or a pinned sequence number refuses the rebase).
//!
//! The rebase then does what the client itself would do on retry (Java's and pyiceberg's
//! fast append keep their new manifests and rebuild only the manifest list): it writes a new
//! manifest list in the table's metadata directory (conditional create) holding the client's
//! added manifests followed by every manifest of the new head, makes the new head the
//! snapshot's parent, gives it the next sequence number, recomputes the summary (the added
//! counts from the added manifests' entries, the totals from the new head's totals), and sends
//! the result through the ordinary commit path with the requirement on `B` moved to the new
//! head. A lost pointer swap repeats the whole attempt against the newer head.
//!
//! # Spec sections it relies on
//!
//! - "Sequence Number Inheritance" (Manifests): ADDED entries with null data and file sequence
//!   numbers take the sequence number of their manifest's entry in the manifest list, so the
//!   client's manifests can be listed again under a new sequence number without rewriting
//!   them. Their `sequence_number` and `min_sequence_number` in the new list are the new
//!   snapshot's (assigned by table-format's `ManifestListWriter` for manifests that carry the
//!   unassigned marker, as Java's `ManifestFileWrapper` does). Rows appended this way are
//!   thus newer than every delete file committed before them, as a retried client commit's
//!   would be.
//! - "Snapshots" and "Manifest Lists": `sequence-number` is the table's
//!   `last-sequence-number` + 1, `parent-snapshot-id` the branch head it is built on.
//! - "Row Lineage" / "First Row ID Assignment" and "First Row ID Inheritance" (v3): the
//!   snapshot's `first-row-id` is the table's `next-row-id`; data manifests without a
//!   `first_row_id` (the client's, whose stale assignment is cleared) get one from there on,
//!   advancing by their added and existing rows, and `added-rows` is how far it advanced.
//!   Data files with a null `first_row_id` inherit from their manifest's.
//! - "Snapshot Summary": added counts describe the snapshot's own files; totals are the
//!   parent's plus what it added (omitted when the new head does not carry that total).

use std::collections::HashSet;

use bytes::Bytes;
use table_format::avro::{
    ManifestList, ManifestListWriter, ManifestReader, UNASSIGNED_SEQUENCE_NUMBER,
};
use table_format::io::FileIO;
use table_format::scan::plan::manifest_partition_type;
use table_format::spec::{
    DataContentType, FormatVersion, ManifestContentType, ManifestFile, ManifestStatus, Operation,
    Snapshot, SnapshotReference, Summary, TableMetadata, TableRequirement, TableUpdate,
};
use table_format::transaction::summary::SummaryBuilder;

use super::ident::within;

/// The table property that turns rebasing off (`false`); on by default.
pub const REBASE_APPENDS_PROPERTY: &str = "floe.commit.rebase-appends";

/// A stale commit recognized as a pure append to branch `branch`.
#[derive(Debug)]
struct StaleAppend<'a> {
    branch: &'a str,
    /// The head the client asserted (and built on); `None` when the branch did not exist.
    base: Option<i64>,
    /// The branch head now.
    head: &'a Snapshot,
    /// The client's snapshot.
    snapshot: &'a Snapshot,
    /// The client's new ref for the branch.
    reference: &'a SnapshotReference,
}

/// A commit rewritten onto the branch's new head.
#[derive(Debug)]
pub(super) struct Rebased {
    /// The client's requirements, with the one on the branch moved to the new head.
    pub requirements: Vec<TableRequirement>,
    /// `add-snapshot` of the rebased snapshot and the client's `set-snapshot-ref`.
    pub updates: Vec<TableUpdate>,
    /// The manifest list written for the rebased snapshot (to remove if it does not land).
    pub manifest_list: String,
    /// The new head the snapshot now descends from.
    pub parent: i64,
}

/// Whether the table lets the server rebase appends (`floe.commit.rebase-appends`).
fn enabled(md: &TableMetadata) -> bool {
    !md.properties()
        .get(REBASE_APPENDS_PROPERTY)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
}

/// Check, without any I/O, whether a commit whose requirements failed on `md` is a stale pure
/// append (see the module docs); the reason when it is not.
fn recognize<'a>(
    md: &'a TableMetadata,
    requirements: &'a [TableRequirement],
    updates: &'a [TableUpdate],
) -> Result<StaleAppend<'a>, String> {
    if !enabled(md) {
        return Err(format!("the table sets {REBASE_APPENDS_PROPERTY}=false"));
    }
    if md.format_version() < FormatVersion::V2 {
        return Err("format v1 has no sequence numbers to rebase with".into());
    }
    let (snapshot, branch, reference) = match updates {
        [
            TableUpdate::AddSnapshot { snapshot },
            TableUpdate::SetSnapshotRef {
                ref_name,
                reference,
            },
        ] => (snapshot, ref_name.as_str(), reference),
        _ => {
            return Err(format!(
                "only add-snapshot plus set-snapshot-ref is rebased, not [{}]",
                updates
                    .iter()
                    .map(TableUpdate::action)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    };
    if snapshot.summary.operation != Operation::Append {
        return Err(format!(
            "snapshot {} is a {}, not an append",
            snapshot.snapshot_id,
            snapshot.summary.operation.as_str()
        ));
    }
    if !reference.is_branch() || reference.snapshot_id != snapshot.snapshot_id {
        return Err(format!(
            "set-snapshot-ref does not make branch '{branch}' point at the added snapshot"
        ));
    }
    let mut asserted: Option<Option<i64>> = None;
    for r in requirements {
        match r {
            TableRequirement::AssertRefSnapshotId { r#ref, snapshot_id } if r#ref == branch => {
                if asserted.is_some() {
                    return Err(format!("branch '{branch}' is asserted twice"));
                }
                asserted = Some(*snapshot_id);
            }
            TableRequirement::AssertCreate => {
                return Err("a create is not an append".into());
            }
            other => {
                if let Err(e) = other.check(Some(md)) {
                    return Err(format!("{} also fails: {}", other.kind(), e.message()));
                }
            }
        }
    }
    let Some(base) = asserted else {
        return Err(format!(
            "the commit does not assert the head of branch '{branch}'"
        ));
    };
    let Some(current_ref) = md.refs().get(branch) else {
        return Err(format!("branch '{branch}' no longer exists"));
    };
    if !current_ref.is_branch() {
        return Err(format!("'{branch}' is now a tag"));
    }
    if base == Some(current_ref.snapshot_id) {
        return Err(format!("branch '{branch}' did not move"));
    }
    let head = md.snapshot_by_id(current_ref.snapshot_id).ok_or_else(|| {
        format!(
            "the head of '{branch}' ({}) is not in the metadata",
            current_ref.snapshot_id
        )
    })?;
    if snapshot.parent_snapshot_id != base {
        return Err(format!(
            "snapshot {}'s parent {:?} is not the asserted head {base:?}",
            snapshot.snapshot_id, snapshot.parent_snapshot_id
        ));
    }
    if md.snapshot_by_id(snapshot.snapshot_id).is_some() {
        return Err(format!(
            "snapshot {} is already in the table (a retry of a commit that landed?)",
            snapshot.snapshot_id
        ));
    }
    if snapshot.key_id.is_some() {
        return Err("the snapshot's manifest list is encrypted".into());
    }
    Ok(StaleAppend {
        branch,
        base,
        head,
        snapshot,
        reference,
    })
}

async fn read_list(io: &FileIO, root: &str, location: &str) -> Result<ManifestList, String> {
    if location.is_empty() {
        return Err("a snapshot lists its manifests inline (no manifest list)".into());
    }
    if !within(location, root) {
        return Err(format!("manifest list {location} is outside the warehouse"));
    }
    let bytes = io
        .read(location)
        .await
        .map_err(|e| format!("cannot read manifest list {location}: {e}"))?;
    ManifestList::parse(&bytes).map_err(|e| format!("manifest list {location}: {e}"))
}

/// Check that a manifest the snapshot added holds only ADDED data files whose snapshot id,
/// sequence numbers and first row id are inherited; count them into `summary`.
async fn check_added_manifest(
    io: &FileIO,
    root: &str,
    md: &TableMetadata,
    snapshot_id: i64,
    m: &ManifestFile,
    summary: &mut SummaryBuilder,
) -> Result<(), String> {
    let path = &m.manifest_path;
    if m.content != ManifestContentType::Data {
        return Err(format!("manifest {path} holds delete files"));
    }
    if m.existing_files_count != 0 || m.deleted_files_count != 0 {
        return Err(format!(
            "manifest {path} has existing or deleted entries (a merged manifest)"
        ));
    }
    if !within(path, root) {
        return Err(format!("manifest {path} is outside the warehouse"));
    }
    let partition_type = manifest_partition_type(md, m).map_err(|e| e.to_string())?;
    let bytes = io
        .read(path)
        .await
        .map_err(|e| format!("cannot read manifest {path}: {e}"))?;
    let reader = ManifestReader::without_inheritance(&bytes, &partition_type)
        .map_err(|e| format!("manifest {path}: {e}"))?;
    for entry in reader {
        let e = entry.map_err(|e| format!("manifest {path}: {e}"))?;
        let file = &e.data_file.file_path;
        if e.status != ManifestStatus::Added {
            return Err(format!("{file} in {path} is not an ADDED entry"));
        }
        if e.data_file.content != DataContentType::Data {
            return Err(format!("{file} in {path} is a delete file"));
        }
        if e.snapshot_id.is_some_and(|id| id != snapshot_id) {
            return Err(format!("{file} in {path} names another snapshot"));
        }
        if e.sequence_number.is_some() || e.file_sequence_number.is_some() {
            return Err(format!(
                "{file} in {path} has an explicit sequence number instead of inheriting one"
            ));
        }
        if e.data_file.first_row_id.is_some() {
            return Err(format!("{file} in {path} has an explicit first row id"));
        }
        summary.add_file(m.partition_spec_id, &e.data_file);
    }
    Ok(())
}

/// Summary keys that describe counts, which the rebase recomputes rather than copies.
fn is_metric(key: &str) -> bool {
    ["added-", "deleted-", "removed-", "total-", "manifests-"]
        .iter()
        .any(|p| key.starts_with(p))
        || key == "changed-partition-count"
}

/// The rebased snapshot's summary: the added counts from the snapshot's own files, the totals
/// carried from the new head (a total the head lacks stays unknown), and every other entry of
/// the client's summary (engine, custom properties, partition summaries) as it was.
fn rebased_summary(client: &Summary, head: &Summary, added: &SummaryBuilder) -> Summary {
    let built = added.build(Operation::Append, Some(head));
    let mut out = Summary::new(Operation::Append);
    for (k, v) in built.iter() {
        if k.starts_with("total-") && head.get(k).is_none() {
            continue;
        }
        out.set(k, v);
    }
    for (k, v) in client.iter() {
        if !is_metric(k) && out.get(k).is_none() {
            out.set(k, v);
        }
    }
    out
}

/// Rebase a commit whose requirements failed on `md` (the table's current metadata) onto the
/// new head of its branch, if it is a stale pure append (see the module docs). On success the
/// new manifest list has been written; the caller applies the returned requirements and
/// updates through the normal commit path and removes the list if that does not land. On
/// refusal, the reason (nothing was written).
pub(super) async fn rebase_append(
    io: &FileIO,
    warehouse_root: &str,
    md: &TableMetadata,
    requirements: &[TableRequirement],
    updates: &[TableUpdate],
) -> Result<Rebased, String> {
    let stale = recognize(md, requirements, updates)?;
    let snapshot_id = stale.snapshot.snapshot_id;
    let client = read_list(io, warehouse_root, &stale.snapshot.manifest_list).await?;
    if client
        .metadata
        .snapshot_id
        .is_some_and(|id| id != snapshot_id)
    {
        return Err(format!(
            "manifest list {} belongs to snapshot {:?}, not {snapshot_id}",
            stale.snapshot.manifest_list, client.metadata.snapshot_id
        ));
    }
    let (added, inherited): (Vec<&ManifestFile>, Vec<&ManifestFile>) = client
        .manifests
        .iter()
        .partition(|m| m.added_snapshot_id == snapshot_id);

    // What the client kept of its parent must be its parent's manifests, all of them.
    let kept: HashSet<&str> = inherited.iter().map(|m| m.manifest_path.as_str()).collect();
    let parent_manifests = match stale.base {
        None => Vec::new(),
        Some(id) => {
            let base = md.snapshot_by_id(id).ok_or_else(|| {
                format!("snapshot {id}, which the commit was built on, is no longer in the table")
            })?;
            read_list(io, warehouse_root, &base.manifest_list)
                .await?
                .manifests
        }
    };
    let parent: HashSet<&str> = parent_manifests
        .iter()
        .map(|m| m.manifest_path.as_str())
        .collect();
    if kept.len() != inherited.len() || kept != parent {
        return Err(format!(
            "manifest list {} does not keep exactly the manifests of its parent {:?}",
            stale.snapshot.manifest_list, stale.base
        ));
    }

    let mut summary = SummaryBuilder::default();
    for m in &added {
        check_added_manifest(io, warehouse_root, md, snapshot_id, m, &mut summary).await?;
    }
    let head_list = read_list(io, warehouse_root, &stale.head.manifest_list).await?;

    // The new manifest list: the client's manifests (their sequence numbers and first row
    // ids left to the writer to assign), then every manifest of the new head.
    let sequence_number = md.next_sequence_number();
    let first_row_id =
        (md.format_version() >= FormatVersion::V3).then(|| md.next_row_id().unwrap_or(0));
    let mut writer = ManifestListWriter::new(
        md.format_version(),
        snapshot_id,
        Some(stale.head.snapshot_id),
        sequence_number,
        first_row_id,
    )
    .map_err(|e| e.to_string())?;
    for m in &added {
        let mut m = (*m).clone();
        m.sequence_number = UNASSIGNED_SEQUENCE_NUMBER;
        m.min_sequence_number = UNASSIGNED_SEQUENCE_NUMBER;
        m.first_row_id = None;
        writer.add_manifest(&m).map_err(|e| e.to_string())?;
    }
    for m in &head_list.manifests {
        writer.add_manifest(m).map_err(|e| e.to_string())?;
    }
    let (bytes, next_row_id) = writer.finish().map_err(|e| e.to_string())?;
    let added_rows = match (first_row_id, next_row_id) {
        (Some(first), Some(next)) => Some(next - first),
        _ => None,
    };
    let location = format!(
        "{}/snap-{snapshot_id}-rebased-{sequence_number}-{}.avro",
        md.metadata_dir(),
        uuid::Uuid::new_v4()
    );
    io.create(&location, Bytes::from(bytes))
        .await
        .map_err(|e| format!("cannot write the rebased manifest list: {e}"))?;

    let rebased = Snapshot {
        snapshot_id,
        parent_snapshot_id: Some(stale.head.snapshot_id),
        sequence_number,
        timestamp_ms: chrono::Utc::now()
            .timestamp_millis()
            .max(md.last_updated_ms()),
        manifest_list: location.clone(),
        manifests: None,
        summary: rebased_summary(&stale.snapshot.summary, &stale.head.summary, &summary),
        schema_id: stale.snapshot.schema_id,
        first_row_id,
        added_rows,
        key_id: None,
    };
    let requirements = requirements
        .iter()
        .map(|r| match r {
            TableRequirement::AssertRefSnapshotId { r#ref, .. } if r#ref == stale.branch => {
                TableRequirement::AssertRefSnapshotId {
                    r#ref: r#ref.clone(),
                    snapshot_id: Some(stale.head.snapshot_id),
                }
            }
            other => other.clone(),
        })
        .collect();
    Ok(Rebased {
        requirements,
        updates: vec![
            TableUpdate::AddSnapshot { snapshot: rebased },
            TableUpdate::SetSnapshotRef {
                ref_name: stale.branch.to_string(),
                reference: stale.reference.clone(),
            },
        ],
        manifest_list: location,
        parent: stale.head.snapshot_id,
    })
}

//! Branches and tags: [`ManageSnapshots`] creates, moves, renames and removes refs, sets their
//! retention, fast-forwards a branch, and rolls `main` back or sets its snapshot.
//!
//! Changes apply in order to a working copy of the refs and are validated there; the commit
//! carries one `set-snapshot-ref` or `remove-snapshot-ref` per ref that ends up changed, each
//! guarded by `assert-ref-snapshot-id` with the ref's snapshot when the changes were applied.
//! Moving `main` adds a `snapshot-log` entry (the metadata builder does); other refs do not.

use std::collections::BTreeMap;

use crate::catalog::Catalog;
use crate::spec::{
    SnapshotReference, SnapshotRetention, TableMetadata, TableRequirement, TableUpdate,
    snapshot::MAIN_BRANCH,
};
use crate::table::Table;
use crate::{Error, ErrorKind, Result};

#[derive(Debug, Clone)]
enum RefChange {
    CreateBranch(String, i64),
    CreateTag(String, i64),
    ReplaceBranch(String, i64),
    ReplaceTag(String, i64),
    RemoveBranch(String),
    RenameBranch(String, String),
    RemoveTag(String),
    MinSnapshotsToKeep(String, i32),
    MaxSnapshotAgeMs(String, i64),
    MaxRefAgeMs(String, i64),
    FastForward(String, String),
    RollbackTo(i64),
    SetCurrentSnapshot(i64),
}

/// Manage a table's branches and tags.
#[derive(Debug)]
pub struct ManageSnapshots {
    table: Table,
    changes: Vec<RefChange>,
}

impl Table {
    /// Create, move and remove branches and tags.
    pub fn manage_snapshots(&self) -> ManageSnapshots {
        ManageSnapshots {
            table: self.clone(),
            changes: vec![],
        }
    }
}

fn not_found(msg: String) -> Error {
    Error::new(ErrorKind::NotFound, msg)
}

fn exists(msg: String) -> Error {
    Error::new(ErrorKind::AlreadyExists, msg)
}

fn check_snapshot(md: &TableMetadata, id: i64) -> Result<()> {
    if md.snapshot_by_id(id).is_none() {
        return Err(not_found(format!("snapshot {id} does not exist")));
    }
    Ok(())
}

fn get_ref<'a>(
    refs: &'a mut BTreeMap<String, SnapshotReference>,
    name: &str,
    branch: Option<bool>,
) -> Result<&'a mut SnapshotReference> {
    let r = refs
        .get_mut(name)
        .ok_or_else(|| not_found(format!("ref '{name}' does not exist")))?;
    match branch {
        Some(true) if !r.is_branch() => Err(Error::invalid_update(format!(
            "ref '{name}' is a tag, not a branch"
        ))),
        Some(false) if r.is_branch() => Err(Error::invalid_update(format!(
            "ref '{name}' is a branch, not a tag"
        ))),
        _ => Ok(r),
    }
}

impl ManageSnapshots {
    fn push(mut self, c: RefChange) -> Self {
        self.changes.push(c);
        self
    }

    /// Create a branch at a snapshot.
    pub fn create_branch(self, name: impl Into<String>, snapshot_id: i64) -> Self {
        self.push(RefChange::CreateBranch(name.into(), snapshot_id))
    }

    /// Create a tag at a snapshot.
    pub fn create_tag(self, name: impl Into<String>, snapshot_id: i64) -> Self {
        self.push(RefChange::CreateTag(name.into(), snapshot_id))
    }

    /// Point an existing branch at another snapshot (any snapshot; see
    /// [`ManageSnapshots::fast_forward`] for the checked move).
    pub fn replace_branch(self, name: impl Into<String>, snapshot_id: i64) -> Self {
        self.push(RefChange::ReplaceBranch(name.into(), snapshot_id))
    }

    /// Point an existing tag at another snapshot.
    pub fn replace_tag(self, name: impl Into<String>, snapshot_id: i64) -> Self {
        self.push(RefChange::ReplaceTag(name.into(), snapshot_id))
    }

    /// Remove a branch (not `main`).
    pub fn remove_branch(self, name: impl Into<String>) -> Self {
        self.push(RefChange::RemoveBranch(name.into()))
    }

    /// Rename a branch (not `main`, nor to `main`): the new name points at the same snapshot
    /// with the same retention, and the old name is removed, in one commit.
    pub fn rename_branch(self, name: impl Into<String>, new_name: impl Into<String>) -> Self {
        self.push(RefChange::RenameBranch(name.into(), new_name.into()))
    }

    /// Remove a tag.
    pub fn remove_tag(self, name: impl Into<String>) -> Self {
        self.push(RefChange::RemoveTag(name.into()))
    }

    /// Set a branch's `min-snapshots-to-keep`.
    pub fn set_min_snapshots_to_keep(self, branch: impl Into<String>, n: i32) -> Self {
        self.push(RefChange::MinSnapshotsToKeep(branch.into(), n))
    }

    /// Set a branch's `max-snapshot-age-ms`.
    pub fn set_max_snapshot_age_ms(self, branch: impl Into<String>, ms: i64) -> Self {
        self.push(RefChange::MaxSnapshotAgeMs(branch.into(), ms))
    }

    /// Set a ref's `max-ref-age-ms`.
    pub fn set_max_ref_age_ms(self, name: impl Into<String>, ms: i64) -> Self {
        self.push(RefChange::MaxRefAgeMs(name.into(), ms))
    }

    /// Move `branch` to `to_branch`'s snapshot, only if `branch`'s snapshot is an ancestor
    /// of it.
    pub fn fast_forward(self, branch: impl Into<String>, to_branch: impl Into<String>) -> Self {
        self.push(RefChange::FastForward(branch.into(), to_branch.into()))
    }

    /// Move `main` back to an ancestor of its current snapshot.
    pub fn rollback_to(self, snapshot_id: i64) -> Self {
        self.push(RefChange::RollbackTo(snapshot_id))
    }

    /// Make a snapshot current (move or create `main`).
    pub fn set_current_snapshot(self, snapshot_id: i64) -> Self {
        self.push(RefChange::SetCurrentSnapshot(snapshot_id))
    }

    /// The refs these changes make from `md`'s.
    pub fn apply(&self, md: &TableMetadata) -> Result<BTreeMap<String, SnapshotReference>> {
        let mut refs = md.refs().clone();
        for change in &self.changes {
            match change {
                RefChange::CreateBranch(name, id) | RefChange::CreateTag(name, id) => {
                    let tag = matches!(change, RefChange::CreateTag(..));
                    if name.is_empty() {
                        return Err(Error::invalid_update("a ref name cannot be empty"));
                    }
                    if tag && name == MAIN_BRANCH {
                        return Err(Error::invalid_update(
                            "cannot create a tag named 'main': main is a branch",
                        ));
                    }
                    if refs.contains_key(name) {
                        return Err(exists(format!("ref '{name}' already exists")));
                    }
                    check_snapshot(md, *id)?;
                    let retention = if tag {
                        SnapshotRetention::Tag {
                            max_ref_age_ms: None,
                        }
                    } else {
                        SnapshotRetention::branch()
                    };
                    refs.insert(
                        name.clone(),
                        SnapshotReference {
                            snapshot_id: *id,
                            retention,
                        },
                    );
                }
                RefChange::ReplaceBranch(name, id) | RefChange::ReplaceTag(name, id) => {
                    let branch = matches!(change, RefChange::ReplaceBranch(..));
                    check_snapshot(md, *id)?;
                    get_ref(&mut refs, name, Some(branch))?.snapshot_id = *id;
                }
                RefChange::RemoveBranch(name) | RefChange::RemoveTag(name) => {
                    let branch = matches!(change, RefChange::RemoveBranch(..));
                    if name == MAIN_BRANCH {
                        return Err(Error::invalid_update("cannot remove the main branch"));
                    }
                    get_ref(&mut refs, name, Some(branch))?;
                    refs.remove(name);
                }
                RefChange::RenameBranch(name, new_name) => {
                    if name == MAIN_BRANCH || new_name == MAIN_BRANCH {
                        return Err(Error::invalid_update(format!(
                            "cannot rename '{name}' to '{new_name}': the main branch cannot be renamed or replaced by a rename"
                        )));
                    }
                    if new_name.is_empty() {
                        return Err(Error::invalid_update("a ref name cannot be empty"));
                    }
                    let branch = get_ref(&mut refs, name, Some(true))?.clone();
                    if name == new_name {
                        continue;
                    }
                    if refs.contains_key(new_name) {
                        return Err(exists(format!(
                            "cannot rename '{name}' to '{new_name}': ref '{new_name}' already exists"
                        )));
                    }
                    refs.remove(name);
                    refs.insert(new_name.clone(), branch);
                }
                RefChange::MinSnapshotsToKeep(name, n) => {
                    if *n <= 0 {
                        return Err(Error::invalid_update(format!(
                            "min-snapshots-to-keep must be positive, not {n}"
                        )));
                    }
                    if let SnapshotRetention::Branch {
                        min_snapshots_to_keep,
                        ..
                    } = &mut get_ref(&mut refs, name, Some(true))?.retention
                    {
                        *min_snapshots_to_keep = Some(*n);
                    }
                }
                RefChange::MaxSnapshotAgeMs(name, ms) => {
                    if *ms <= 0 {
                        return Err(Error::invalid_update(format!(
                            "max-snapshot-age-ms must be positive, not {ms}"
                        )));
                    }
                    if let SnapshotRetention::Branch {
                        max_snapshot_age_ms,
                        ..
                    } = &mut get_ref(&mut refs, name, Some(true))?.retention
                    {
                        *max_snapshot_age_ms = Some(*ms);
                    }
                }
                RefChange::MaxRefAgeMs(name, ms) => {
                    if *ms <= 0 {
                        return Err(Error::invalid_update(format!(
                            "max-ref-age-ms must be positive, not {ms}"
                        )));
                    }
                    if name == MAIN_BRANCH {
                        return Err(Error::invalid_update(
                            "the main branch never expires; it takes no max-ref-age-ms",
                        ));
                    }
                    match &mut get_ref(&mut refs, name, None)?.retention {
                        SnapshotRetention::Branch { max_ref_age_ms, .. }
                        | SnapshotRetention::Tag { max_ref_age_ms } => *max_ref_age_ms = Some(*ms),
                    }
                }
                RefChange::FastForward(branch, to) => {
                    let target = get_ref(&mut refs, to, None)?.snapshot_id;
                    let from = get_ref(&mut refs, branch, Some(true))?;
                    if from.snapshot_id == target {
                        continue;
                    }
                    if !md
                        .ancestors_of(target)
                        .any(|s| s.snapshot_id == from.snapshot_id)
                    {
                        return Err(Error::invalid_update(format!(
                            "cannot fast-forward '{branch}' to '{to}': its snapshot {} is not an ancestor of {target}",
                            from.snapshot_id
                        )));
                    }
                    from.snapshot_id = target;
                }
                RefChange::RollbackTo(id) => {
                    check_snapshot(md, *id)?;
                    let main = get_ref(&mut refs, MAIN_BRANCH, Some(true))?;
                    if !md
                        .ancestors_of(main.snapshot_id)
                        .any(|s| s.snapshot_id == *id)
                    {
                        return Err(Error::invalid_update(format!(
                            "cannot roll back to snapshot {id}: it is not an ancestor of main's snapshot {}",
                            main.snapshot_id
                        )));
                    }
                    main.snapshot_id = *id;
                }
                RefChange::SetCurrentSnapshot(id) => {
                    check_snapshot(md, *id)?;
                    refs.entry(MAIN_BRANCH.to_string())
                        .and_modify(|r| r.snapshot_id = *id)
                        .or_insert_with(|| SnapshotReference::branch(*id));
                }
            }
        }
        Ok(refs)
    }

    /// Commit the changed refs, retrying per `commit.retry.*` against the reloaded table
    /// (the changes are validated again there) when another commit got in first.
    pub async fn commit(self, catalog: &dyn Catalog) -> Result<Table> {
        super::commit_with_retries(&self.table, catalog, |md| {
            let refs = self.apply(md)?;
            let mut requirements = vec![TableRequirement::AssertTableUuid {
                uuid: md.table_uuid(),
            }];
            let mut removals = vec![];
            let mut sets = vec![];
            for (name, old) in md.refs() {
                if !refs.contains_key(name) {
                    requirements.push(TableRequirement::AssertRefSnapshotId {
                        r#ref: name.clone(),
                        snapshot_id: Some(old.snapshot_id),
                    });
                    removals.push(TableUpdate::RemoveSnapshotRef {
                        ref_name: name.clone(),
                    });
                }
            }
            for (name, new) in &refs {
                let old = md.refs().get(name);
                if old == Some(new) {
                    continue;
                }
                requirements.push(TableRequirement::AssertRefSnapshotId {
                    r#ref: name.clone(),
                    snapshot_id: old.map(|r| r.snapshot_id),
                });
                sets.push(TableUpdate::SetSnapshotRef {
                    ref_name: name.clone(),
                    reference: new.clone(),
                });
            }
            if removals.is_empty() && sets.is_empty() {
                return Ok(None);
            }
            removals.extend(sets);
            Ok(Some((requirements, removals)))
        })
        .await
    }
}

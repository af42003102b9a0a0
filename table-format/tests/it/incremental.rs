//! Incremental reads return exactly the rows appended between two snapshots of one lineage,
//! and refuse a range with an overwrite or a delete unless asked to include changes.

use table_format::catalog::{Catalog, MemoryCatalog, TableCreation, TableIdent};
use table_format::expr::Reference;
use table_format::io::FileIO;
use table_format::spec::Datum;

use crate::interop::{batch, schema};
use crate::operations::ids_of;

#[tokio::test]
async fn appended_rows_between_two_snapshots() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let ident = TableIdent::new(["db"], "inc");
    let t = catalog
        .create_table(&ident, TableCreation::new(schema()))
        .await
        .unwrap();
    let mut snaps = Vec::new();
    let mut t = t;
    for k in 0..4 {
        t = t
            .fast_append()
            .add_batches(&[batch(&schema(), k * 10, 10)])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
        snaps.push(t.metadata().current_snapshot_id().unwrap());
    }
    // After the first snapshot, up to the current one: appends 2, 3 and 4.
    let rows = ids_of(&t.incremental_scan(Some(snaps[0])).to_arrow().await.unwrap());
    assert_eq!(rows, (10..40).collect::<Vec<_>>());
    // A bounded range: only the third append.
    let rows = ids_of(
        &t.incremental_scan(Some(snaps[1]))
            .to_snapshot(snaps[2])
            .to_arrow()
            .await
            .unwrap(),
    );
    assert_eq!(rows, (20..30).collect::<Vec<_>>());
    // From the start of the lineage.
    let rows = ids_of(
        &t.incremental_scan(None)
            .to_snapshot(snaps[1])
            .to_arrow()
            .await
            .unwrap(),
    );
    assert_eq!(rows, (0..20).collect::<Vec<_>>());
    // An empty range.
    assert!(
        t.incremental_scan(Some(snaps[3]))
            .to_arrow()
            .await
            .unwrap()
            .is_empty()
    );
    // `from` must be an ancestor of `to`.
    let err = t
        .incremental_scan(Some(snaps[3]))
        .to_snapshot(snaps[1])
        .snapshots()
        .unwrap_err();
    assert!(err.message().contains("not an ancestor"), "{err}");
    assert!(t.incremental_scan(Some(42)).snapshots().is_err());
}

#[tokio::test]
async fn a_range_with_a_delete_is_refused_unless_changes_are_included() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let ident = TableIdent::new(["db"], "inc2");
    let t = catalog
        .create_table(&ident, TableCreation::new(schema()))
        .await
        .unwrap();
    let t = t
        .fast_append()
        .add_batches(&[batch(&schema(), 0, 10)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let start = t.metadata().current_snapshot_id().unwrap();
    let t = t
        .fast_append()
        .add_batches(&[batch(&schema(), 10, 10)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let t = t
        .delete_where(Reference::new("id").less_than(Datum::Long(5)))
        .commit(&catalog)
        .await
        .unwrap();
    let t = t
        .fast_append()
        .add_batches(&[batch(&schema(), 20, 5)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let err = t
        .incremental_scan(Some(start))
        .to_arrow()
        .await
        .unwrap_err();
    assert!(
        err.message().contains("not an append") && err.message().contains("include_changes"),
        "{err}"
    );
    let changes = t
        .incremental_scan(Some(start))
        .include_changes()
        .changes()
        .await
        .unwrap();
    assert_eq!(changes.snapshots.len(), 3);
    // The delete rewrote the first append's file (which existed before the range): it is
    // removed, its rewrite (ids 5..9) is added, along with the two appends in the range.
    assert_eq!(changes.removed.len(), 1);
    let rows = ids_of(
        &t.incremental_scan(Some(start))
            .include_changes()
            .to_arrow()
            .await
            .unwrap(),
    );
    let mut expected: Vec<i64> = (5..10).chain(10..25).collect();
    expected.sort_unstable();
    assert_eq!(rows, expected);
}

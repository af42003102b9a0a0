//! The in-memory catalog commits like a server: requirements, builder, conditional metadata
//! write, pointer swap; losers of a race get a retryable conflict and nothing changes.

use std::collections::BTreeMap;

use table_format::ErrorKind;
use table_format::catalog::{Catalog, MemoryCatalog, TableCreation, TableIdent};
use table_format::io::FileIO;
use table_format::spec::{NestedField, PrimitiveType, Schema, TableRequirement, TableUpdate};

fn schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::required(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "name", PrimitiveType::String),
        ])
        .build()
        .unwrap()
}

fn set_prop(k: &str, v: &str) -> TableUpdate {
    TableUpdate::SetProperties {
        updates: BTreeMap::from([(k.to_string(), v.to_string())]),
    }
}

#[tokio::test]
async fn create_load_commit_and_metadata_files_are_versioned() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let ident = TableIdent::new(["db"], "t");
    let t = catalog
        .create_table(&ident, TableCreation::new(schema()))
        .await
        .unwrap();
    assert!(
        t.metadata_location()
            .starts_with("memory://wh/db/t/metadata/00000-")
    );
    let err = catalog
        .create_table(&ident, TableCreation::new(schema()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);

    let uuid = t.metadata().table_uuid();
    let t2 = catalog
        .commit_table(
            &ident,
            vec![TableRequirement::AssertTableUuid { uuid }],
            vec![set_prop("a", "1")],
        )
        .await
        .unwrap();
    assert!(t2.metadata_location().contains("/00001-"));
    assert_eq!(
        t2.metadata().properties().get("a").map(String::as_str),
        Some("1")
    );
    assert_eq!(t2.metadata().metadata_log().len(), 1);
    assert_eq!(
        t2.metadata().metadata_log()[0].metadata_file,
        t.metadata_location()
    );
    let loaded = catalog.load_table(&ident).await.unwrap();
    assert_eq!(loaded.metadata_location(), t2.metadata_location());
    assert_eq!(
        catalog.list_tables(&["db".to_string()]).await.unwrap(),
        vec![ident.clone()]
    );
}

#[tokio::test]
async fn a_failed_requirement_changes_nothing() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let ident = TableIdent::new(["db"], "t");
    let t = catalog
        .create_table(&ident, TableCreation::new(schema()))
        .await
        .unwrap();
    let req = vec![TableRequirement::AssertRefSnapshotId {
        r#ref: "main".into(),
        snapshot_id: Some(1),
    }];
    let err = catalog
        .commit_table(&ident, req, vec![set_prop("a", "1")])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CommitConflict);
    assert!(err.is_retryable());
    let loaded = catalog.load_table(&ident).await.unwrap();
    assert_eq!(loaded.metadata_location(), t.metadata_location());
    assert!(loaded.metadata().properties().get("a").is_none());
    // No stray metadata file was left behind.
    let files = catalog
        .file_io()
        .list("memory://wh/db/t/metadata")
        .await
        .unwrap();
    assert_eq!(files.len(), 1);
}

#[tokio::test]
async fn drop_with_and_without_purge() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let a = TableIdent::new(["db"], "a");
    let b = TableIdent::new(["db"], "b");
    catalog
        .create_table(&a, TableCreation::new(schema()))
        .await
        .unwrap();
    catalog
        .create_table(&b, TableCreation::new(schema()))
        .await
        .unwrap();
    catalog.drop_table(&a, false).await.unwrap();
    assert_eq!(
        catalog
            .file_io()
            .list("memory://wh/db/a")
            .await
            .unwrap()
            .len(),
        1
    );
    catalog.drop_table(&b, true).await.unwrap();
    assert!(
        catalog
            .file_io()
            .list("memory://wh/db/b")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        catalog.load_table(&a).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

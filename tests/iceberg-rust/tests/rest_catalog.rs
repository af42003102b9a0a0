//! iceberg-rust's REST catalog client against a real Floe `catalog-server` process.
//!
//! The server binary comes from `FLOE_CATALOG_SERVER_BIN` (set by `scripts/test.sh`); the test
//! starts it on a free port with a fresh data dir, then creates a namespace and a table, appends
//! two Parquet data files written by iceberg-rust (one fast append each), checks snapshots and
//! planned files, reads the rows back through table scans, and drops everything.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use arrow_array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use futures::TryStreamExt;
use iceberg::arrow::schema_to_arrow_schema;
use iceberg::io::LocalFsStorageFactory;
use iceberg::spec::{
    DataFile, DataFileFormat, NestedField, Operation, PrimitiveType, Schema, Type,
};
use iceberg::table::Table;
use iceberg::transaction::{ApplyTransactionAction, Transaction};
use iceberg::writer::base_writer::data_file_writer::DataFileWriterBuilder;
use iceberg::writer::file_writer::ParquetWriterBuilder;
use iceberg::writer::file_writer::location_generator::{
    DefaultFileNameGenerator, DefaultLocationGenerator,
};
use iceberg::writer::file_writer::rolling_writer::RollingFileWriterBuilder;
use iceberg::writer::{IcebergWriter, IcebergWriterBuilder};
use iceberg::{Catalog, CatalogBuilder, NamespaceIdent, TableCreation, TableIdent};
use iceberg_catalog_rest::{
    REST_CATALOG_PROP_URI, REST_CATALOG_PROP_WAREHOUSE, RestCatalog, RestCatalogBuilder,
};
use parquet::file::properties::WriterProperties;

/// Env var naming the `catalog-server` binary under test.
const SERVER_BIN_VAR: &str = "FLOE_CATALOG_SERVER_BIN";
/// What the server prints on stdout, followed by its base URL, once it is bound.
const LISTENING_PREFIX: &str = "floe catalog-server listening on ";
/// How long the server may take to print its listening line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `catalog-server` child, killed on drop (also when the test panics).
struct Server {
    child: Child,
    url: String,
    log: std::path::PathBuf,
    _data_dir: tempfile::TempDir,
}

impl Server {
    /// Starts the binary from `FLOE_CATALOG_SERVER_BIN` and waits for its listening line.
    fn start() -> Server {
        let bin = std::env::var_os(SERVER_BIN_VAR).unwrap_or_else(|| {
            panic!(
                "{SERVER_BIN_VAR} is not set: point it at Floe's catalog-server binary \
                 (scripts/test.sh sets it to $CARGO_TARGET_DIR/debug/catalog-server)"
            )
        });
        assert!(
            Path::new(&bin).is_file(),
            "{SERVER_BIN_VAR}={} is not a file: build it with `cargo build -p catalog-server`",
            Path::new(&bin).display()
        );
        let data_dir = tempfile::tempdir().expect("create the server's data dir");
        let log = data_dir.path().join("server-stderr.log");
        let stderr = std::fs::File::create(&log).expect("create the server's log file");
        let mut child = Command::new(&bin)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", Path::new(&bin).display()));

        // Read the first stdout line on a thread so a silent server cannot hang the test; the
        // thread then drains stdout so the child never blocks on a full pipe.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line).map(|_| line);
            let _ = tx.send(read);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let mut server = Server {
            child,
            url: String::new(),
            log,
            _data_dir: data_dir,
        };
        let line = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => panic!("read the server's stdout: {e}"),
            Err(_) => panic!("the server printed no listening line within {STARTUP_TIMEOUT:?}"),
        };
        if line.is_empty() {
            let status = server.child.wait().expect("wait for the server");
            panic!("the server closed stdout without a listening line ({status})");
        }
        let url = line
            .trim_end()
            .strip_prefix(LISTENING_PREFIX)
            .unwrap_or_else(|| panic!("unexpected first stdout line from the server: {line:?}"));
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "unexpected URL {url:?}"
        );
        server.url = url.to_string();
        server
    }

    /// A REST catalog client for warehouse `default`, with local-file storage for data files.
    async fn catalog(&self) -> RestCatalog {
        RestCatalogBuilder::default()
            .with_storage_factory(Arc::new(LocalFsStorageFactory))
            .load(
                "floe",
                HashMap::from([
                    (REST_CATALOG_PROP_URI.to_string(), self.url.clone()),
                    (
                        REST_CATALOG_PROP_WAREHOUSE.to_string(),
                        "default".to_string(),
                    ),
                ]),
            )
            .await
            .expect("build the REST catalog client")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let mut log = String::new();
            if let Ok(mut f) = std::fs::File::open(&self.log) {
                let _ = f.read_to_string(&mut log);
            }
            eprintln!("--- catalog-server stderr ---\n{log}--- end of stderr ---");
        }
    }
}

/// The table's schema: a required id, an optional name and an optional score.
fn table_schema() -> Schema {
    Schema::builder()
        .with_schema_id(0)
        .with_fields(vec![
            NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)).into(),
            NestedField::optional(2, "name", Type::Primitive(PrimitiveType::String)).into(),
            NestedField::optional(3, "score", Type::Primitive(PrimitiveType::Double)).into(),
        ])
        .build()
        .expect("valid schema")
}

/// One table row: (id, name, score).
type Row = (i64, Option<String>, Option<f64>);
/// A row as the test writes it.
type Input = (i64, Option<&'static str>, Option<f64>);

/// Rows of the first append.
const FIRST: [Input; 3] = [
    (1, Some("alpha"), Some(1.5)),
    (2, None, Some(-2.25)),
    (3, Some("gamma"), None),
];
/// Rows of the second append.
const SECOND: [Input; 2] = [(4, Some("delta"), Some(4.0)), (5, None, None)];

/// `rows` as owned, id-sorted rows.
fn owned(rows: &[Input]) -> Vec<Row> {
    let mut rows: Vec<Row> = rows
        .iter()
        .map(|&(id, name, score)| (id, name.map(str::to_string), score))
        .collect();
    rows.sort_by_key(|r| r.0);
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_append_and_scan_through_iceberg_rust_rest_client() {
    let server = Server::start();
    let catalog = server.catalog().await;

    // Namespace.
    let ns = NamespaceIdent::new("icerust".to_string());
    let created = catalog
        .create_namespace(
            &ns,
            HashMap::from([("owner".to_string(), "floe".to_string())]),
        )
        .await
        .expect("create namespace");
    assert_eq!(created.name(), &ns);
    assert!(
        catalog
            .namespace_exists(&ns)
            .await
            .expect("namespace exists")
    );
    let listed = catalog
        .list_namespaces(None)
        .await
        .expect("list namespaces");
    assert!(listed.contains(&ns), "{ns:?} missing from {listed:?}");
    let fetched = catalog.get_namespace(&ns).await.expect("get namespace");
    assert_eq!(
        fetched.properties().get("owner").map(String::as_str),
        Some("floe")
    );

    // Table.
    let ident = TableIdent::new(ns.clone(), "events".to_string());
    let creation = TableCreation::builder()
        .name(ident.name().to_string())
        .schema(table_schema())
        .build();
    let created = catalog
        .create_table(&ns, creation)
        .await
        .expect("create table");
    assert_eq!(created.identifier(), &ident);
    assert!(created.metadata().current_snapshot().is_none());
    assert!(catalog.table_exists(&ident).await.expect("table exists"));
    let tables = catalog.list_tables(&ns).await.expect("list tables");
    assert_eq!(tables, vec![ident.clone()]);

    let table = catalog.load_table(&ident).await.expect("load table");
    assert_eq!(table.metadata().uuid(), created.metadata().uuid());
    assert!(table.metadata().current_snapshot().is_none());
    assert_eq!(
        table.metadata().current_schema().as_struct(),
        table_schema().as_struct()
    );
    let location = table.metadata().location().to_string();
    assert!(
        location.starts_with("file://"),
        "table location {location:?} is not a file URL"
    );
    assert!(scan_rows(&table, None).await.is_empty());

    // First append: one Parquet file, committed with a fast append, then checked on a reload.
    let data_file = write_data_file(&table, "first", &FIRST).await;
    let first_file = data_file.file_path().to_string();
    assert!(
        first_file.starts_with(&location),
        "data file {first_file:?} outside table location {location:?}"
    );
    let first = fast_append(&catalog, &table, data_file).await;
    let table = catalog.load_table(&ident).await.expect("reload table");
    let snapshot = table
        .metadata()
        .current_snapshot()
        .expect("a current snapshot");
    assert_eq!(snapshot.snapshot_id(), first);
    assert_eq!(snapshot.parent_snapshot_id(), None);
    assert_eq!(snapshot.summary().operation, Operation::Append);
    assert_summary(&table, [("added-data-files", 1), ("added-records", 3)]);
    assert_summary(&table, [("total-data-files", 1), ("total-records", 3)]);
    assert_eq!(table.metadata().snapshots().count(), 1);
    assert_eq!(main_snapshot(&table), first);
    assert_eq!(planned_files(&table).await, vec![(first_file.clone(), 3)]);
    assert_eq!(scan_rows(&table, None).await, owned(&FIRST));

    // Second append on top of the first: totals grow, the first snapshot stays readable.
    let data_file = write_data_file(&table, "second", &SECOND).await;
    let second_file = data_file.file_path().to_string();
    let second = fast_append(&catalog, &table, data_file).await;
    let table = catalog.load_table(&ident).await.expect("reload table");
    let snapshot = table
        .metadata()
        .current_snapshot()
        .expect("a current snapshot");
    assert_eq!(snapshot.snapshot_id(), second);
    assert_eq!(snapshot.parent_snapshot_id(), Some(first));
    assert_summary(&table, [("added-data-files", 1), ("added-records", 2)]);
    assert_summary(&table, [("total-data-files", 2), ("total-records", 5)]);
    assert_eq!(table.metadata().snapshots().count(), 2);
    assert_eq!(main_snapshot(&table), second);
    let mut expected_files = vec![(first_file, 3), (second_file, 2)];
    expected_files.sort();
    assert_eq!(planned_files(&table).await, expected_files);
    let all: Vec<_> = FIRST.iter().chain(&SECOND).copied().collect();
    assert_eq!(scan_rows(&table, None).await, owned(&all));
    assert_eq!(scan_rows(&table, Some(first)).await, owned(&FIRST));

    // Clean up through the client too.
    catalog.drop_table(&ident).await.expect("drop table");
    assert!(
        !catalog
            .table_exists(&ident)
            .await
            .expect("table exists after drop")
    );
    catalog.drop_namespace(&ns).await.expect("drop namespace");
    assert!(
        !catalog
            .namespace_exists(&ns)
            .await
            .expect("namespace exists after drop")
    );
}

/// Writes `rows` into one Parquet data file named `prefix-…` with iceberg-rust's writers.
async fn write_data_file(table: &Table, prefix: &str, rows: &[Input]) -> DataFile {
    let schema = table.metadata().current_schema().clone();
    let arrow_schema = Arc::new(schema_to_arrow_schema(&schema).expect("arrow schema"));
    let batch = RecordBatch::try_new(
        arrow_schema,
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(StringArray::from_iter(rows.iter().map(|r| r.1))),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.2))),
        ],
    )
    .expect("record batch");
    let location_generator =
        DefaultLocationGenerator::new(table.metadata()).expect("location generator");
    let file_name_generator =
        DefaultFileNameGenerator::new(prefix.to_string(), None, DataFileFormat::Parquet);
    let parquet_writer = ParquetWriterBuilder::new(WriterProperties::default(), schema);
    let rolling_writer = RollingFileWriterBuilder::new_with_default_file_size(
        parquet_writer,
        table.file_io().clone(),
        location_generator,
        file_name_generator,
    );
    let mut writer = DataFileWriterBuilder::new(rolling_writer)
        .build(None)
        .await
        .expect("data file writer");
    writer.write(batch).await.expect("write batch");
    let mut data_files = writer.close().await.expect("close writer");
    assert_eq!(data_files.len(), 1, "one data file per write");
    let data_file = data_files.pop().expect("a data file");
    assert_eq!(data_file.record_count(), rows.len() as u64);
    data_file
}

/// Commits `data_file` with a fast append; returns the new snapshot id.
async fn fast_append(catalog: &RestCatalog, table: &Table, data_file: DataFile) -> i64 {
    let tx = Transaction::new(table);
    let tx = tx
        .fast_append()
        .add_data_files([data_file])
        .apply(tx)
        .expect("apply fast append");
    let committed = tx.commit(catalog).await.expect("commit fast append");
    committed
        .metadata()
        .current_snapshot()
        .expect("a snapshot after the commit")
        .snapshot_id()
}

/// Asserts integer entries of the current snapshot's summary.
fn assert_summary<const N: usize>(table: &Table, expected: [(&str, u64); N]) {
    let snapshot = table
        .metadata()
        .current_snapshot()
        .expect("a current snapshot");
    let summary = &snapshot.summary().additional_properties;
    for (key, value) in expected {
        assert_eq!(
            summary.get(key).map(String::as_str),
            Some(value.to_string().as_str()),
            "summary {key} in {summary:?}"
        );
    }
}

/// The snapshot id the `main` branch points at.
fn main_snapshot(table: &Table) -> i64 {
    table
        .metadata()
        .snapshot_for_ref("main")
        .expect("a main branch")
        .snapshot_id()
}

/// (path, record count) of every data file iceberg-rust's scan plans, sorted; no deletes.
async fn planned_files(table: &Table) -> Vec<(String, u64)> {
    let tasks: Vec<_> = table
        .scan()
        .build()
        .expect("build scan")
        .plan_files()
        .await
        .expect("plan files")
        .try_collect()
        .await
        .expect("collect file scan tasks");
    let mut files: Vec<_> = tasks
        .iter()
        .map(|t| {
            assert!(
                t.deletes.is_empty(),
                "unexpected deletes on {}",
                t.data_file_path
            );
            let count = t.record_count.expect("planned record count");
            (t.data_file_path.clone(), count)
        })
        .collect();
    files.sort();
    files
}

/// Every row iceberg-rust's scan reads (at `snapshot`, or the current one), sorted by id.
async fn scan_rows(table: &Table, snapshot: Option<i64>) -> Vec<Row> {
    let mut scan = table.scan();
    if let Some(id) = snapshot {
        scan = scan.snapshot_id(id);
    }
    let batches: Vec<RecordBatch> = scan
        .build()
        .expect("build scan")
        .to_arrow()
        .await
        .expect("scan to arrow")
        .try_collect()
        .await
        .expect("read record batches");
    let mut rows = Vec::new();
    for batch in &batches {
        let ids = column::<Int64Array>(batch, "id");
        let names = column::<StringArray>(batch, "name");
        let scores = column::<Float64Array>(batch, "score");
        for i in 0..batch.num_rows() {
            rows.push((
                ids.value(i),
                names.is_valid(i).then(|| names.value(i).to_string()),
                scores.is_valid(i).then(|| scores.value(i)),
            ));
        }
    }
    rows.sort_by_key(|r| r.0);
    rows
}

/// The named column of `batch`, downcast to `A`.
fn column<'a, A: Array + 'static>(batch: &'a RecordBatch, name: &str) -> &'a A {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name} missing from {:?}", batch.schema()))
        .as_any()
        .downcast_ref::<A>()
        .unwrap_or_else(|| panic!("column {name} has type {:?}", batch.schema()))
}

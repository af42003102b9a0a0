//! DuckDB writes, Floe reads: DuckDB 1.5.5 creates a table through the server, inserts, UPDATEs
//! and DELETEs (position delete files, committed through `/transactions/commit`), and Floe's
//! `RestCatalog` + scan returns exactly the rows DuckDB itself sees.

use std::process::Stdio;

use arrow_array::{Array, Int64Array, StringArray};
use catalog_server::testing::TestServer;
use table_format::catalog::{Catalog, RestCatalog, RestCatalogConfig, TableIdent};

use crate::interop::venv_python;

#[tokio::test]
async fn floe_reads_what_duckdb_updated_and_deleted() {
    let python = venv_python();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/duckdb_writes.py");
    let server = TestServer::start().await;
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .args(["--uri", server.url(), "--namespace", "duck", "--table", "t"])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run duckdb_writes.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "duckdb_writes.py failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().expect("a JSON line");
    let duck: Vec<(i64, String)> = serde_json::from_str(last).expect("DuckDB's rows as JSON");
    // DuckDB's own result is what the statements say: ids 0..20 without multiples of 3,
    // multiples of 5 renamed.
    let expected: Vec<(i64, String)> = (0..20)
        .filter(|i| i % 3 != 0)
        .map(|i| {
            (
                i,
                if i % 5 == 0 {
                    "updated".into()
                } else {
                    format!("n{i}")
                },
            )
        })
        .collect();
    assert_eq!(duck, expected);

    let catalog = RestCatalog::connect(RestCatalogConfig::new(server.url()).warehouse("default"))
        .await
        .unwrap();
    let table = catalog
        .load_table(&TableIdent::new(["duck"], "t"))
        .await
        .unwrap();
    let deletes: i64 = table
        .metadata()
        .current_snapshot()
        .and_then(|s| s.summary.get("total-position-deletes"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(deletes > 0, "DuckDB wrote position deletes");
    let mut floe = Vec::new();
    for b in table.scan().to_arrow().await.unwrap() {
        let ids = b
            .column(b.schema().index_of("id").unwrap())
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .clone();
        let names = b
            .column(b.schema().index_of("name").unwrap())
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .clone();
        for i in 0..b.num_rows() {
            floe.push((ids.value(i), names.value(i).to_string()));
        }
    }
    floe.sort();
    assert_eq!(floe, duck, "Floe reads exactly DuckDB's result");
}

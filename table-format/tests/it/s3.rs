//! FileIO and a whole table on S3, against moto's S3 server (a real S3 HTTP endpoint) on
//! loopback: reads, writes, conditional create, listing, deletes, and an append + scan.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use table_format::ErrorKind;
use table_format::catalog::{Catalog, MemoryCatalog, TableCreation, TableIdent};
use table_format::io::FileIO;

use crate::interop::{batch, python, schema};

/// moto_server on a free loopback port, stopped on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http(port: u16, request: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut out = String::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.push_str(&String::from_utf8_lossy(&buf[..n]));
        if out.contains("\r\n\r\n") {
            break;
        }
    }
    Some(out)
}

fn start_moto() -> Option<Moto> {
    let py = python()?;
    let bin = py.parent()?.join("moto_server");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let moto = Moto { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if http(
            port,
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        .is_some()
        {
            return Some(moto);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("moto_server did not start on port {port}");
}

fn create_bucket(port: u16, bucket: &str) {
    let resp = http(
        port,
        &format!("PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    )
    .expect("moto answers");
    assert!(
        resp.starts_with("HTTP/1.1 200"),
        "bucket creation failed: {resp}"
    );
}

fn props(port: u16) -> HashMap<String, String> {
    HashMap::from([
        (
            "s3.endpoint".to_string(),
            format!("http://127.0.0.1:{port}"),
        ),
        ("s3.region".to_string(), "us-east-1".to_string()),
        ("s3.access-key-id".to_string(), "test".to_string()),
        ("s3.secret-access-key".to_string(), "test".to_string()),
        ("s3.path-style-access".to_string(), "true".to_string()),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_io_and_a_table_on_s3() {
    let Some(moto) = start_moto() else { return };
    create_bucket(moto.port, "floe");
    let io = FileIO::from_location("s3://floe/wh", &props(moto.port)).unwrap();

    io.write("s3://floe/wh/a.txt", Bytes::from_static(b"hello"))
        .await
        .unwrap();
    assert_eq!(
        io.read("s3://floe/wh/a.txt").await.unwrap(),
        Bytes::from_static(b"hello")
    );
    assert_eq!(
        io.read_range("s3://floe/wh/a.txt", 1..4).await.unwrap(),
        Bytes::from_static(b"ell")
    );
    io.create("s3://floe/wh/m.json", Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let err = io
        .create("s3://floe/wh/m.json", Bytes::from_static(b"[]"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert_eq!(
        io.read("s3://floe/wh/m.json").await.unwrap(),
        Bytes::from_static(b"{}")
    );
    let mut listed: Vec<String> = io
        .list("s3://floe/wh")
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    listed.sort();
    assert_eq!(listed, vec!["s3://floe/wh/a.txt", "s3://floe/wh/m.json"]);
    io.delete("s3://floe/wh/a.txt").await.unwrap();
    assert!(!io.exists("s3://floe/wh/a.txt").await.unwrap());

    let catalog = MemoryCatalog::new(io, "s3://floe/wh");
    let ident = TableIdent::new(["db"], "t");
    let t = catalog
        .create_table(&ident, TableCreation::new(schema()))
        .await
        .unwrap();
    assert!(
        t.metadata_location()
            .starts_with("s3://floe/wh/db/t/metadata/00000-")
    );
    let t = t
        .fast_append()
        .add_batches(&[batch(&schema(), 0, 25)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let rows: usize = t
        .scan()
        .to_arrow()
        .await
        .unwrap()
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, 25);
    catalog.drop_table(&ident, true).await.unwrap();
    assert!(
        catalog
            .file_io()
            .list("s3://floe/wh/db/t")
            .await
            .unwrap()
            .is_empty()
    );
}

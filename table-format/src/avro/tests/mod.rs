//! Tests of the Avro codecs.
//!
//! - `golden`: manifests and manifest lists written by pyiceberg 0.12 (v1, v2) and by fastavro
//!   in other writers' layouts (another field order with extra fields; Java's v3 layout) decode
//!   to exactly what fastavro reads from them, inheritance applied by the spec's rules.
//! - `round_trip`: what our writers write, our reader reads back unchanged (v2, v3, every
//!   partition type, every codec).
//! - `interop`: fastavro and pyiceberg read what our writers write (runs Python).
//! - `corrupt`: damaged input gives errors, never panics.

mod corrupt;
mod golden;
mod interop;
mod round_trip;

use std::path::PathBuf;

use serde_json::Value as JsonValue;

use super::binary::Encoder;
use super::container::{Blocks, Codec, Header, MAGIC};

/// `table-format/testdata/avro`.
fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/avro")
}

fn read(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn read_json(path: &std::path::Path) -> JsonValue {
    serde_json::from_slice(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Rebuild a container file with other metadata (`edit` gets the metadata in file order) and
/// optionally another codec for its blocks.
fn rebuild(
    file: &[u8],
    edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>),
    recode: Option<Codec>,
) -> Vec<u8> {
    let header = Header::parse(file).unwrap();
    let mut metadata: Vec<(String, Vec<u8>)> = header
        .metadata
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect();
    if let Some(codec) = recode {
        for (k, v) in metadata.iter_mut() {
            if k == "avro.codec" {
                *v = codec.as_str().as_bytes().to_vec();
            }
        }
    }
    edit(&mut metadata);
    let mut e = Encoder::default();
    e.raw(&MAGIC);
    e.long(metadata.len() as i64);
    for (k, v) in &metadata {
        e.str(k);
        e.bytes(v);
    }
    e.long(0);
    e.raw(&header.sync);
    match recode {
        None => e.raw(&file[header.data_start..]),
        Some(codec) => {
            let mut blocks = Blocks::new(file, &header);
            while let Some(b) = blocks.next_block().unwrap() {
                let mut plain = Vec::new();
                header.codec.decompress(b.data, &mut plain).unwrap();
                let mut packed = Vec::new();
                codec.compress(&plain, &mut packed).unwrap();
                e.long(b.count as i64);
                e.bytes(&packed);
                e.raw(&header.sync);
            }
        }
    }
    e.buf
}

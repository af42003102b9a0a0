//! Damaged or foreign input gives errors, never panics.

use proptest::prelude::*;

use super::{read, read_json, rebuild, testdata};
use crate::ErrorKind;
use crate::avro::{Codec, ManifestList, ManifestReader};
use crate::spec::manifest::ManifestEntry;
use crate::spec::table_metadata::TableMetadata;
use crate::spec::types::StructType;

/// A pyiceberg v2 manifest (deflate), its manifest list and the partition type.
fn golden() -> (Vec<u8>, Vec<u8>, StructType) {
    let dir = testdata().join("v2_partitioned");
    let index = read_json(&dir.join("index.json"));
    let snap = &index["snapshots"].as_array().unwrap()[0];
    let list = read(&dir.join(snap["manifest_list"].as_str().unwrap()));
    let manifest = read(&dir.join(snap["manifests"][0].as_str().unwrap()));
    let table = TableMetadata::from_slice(&read(&dir.join("metadata.json"))).unwrap();
    let pt = table
        .default_partition_spec()
        .partition_type(table.current_schema())
        .unwrap();
    (manifest, list, pt)
}

/// Decode everything; the entries read before the first error, and the error.
fn decode(bytes: &[u8], pt: &StructType) -> (Vec<ManifestEntry>, Option<crate::Error>) {
    let reader = match ManifestReader::without_inheritance(bytes, pt) {
        Ok(r) => r,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut entries = Vec::new();
    for e in reader {
        match e {
            Ok(e) => entries.push(e),
            Err(e) => return (entries, Some(e)),
        }
    }
    (entries, None)
}

fn edit_schema(file: &[u8], edit: impl Fn(&str) -> String) -> Vec<u8> {
    rebuild(
        file,
        |meta| {
            for (k, v) in meta.iter_mut() {
                if k == "avro.schema" {
                    *v = edit(std::str::from_utf8(v).unwrap()).into_bytes();
                }
            }
        },
        None,
    )
}

fn set_codec(file: &[u8], codec: &str) -> Vec<u8> {
    rebuild(
        file,
        |meta| {
            for (k, v) in meta.iter_mut() {
                if k == "avro.codec" {
                    *v = codec.as_bytes().to_vec();
                }
            }
        },
        None,
    )
}

#[test]
fn bad_magic_is_an_error() {
    let (mut m, mut l, pt) = golden();
    m[3] = 2;
    l[0] = b'o';
    let err = decode(&m, &pt).1.unwrap();
    assert_eq!(err.kind(), ErrorKind::DataInvalid);
    assert!(err.message().contains("magic"), "{err}");
    assert!(ManifestList::parse(&l).is_err());
    assert!(ManifestList::parse(b"").is_err());
    assert!(decode(b"Obj", &pt).1.is_some());
}

#[test]
fn truncation_anywhere_is_an_error_or_a_shorter_read() {
    let (m, l, pt) = golden();
    let (all, err) = decode(&m, &pt);
    assert!(err.is_none());
    for len in 0..m.len() {
        let (entries, err) = decode(&m[..len], &pt);
        assert!(
            err.is_some() || entries.len() < all.len(),
            "truncated to {len} bytes, read everything without error"
        );
    }
    let listed = ManifestList::parse(&l).unwrap().manifests.len();
    for len in 0..l.len() {
        // Cut right after the header, a file is a valid empty one.
        match ManifestList::parse(&l[..len]) {
            Err(_) => {}
            Ok(list) => assert!(list.manifests.len() < listed, "list truncated to {len}"),
        }
    }
}

#[test]
fn a_bad_sync_marker_is_an_error() {
    let (mut m, _, pt) = golden();
    let last = m.len() - 1;
    m[last] ^= 0x55;
    let err = decode(&m, &pt).1.unwrap();
    assert!(err.message().contains("sync"), "{err}");
}

#[test]
fn wrong_or_unknown_codecs_are_errors() {
    let (m, _, pt) = golden();
    let err = decode(&set_codec(&m, "bzip2"), &pt).1.unwrap();
    assert_eq!(err.kind(), ErrorKind::FeatureUnsupported);
    // Deflate data declared as another codec.
    for codec in ["snappy", "zstandard", "null"] {
        let (entries, err) = decode(&set_codec(&m, codec), &pt);
        assert!(err.is_some(), "{codec}: {} entries", entries.len());
    }
}

#[test]
fn snappy_files_decode_like_the_original() {
    let (m, _, pt) = golden();
    let snappy = rebuild(&m, |_| {}, Some(Codec::Snappy));
    let zstd = rebuild(&m, |_| {}, Some(Codec::Zstandard));
    let (original, err) = decode(&m, &pt);
    assert!(err.is_none());
    for (name, file) in [("snappy", snappy), ("zstandard", zstd)] {
        let (entries, err) = decode(&file, &pt);
        assert!(err.is_none(), "{name}: {err:?}");
        assert_eq!(entries, original, "{name}");
    }
}

#[test]
fn schemas_without_field_ids_or_with_wrong_types_are_errors() {
    let (m, l, pt) = golden();
    let no_ids = edit_schema(&m, |s| s.replace("\"field-id\"", "\"no-id\""));
    let err = decode(&no_ids, &pt).1.unwrap();
    assert!(err.message().contains("field-id"), "{err}");
    let no_ids = edit_schema(&l, |s| s.replace("\"field-id\"", "\"no-id\""));
    assert!(ManifestList::parse(&no_ids).is_err());

    // status (id 0) as a string.
    let bad_status = edit_schema(&m, |s| {
        s.replacen(
            r#"{"name": "status", "field-id": 0, "type": "int"}"#,
            r#"{"name": "status", "field-id": 0, "type": "string"}"#,
            1,
        )
    });
    assert_ne!(bad_status, m, "the edit applies");
    assert!(decode(&bad_status, &pt).1.is_some());

    // A partition field of another type than the partition type says.
    let bad_partition = edit_schema(&m, |s| {
        s.replacen(
            r#""field-id": 1002, "type": ["null", "string"]"#,
            r#""field-id": 1002, "type": ["null", "double"]"#,
            1,
        )
    });
    assert_ne!(bad_partition, m);
    assert!(decode(&bad_partition, &pt).1.is_some());

    // Not JSON, not a record, missing required fields.
    assert!(decode(&edit_schema(&m, |_| "{".into()), &pt).1.is_some());
    assert!(
        decode(&edit_schema(&m, |_| "\"long\"".into()), &pt)
            .1
            .is_some()
    );
    let no_path = edit_schema(&m, |s| {
        s.replace(r#""field-id": 100,"#, r#""field-id": 99100,"#)
    });
    assert!(
        decode(&no_path, &pt)
            .1
            .unwrap()
            .message()
            .contains("file_path")
    );
}

/// Golden manifests of every codec and layout (v2 deflate, v1 zstandard, v2 null codec, other
/// writers' zstandard with flipped unions), each with a manifest list.
fn fuzz_seeds() -> Vec<(Vec<u8>, Vec<u8>, StructType)> {
    let mut seeds = vec![golden()];
    for scenario in ["v1_partitioned", "v2_unpartitioned"] {
        let dir = testdata().join(scenario);
        let index = read_json(&dir.join("index.json"));
        let snap = index["snapshots"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        let table = TableMetadata::from_slice(&read(&dir.join("metadata.json"))).unwrap();
        let pt = table
            .default_partition_spec()
            .partition_type(table.current_schema())
            .unwrap();
        seeds.push((
            read(&dir.join(snap["manifests"][0].as_str().unwrap())),
            read(&dir.join(snap["manifest_list"].as_str().unwrap())),
            pt,
        ));
    }
    let dir = testdata().join("other_writers");
    let (_, _, pt) = golden();
    seeds.push((
        read(&dir.join("reordered-extra-fields-m0.avro")),
        read(&dir.join("snap-v3.avro")),
        pt,
    ));
    seeds
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn bit_flips_and_truncations_never_panic(
        seed in 0usize..4,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let (mut m, mut l, pt) = fuzz_seeds().swap_remove(seed);
        for (at, bit) in &flips {
            let i = at.index(m.len());
            m[i] ^= 1 << bit;
            let j = at.index(l.len());
            l[j] ^= 1 << bit;
        }
        if truncate {
            m.truncate(cut.index(m.len()));
            l.truncate(cut.index(l.len()));
        }
        let _ = decode(&m, &pt);
        let _ = ManifestList::parse(&l);
    }
}

//! Writing manifests and manifest lists in the exact layout Iceberg's Java writers use
//! (`V2Metadata`/`V3Metadata` field order, record names `manifest_entry`, `r2`, `r102`,
//! `k117_v118`, `manifest_file`, `r508`; `field-id` on every field, `element-id` on arrays,
//! optional fields as `["null", T]` with `"default": null`; codec deflate).
//!
//! - [`ManifestWriter`]: entries in, file bytes and the [`ManifestFile`] that lists them out.
//! - [`ManifestListWriter`]: manifests in, manifest list bytes out; assigns the commit's
//!   sequence number to new manifests and, in v3, first row ids to data manifests.

use serde_json::{Value as JsonValue, json};

use super::binary::Encoder;
use super::container::{Codec, ContainerWriter};
use crate::spec::manifest::{
    DataContentType, DataFile, FieldSummary, ManifestContentType, ManifestEntry, ManifestFile,
    ManifestStatus,
};
use crate::spec::partition::PartitionSpec;
use crate::spec::schema::Schema;
use crate::spec::table_metadata::FormatVersion;
use crate::spec::types::PrimitiveType;
use crate::spec::values::Datum;
use crate::{Error, Result};

/// The sequence number of a manifest that is not committed yet; the manifest list writer
/// replaces it with the commit's sequence number (Java's `ManifestWriter.UNASSIGNED_SEQ`).
pub const UNASSIGNED_SEQUENCE_NUMBER: i64 = -1;

/// Uncompressed bytes per Avro block before it is compressed and written (Avro's default sync
/// interval is about this size).
const BLOCK_BYTES: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Avro schemas
// ---------------------------------------------------------------------------------------------

fn req(name: &str, id: i32, ty: JsonValue) -> JsonValue {
    json!({"name": name, "type": ty, "field-id": id})
}

fn opt(name: &str, id: i32, ty: JsonValue) -> JsonValue {
    json!({"name": name, "type": ["null", ty], "default": null, "field-id": id})
}

fn int_map(name: &str, id: i32, key_id: i32, value_id: i32, value: &str) -> JsonValue {
    opt(
        name,
        id,
        json!({
            "type": "array",
            "logicalType": "map",
            "items": {
                "type": "record",
                "name": format!("k{key_id}_v{value_id}"),
                "fields": [req("key", key_id, json!("int")), req("value", value_id, json!(value))],
            },
        }),
    )
}

fn list(name: &str, id: i32, element_id: i32, item: &str) -> JsonValue {
    opt(
        name,
        id,
        json!({"type": "array", "items": item, "element-id": element_id}),
    )
}

/// Bytes of the fixed that holds any unscaled value of `precision` digits (Java's
/// `TypeUtil.decimalRequiredBytes`).
pub(crate) fn decimal_required_bytes(precision: u32) -> usize {
    let limit = 10u128.pow(precision.min(38));
    (1..=16)
        .find(|&n: &usize| {
            let max = (1u128 << (8 * n - 1)) - 1;
            limit - 1 <= max
        })
        .unwrap_or(16)
}

/// An Avro-safe name, as Java's `AvroSchemaUtil.sanitize` makes it: a leading digit becomes
/// `_<digit>`, any other invalid character `_x<HEX>`.
fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, ch) in name.chars().enumerate() {
        let ok = ch == '_' || ch.is_ascii_alphabetic() || (i > 0 && ch.is_ascii_digit());
        if ok {
            out.push(ch);
        } else if ch.is_ascii_digit() {
            out.push('_');
            out.push(ch);
        } else {
            out.push_str(&format!("_x{:X}", ch as u32));
        }
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// The Avro type of partition field `field_id` (Java's `TypeToSchema`). Named types
/// (`fixed_L`, `decimal_P_S`, `uuid_fixed`) keep Java's names; a second field of the same type
/// gets its own definition named `<name>_<field id>`, where Java would refer to the first by
/// name, because pyiceberg 0.12 cannot resolve such references (Avro forbids redefining a
/// name, so the copy needs a new one).
fn partition_avro_type(ty: &PrimitiveType, field_id: i32, defined: &mut Vec<String>) -> JsonValue {
    let mut named = |name: String, mut def: JsonValue| {
        if defined.contains(&name) {
            def["name"] = JsonValue::String(format!("{name}_{field_id}"));
        } else {
            defined.push(name);
        }
        def
    };
    match ty {
        PrimitiveType::Boolean => json!("boolean"),
        PrimitiveType::Int => json!("int"),
        PrimitiveType::Long => json!("long"),
        PrimitiveType::Float => json!("float"),
        PrimitiveType::Double => json!("double"),
        PrimitiveType::Date => json!({"type": "int", "logicalType": "date"}),
        PrimitiveType::Time => json!({"type": "long", "logicalType": "time-micros"}),
        PrimitiveType::Timestamp => {
            json!({"type": "long", "logicalType": "timestamp-micros", "adjust-to-utc": false})
        }
        PrimitiveType::Timestamptz => {
            json!({"type": "long", "logicalType": "timestamp-micros", "adjust-to-utc": true})
        }
        PrimitiveType::TimestampNs => {
            json!({"type": "long", "logicalType": "timestamp-nanos", "adjust-to-utc": false})
        }
        PrimitiveType::TimestamptzNs => {
            json!({"type": "long", "logicalType": "timestamp-nanos", "adjust-to-utc": true})
        }
        PrimitiveType::String => json!("string"),
        PrimitiveType::Binary => json!("bytes"),
        PrimitiveType::Uuid => named(
            "uuid_fixed".into(),
            json!({"type": "fixed", "name": "uuid_fixed", "size": 16, "logicalType": "uuid"}),
        ),
        PrimitiveType::Fixed(len) => {
            let name = format!("fixed_{len}");
            named(
                name.clone(),
                json!({"type": "fixed", "name": name, "size": len}),
            )
        }
        PrimitiveType::Decimal { precision, scale } => {
            let name = format!("decimal_{precision}_{scale}");
            named(
                name.clone(),
                json!({
                    "type": "fixed",
                    "name": name,
                    "size": decimal_required_bytes(*precision),
                    "logicalType": "decimal",
                    "precision": precision,
                    "scale": scale,
                }),
            )
        }
    }
}

/// The `manifest_entry` schema for `version`, with the partition record `r102` built from
/// `partition` (names and types of the partition fields, by id).
fn manifest_entry_schema(
    version: FormatVersion,
    partition: &[(i32, String, PrimitiveType)],
) -> String {
    let mut defined = Vec::new();
    let partition_fields: Vec<JsonValue> = partition
        .iter()
        .map(|(id, name, ty)| {
            opt(
                &sanitize(name),
                *id,
                partition_avro_type(ty, *id, &mut defined),
            )
        })
        .collect();
    let mut file_fields = vec![
        req("content", 134, json!("int")),
        req("file_path", 100, json!("string")),
        req("file_format", 101, json!("string")),
        req(
            "partition",
            102,
            json!({"type": "record", "name": "r102", "fields": partition_fields}),
        ),
        req("record_count", 103, json!("long")),
        req("file_size_in_bytes", 104, json!("long")),
        int_map("column_sizes", 108, 117, 118, "long"),
        int_map("value_counts", 109, 119, 120, "long"),
        int_map("null_value_counts", 110, 121, 122, "long"),
        int_map("nan_value_counts", 137, 138, 139, "long"),
        int_map("lower_bounds", 125, 126, 127, "bytes"),
        int_map("upper_bounds", 128, 129, 130, "bytes"),
        opt("key_metadata", 131, json!("bytes")),
        list("split_offsets", 132, 133, "long"),
        list("equality_ids", 135, 136, "int"),
        opt("sort_order_id", 140, json!("int")),
    ];
    if version >= FormatVersion::V3 {
        file_fields.push(opt("first_row_id", 142, json!("long")));
    }
    file_fields.push(opt("referenced_data_file", 143, json!("string")));
    if version >= FormatVersion::V3 {
        file_fields.push(opt("content_offset", 144, json!("long")));
        file_fields.push(opt("content_size_in_bytes", 145, json!("long")));
    }
    json!({
        "type": "record",
        "name": "manifest_entry",
        "fields": [
            req("status", 0, json!("int")),
            opt("snapshot_id", 1, json!("long")),
            opt("sequence_number", 3, json!("long")),
            opt("file_sequence_number", 4, json!("long")),
            req("data_file", 2, json!({"type": "record", "name": "r2", "fields": file_fields})),
        ],
    })
    .to_string()
}

/// The `manifest_file` schema for `version`.
fn manifest_file_schema(version: FormatVersion) -> String {
    let mut fields = vec![
        req("manifest_path", 500, json!("string")),
        req("manifest_length", 501, json!("long")),
        req("partition_spec_id", 502, json!("int")),
        req("content", 517, json!("int")),
        req("sequence_number", 515, json!("long")),
        req("min_sequence_number", 516, json!("long")),
        req("added_snapshot_id", 503, json!("long")),
        req("added_files_count", 504, json!("int")),
        req("existing_files_count", 505, json!("int")),
        req("deleted_files_count", 506, json!("int")),
        req("added_rows_count", 512, json!("long")),
        req("existing_rows_count", 513, json!("long")),
        req("deleted_rows_count", 514, json!("long")),
        opt(
            "partitions",
            507,
            json!({
                "type": "array",
                "element-id": 508,
                "items": {
                    "type": "record",
                    "name": "r508",
                    "fields": [
                        req("contains_null", 509, json!("boolean")),
                        opt("contains_nan", 518, json!("boolean")),
                        opt("lower_bound", 510, json!("bytes")),
                        opt("upper_bound", 511, json!("bytes")),
                    ],
                },
            }),
        ),
        opt("key_metadata", 519, json!("bytes")),
    ];
    if version >= FormatVersion::V3 {
        fields.push(opt("first_row_id", 520, json!("long")));
    }
    json!({"type": "record", "name": "manifest_file", "fields": fields}).to_string()
}

fn writable_version(version: FormatVersion, what: &str) -> Result<()> {
    if version == FormatVersion::V1 {
        return Err(Error::unsupported(format!(
            "writing v1 {what}s is not supported; Floe writes format versions 2 and 3 (upgrade \
             the table with a set format-version update first)"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------------------------

/// Running partition summary of one partition field.
#[derive(Debug, Clone, Default)]
struct SummaryStats {
    contains_null: bool,
    contains_nan: bool,
    lower: Option<Datum>,
    upper: Option<Datum>,
}

impl SummaryStats {
    fn update(&mut self, value: &Option<Datum>) {
        let Some(v) = value else {
            self.contains_null = true;
            return;
        };
        let nan = match v {
            Datum::Float(f) => f.is_nan(),
            Datum::Double(d) => d.is_nan(),
            _ => false,
        };
        if nan {
            self.contains_nan = true;
            return;
        }
        use std::cmp::Ordering::{Greater, Less};
        if self
            .lower
            .as_ref()
            .is_none_or(|l| v.partial_cmp_same_type(l) == Some(Less))
        {
            self.lower = Some(v.clone());
        }
        if self
            .upper
            .as_ref()
            .is_none_or(|u| v.partial_cmp_same_type(u) == Some(Greater))
        {
            self.upper = Some(v.clone());
        }
    }

    fn to_summary(&self) -> FieldSummary {
        FieldSummary {
            contains_null: self.contains_null,
            contains_nan: Some(self.contains_nan),
            lower_bound: self.lower.as_ref().map(Datum::to_bytes),
            upper_bound: self.upper.as_ref().map(Datum::to_bytes),
        }
    }
}

/// Writes one manifest (format v2 or v3) in memory.
///
/// Entries are encoded as they come and compressed in blocks of about 64 KiB. ADDED entries
/// of the committing snapshot leave snapshot id and sequence numbers null, to be inherited
/// from the manifest list (spec "Sequence Number Inheritance"), so a manifest can be reused
/// across commit retries; EXISTING and DELETED entries carry explicit values.
#[derive(Debug)]
pub struct ManifestWriter {
    version: FormatVersion,
    content: ManifestContentType,
    snapshot_id: i64,
    spec_id: i32,
    partition_types: Vec<PrimitiveType>,
    container: ContainerWriter,
    block: Encoder,
    block_count: usize,
    files: [i64; 3],
    rows: [i64; 3],
    min_sequence_number: Option<i64>,
    summaries: Vec<SummaryStats>,
}

impl ManifestWriter {
    /// A writer for a manifest of `content` files, written by snapshot `snapshot_id` of a
    /// table of format `version`, for partition spec `spec` over `schema`. The file's metadata
    /// holds all six keys Iceberg readers look for (`schema`, `schema-id`, `partition-spec`,
    /// `partition-spec-id`, `format-version`, `content`).
    pub fn new(
        version: FormatVersion,
        content: ManifestContentType,
        snapshot_id: i64,
        schema: &Schema,
        spec: &PartitionSpec,
    ) -> Result<ManifestWriter> {
        Self::with_codec(version, content, snapshot_id, schema, spec, Codec::Deflate)
    }

    /// Like [`ManifestWriter::new`], with another block codec.
    pub fn with_codec(
        version: FormatVersion,
        content: ManifestContentType,
        snapshot_id: i64,
        schema: &Schema,
        spec: &PartitionSpec,
        codec: Codec,
    ) -> Result<ManifestWriter> {
        writable_version(version, "manifest")?;
        let partition_type = spec.partition_type(schema)?;
        let mut partition = Vec::with_capacity(partition_type.fields().len());
        for f in partition_type.fields() {
            let ty = f.field_type.as_primitive().copied().ok_or_else(|| {
                Error::invalid(format!("partition field '{}' is not primitive", f.name))
            })?;
            partition.push((f.id, f.name.clone(), ty));
        }
        let avro_schema = manifest_entry_schema(version, &partition);
        let metadata = [
            ("schema", serde_json::to_string(schema)?),
            ("schema-id", schema.schema_id().to_string()),
            ("partition-spec", serde_json::to_string(spec.fields())?),
            ("partition-spec-id", spec.spec_id().to_string()),
            ("format-version", version.as_u8().to_string()),
            (
                "content",
                match content {
                    ManifestContentType::Data => "data",
                    ManifestContentType::Deletes => "deletes",
                }
                .to_string(),
            ),
        ];
        Ok(ManifestWriter {
            version,
            content,
            snapshot_id,
            spec_id: spec.spec_id(),
            summaries: vec![SummaryStats::default(); partition.len()],
            partition_types: partition.into_iter().map(|(_, _, t)| t).collect(),
            container: ContainerWriter::new(&avro_schema, codec, &metadata),
            block: Encoder::default(),
            block_count: 0,
            files: [0; 3],
            rows: [0; 3],
            min_sequence_number: None,
        })
    }

    /// Add a file new in this snapshot: status ADDED, snapshot id and sequence numbers
    /// inherited.
    pub fn add(&mut self, data_file: &DataFile) -> Result<()> {
        self.write(ManifestStatus::Added, None, None, None, data_file)
    }

    /// Add a file new in this snapshot whose data belongs to an older data sequence number
    /// (spec "Sequence Number Inheritance"); its file sequence number is still inherited.
    pub fn add_with_sequence_number(
        &mut self,
        data_file: &DataFile,
        data_sequence_number: i64,
    ) -> Result<()> {
        self.write(
            ManifestStatus::Added,
            None,
            Some(data_sequence_number),
            None,
            data_file,
        )
    }

    /// Carry a live file over from an earlier manifest (status EXISTING). `entry` must have
    /// its snapshot id and sequence numbers, as a [`ManifestReader`](super::ManifestReader)
    /// returns them after inheritance.
    pub fn existing(&mut self, entry: &ManifestEntry) -> Result<()> {
        self.write(
            ManifestStatus::Existing,
            entry.snapshot_id,
            entry.sequence_number,
            entry.file_sequence_number,
            &entry.data_file,
        )
    }

    /// Mark a file as removed by this snapshot (status DELETED, this writer's snapshot id),
    /// keeping its sequence numbers.
    pub fn delete(&mut self, entry: &ManifestEntry) -> Result<()> {
        self.write(
            ManifestStatus::Deleted,
            Some(self.snapshot_id),
            entry.sequence_number,
            entry.file_sequence_number,
            &entry.data_file,
        )
    }

    /// Write `entry` as it is (after the same checks as the other methods). An ADDED entry
    /// whose snapshot id is this writer's is written with a null snapshot id.
    pub fn write_entry(&mut self, entry: &ManifestEntry) -> Result<()> {
        self.write(
            entry.status,
            entry.snapshot_id,
            entry.sequence_number,
            entry.file_sequence_number,
            &entry.data_file,
        )
    }

    fn write(
        &mut self,
        status: ManifestStatus,
        snapshot_id: Option<i64>,
        sequence_number: Option<i64>,
        file_sequence_number: Option<i64>,
        f: &DataFile,
    ) -> Result<()> {
        self.check(
            status,
            snapshot_id,
            sequence_number,
            file_sequence_number,
            f,
        )?;
        let snapshot_id = match (status, snapshot_id) {
            (ManifestStatus::Added, Some(id)) if id == self.snapshot_id => None,
            (_, id) => id,
        };
        let e = &mut self.block;
        e.int(status as i32);
        e.null_or(snapshot_id, Encoder::long);
        e.null_or(sequence_number, Encoder::long);
        e.null_or(file_sequence_number, Encoder::long);
        encode_data_file(e, f, &self.partition_types, self.version)?;
        // Counts and summaries.
        let i = status as usize;
        self.files[i] += 1;
        self.rows[i] = self.rows[i].saturating_add(f.record_count);
        if status != ManifestStatus::Deleted
            && let Some(seq) = sequence_number
        {
            self.min_sequence_number = Some(self.min_sequence_number.map_or(seq, |m| m.min(seq)));
        }
        for (s, v) in self.summaries.iter_mut().zip(&f.partition) {
            s.update(v);
        }
        self.block_count += 1;
        if self.block.buf.len() >= BLOCK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn check(
        &self,
        status: ManifestStatus,
        snapshot_id: Option<i64>,
        sequence_number: Option<i64>,
        file_sequence_number: Option<i64>,
        f: &DataFile,
    ) -> Result<()> {
        let path = &f.file_path;
        let data = f.content == DataContentType::Data;
        match self.content {
            ManifestContentType::Data if !data => {
                return Err(Error::invalid(format!(
                    "delete file '{path}' cannot go into a data manifest"
                )));
            }
            ManifestContentType::Deletes if data => {
                return Err(Error::invalid(format!(
                    "data file '{path}' cannot go into a delete manifest"
                )));
            }
            _ => {}
        }
        if status != ManifestStatus::Added
            && (snapshot_id.is_none()
                || sequence_number.is_none()
                || file_sequence_number.is_none())
        {
            return Err(Error::invalid(format!(
                "the {status:?} entry for '{path}' needs its snapshot id and both sequence \
                 numbers (only ADDED entries inherit them); pass entries as the manifest reader \
                 returns them, with inheritance applied"
            )));
        }
        if status == ManifestStatus::Added
            && sequence_number.is_none()
            && snapshot_id.is_some_and(|id| id != self.snapshot_id)
        {
            return Err(Error::invalid(format!(
                "the ADDED entry for '{path}' belongs to snapshot {} but would inherit the \
                 sequence number of snapshot {}; give it an explicit sequence number",
                snapshot_id.unwrap_or_default(),
                self.snapshot_id
            )));
        }
        if f.partition.len() != self.partition_types.len() {
            return Err(Error::invalid(format!(
                "'{path}' has {} partition values but spec {} has {} fields",
                f.partition.len(),
                self.spec_id,
                self.partition_types.len()
            )));
        }
        for (i, (v, ty)) in f.partition.iter().zip(&self.partition_types).enumerate() {
            if let Some(v) = v
                && !datum_fits(v, ty)
            {
                return Err(Error::invalid(format!(
                    "partition value {i} of '{path}' is {v} of type {}, but the partition field \
                     has type {ty}",
                    v.primitive_type()
                )));
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.container
            .write_block(self.block_count, &self.block.buf)?;
        self.block.buf.clear();
        self.block_count = 0;
        Ok(())
    }

    /// Finish the file: its bytes, and the manifest-list entry describing it. The entry's
    /// `manifest_path` is empty (the caller knows where it stores the file); its sequence
    /// number is [`UNASSIGNED_SEQUENCE_NUMBER`], and so is its minimum sequence number when no
    /// live entry had an explicit one: [`ManifestListWriter`] assigns both at commit.
    pub fn finish(mut self) -> Result<(Vec<u8>, ManifestFile)> {
        self.flush()?;
        let bytes = self.container.finish();
        let count = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
        let manifest = ManifestFile {
            manifest_path: String::new(),
            manifest_length: bytes.len() as i64,
            partition_spec_id: self.spec_id,
            content: self.content,
            sequence_number: UNASSIGNED_SEQUENCE_NUMBER,
            min_sequence_number: self
                .min_sequence_number
                .unwrap_or(UNASSIGNED_SEQUENCE_NUMBER),
            added_snapshot_id: self.snapshot_id,
            added_files_count: count(self.files[ManifestStatus::Added as usize]),
            existing_files_count: count(self.files[ManifestStatus::Existing as usize]),
            deleted_files_count: count(self.files[ManifestStatus::Deleted as usize]),
            added_rows_count: self.rows[ManifestStatus::Added as usize],
            existing_rows_count: self.rows[ManifestStatus::Existing as usize],
            deleted_rows_count: self.rows[ManifestStatus::Deleted as usize],
            partitions: Some(
                self.summaries
                    .iter()
                    .map(SummaryStats::to_summary)
                    .collect(),
            ),
            key_metadata: None,
            first_row_id: None,
        };
        Ok((bytes, manifest))
    }
}

/// Whether `v` can be written as a value of partition type `ty`.
fn datum_fits(v: &Datum, ty: &PrimitiveType) -> bool {
    match (v, ty) {
        (
            Datum::Decimal {
                unscaled, scale, ..
            },
            PrimitiveType::Decimal {
                precision,
                scale: s,
            },
        ) => scale == s && unscaled.unsigned_abs() < 10u128.pow((*precision).min(38)),
        (Datum::Fixed(b), PrimitiveType::Fixed(l)) => b.len() as u64 == *l,
        _ => v.primitive_type() == *ty,
    }
}

fn encode_counts(e: &mut Encoder, counts: &[(i32, i64)]) {
    if counts.is_empty() {
        // Java writes null for missing metrics maps; an empty map reads the same.
        e.long(0);
        return;
    }
    e.long(1);
    e.long(counts.len() as i64);
    for (k, v) in counts {
        e.int(*k);
        e.long(*v);
    }
    e.long(0);
}

fn encode_bounds(e: &mut Encoder, bounds: &[(i32, Vec<u8>)]) {
    if bounds.is_empty() {
        e.long(0);
        return;
    }
    e.long(1);
    e.long(bounds.len() as i64);
    for (k, v) in bounds {
        e.int(*k);
        e.bytes(v);
    }
    e.long(0);
}

fn encode_list<T: Copy>(e: &mut Encoder, list: &Option<Vec<T>>, item: impl Fn(&mut Encoder, T)) {
    match list {
        None => e.long(0),
        Some(items) => {
            e.long(1);
            if !items.is_empty() {
                e.long(items.len() as i64);
                for v in items {
                    item(e, *v);
                }
            }
            e.long(0);
        }
    }
}

fn encode_partition_value(e: &mut Encoder, v: &Datum, ty: &PrimitiveType) {
    match v {
        Datum::Boolean(b) => e.boolean(*b),
        Datum::Int(v) | Datum::Date(v) => e.int(*v),
        Datum::Long(v)
        | Datum::Time(v)
        | Datum::Timestamp(v)
        | Datum::Timestamptz(v)
        | Datum::TimestampNs(v)
        | Datum::TimestamptzNs(v) => e.long(*v),
        Datum::Float(v) => e.float(*v),
        Datum::Double(v) => e.double(*v),
        Datum::String(s) => e.str(s),
        Datum::Uuid(u) => e.raw(u.as_bytes()),
        Datum::Fixed(b) => e.raw(b),
        Datum::Binary(b) => e.bytes(b),
        Datum::Decimal { unscaled, .. } => {
            let precision = match ty {
                PrimitiveType::Decimal { precision, .. } => *precision,
                _ => 38,
            };
            let size = decimal_required_bytes(precision);
            e.raw(&unscaled.to_be_bytes()[16 - size..]);
        }
    }
}

fn encode_data_file(
    e: &mut Encoder,
    f: &DataFile,
    partition_types: &[PrimitiveType],
    version: FormatVersion,
) -> Result<()> {
    e.int(f.content as i32);
    e.str(&f.file_path);
    e.str(f.file_format.as_str());
    for (v, ty) in f.partition.iter().zip(partition_types) {
        e.null_or(v.as_ref(), |e, v| encode_partition_value(e, v, ty));
    }
    e.long(f.record_count);
    e.long(f.file_size_in_bytes);
    encode_counts(e, &f.column_sizes);
    encode_counts(e, &f.value_counts);
    encode_counts(e, &f.null_value_counts);
    encode_counts(e, &f.nan_value_counts);
    encode_bounds(e, &f.lower_bounds);
    encode_bounds(e, &f.upper_bounds);
    e.null_or(f.key_metadata.as_deref(), Encoder::bytes);
    encode_list(e, &f.split_offsets, Encoder::long);
    encode_list(e, &f.equality_ids, Encoder::int);
    e.null_or(f.sort_order_id, Encoder::int);
    if version >= FormatVersion::V3 {
        e.null_or(f.first_row_id, Encoder::long);
    }
    e.null_or(f.referenced_data_file.as_deref(), Encoder::str);
    if version >= FormatVersion::V3 {
        e.null_or(f.content_offset, Encoder::long);
        e.null_or(f.content_size_in_bytes, Encoder::long);
    } else if f.first_row_id.is_some()
        || f.content_offset.is_some()
        || f.content_size_in_bytes.is_some()
    {
        return Err(Error::invalid(format!(
            "'{}' has v3 fields (first_row_id, content_offset, content_size_in_bytes) that a v2 \
             manifest cannot hold",
            f.file_path
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Manifest lists
// ---------------------------------------------------------------------------------------------

/// Writes the manifest list of one snapshot (format v2 or v3) in memory.
///
/// Manifests written for this commit still carry [`UNASSIGNED_SEQUENCE_NUMBER`]; they get the
/// commit's sequence number here (Java's `ManifestFileWrapper`). In v3, data manifests without
/// a `first_row_id` are assigned one from the snapshot's `first-row-id` onwards, each advancing
/// the next id by the manifest's added and existing row counts (spec "First Row ID
/// Assignment"); [`ManifestListWriter::next_row_id`] then tells the table's next row id, and
/// its difference from the snapshot's `first-row-id` is the snapshot's `added-rows`.
#[derive(Debug)]
pub struct ManifestListWriter {
    version: FormatVersion,
    snapshot_id: i64,
    sequence_number: i64,
    next_row_id: Option<i64>,
    container: ContainerWriter,
    block: Encoder,
    block_count: usize,
}

impl ManifestListWriter {
    /// A writer for snapshot `snapshot_id` (child of `parent_snapshot_id`) with
    /// `sequence_number`. v3 needs the snapshot's `first_row_id` (the table's `next-row-id`);
    /// v2 takes none.
    pub fn new(
        version: FormatVersion,
        snapshot_id: i64,
        parent_snapshot_id: Option<i64>,
        sequence_number: i64,
        first_row_id: Option<i64>,
    ) -> Result<ManifestListWriter> {
        writable_version(version, "manifest list")?;
        match (version, first_row_id) {
            (FormatVersion::V3, None) => {
                return Err(Error::invalid(
                    "a v3 manifest list needs the snapshot's first-row-id (the table's \
                     next-row-id)",
                ));
            }
            (FormatVersion::V2, Some(_)) => {
                return Err(Error::invalid(
                    "a v2 manifest list has no first-row-id; row lineage starts with v3",
                ));
            }
            _ => {}
        }
        let mut metadata = vec![
            ("snapshot-id", snapshot_id.to_string()),
            (
                "parent-snapshot-id",
                parent_snapshot_id.map_or_else(|| "null".to_string(), |p| p.to_string()),
            ),
            ("sequence-number", sequence_number.to_string()),
        ];
        if let Some(first) = first_row_id {
            metadata.push(("first-row-id", first.to_string()));
        }
        metadata.push(("format-version", version.as_u8().to_string()));
        Ok(ManifestListWriter {
            version,
            snapshot_id,
            sequence_number,
            next_row_id: first_row_id,
            container: ContainerWriter::new(
                &manifest_file_schema(version),
                Codec::Deflate,
                &metadata,
            ),
            block: Encoder::default(),
            block_count: 0,
        })
    }

    /// Add a manifest. Returns the entry as written: with the commit's sequence numbers in
    /// place of unassigned ones and, in v3, its first row id.
    pub fn add_manifest(&mut self, manifest: &ManifestFile) -> Result<ManifestFile> {
        let mut m = manifest.clone();
        let unassigned = m.sequence_number == UNASSIGNED_SEQUENCE_NUMBER
            || m.min_sequence_number == UNASSIGNED_SEQUENCE_NUMBER;
        if unassigned && m.added_snapshot_id != self.snapshot_id {
            return Err(Error::invalid(format!(
                "manifest '{}' has no sequence number yet but was added by snapshot {}, not by \
                 the committing snapshot {}",
                m.manifest_path, m.added_snapshot_id, self.snapshot_id
            )));
        }
        if m.sequence_number == UNASSIGNED_SEQUENCE_NUMBER {
            m.sequence_number = self.sequence_number;
        }
        if m.min_sequence_number == UNASSIGNED_SEQUENCE_NUMBER {
            m.min_sequence_number = self.sequence_number;
        }
        match m.content {
            ManifestContentType::Deletes => m.first_row_id = None,
            ManifestContentType::Data => {
                if let Some(next) = self.next_row_id.as_mut()
                    && m.first_row_id.is_none()
                {
                    m.first_row_id = Some(*next);
                    *next = next
                        .saturating_add(m.added_rows_count)
                        .saturating_add(m.existing_rows_count);
                }
            }
        }
        let e = &mut self.block;
        e.str(&m.manifest_path);
        e.long(m.manifest_length);
        e.int(m.partition_spec_id);
        e.int(m.content as i32);
        e.long(m.sequence_number);
        e.long(m.min_sequence_number);
        e.long(m.added_snapshot_id);
        e.int(m.added_files_count);
        e.int(m.existing_files_count);
        e.int(m.deleted_files_count);
        e.long(m.added_rows_count);
        e.long(m.existing_rows_count);
        e.long(m.deleted_rows_count);
        match &m.partitions {
            None => e.long(0),
            Some(list) => {
                e.long(1);
                if !list.is_empty() {
                    e.long(list.len() as i64);
                    for s in list {
                        e.boolean(s.contains_null);
                        e.null_or(s.contains_nan, Encoder::boolean);
                        e.null_or(s.lower_bound.as_deref(), Encoder::bytes);
                        e.null_or(s.upper_bound.as_deref(), Encoder::bytes);
                    }
                }
                e.long(0);
            }
        }
        e.null_or(m.key_metadata.as_deref(), Encoder::bytes);
        if self.version >= FormatVersion::V3 {
            e.null_or(m.first_row_id, Encoder::long);
        }
        self.block_count += 1;
        if self.block.buf.len() >= BLOCK_BYTES {
            self.container
                .write_block(self.block_count, &self.block.buf)?;
            self.block.buf.clear();
            self.block_count = 0;
        }
        Ok(m)
    }

    /// The next row id to assign after the manifests added so far (v3), `None` in v2.
    pub fn next_row_id(&self) -> Option<i64> {
        self.next_row_id
    }

    /// Finish the file: its bytes, and the next row id (v3; see
    /// [`ManifestListWriter::next_row_id`]).
    pub fn finish(mut self) -> Result<(Vec<u8>, Option<i64>)> {
        self.container
            .write_block(self.block_count, &self.block.buf)?;
        Ok((self.container.finish(), self.next_row_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_sizes_match_java() {
        // TypeUtil.decimalRequiredBytes: precision 1-2 -> 1 byte, 3-4 -> 2, 9 -> 4, 10 -> 5,
        // 18 -> 8, 38 -> 16.
        for (p, n) in [
            (1, 1),
            (2, 1),
            (3, 2),
            (4, 2),
            (9, 4),
            (10, 5),
            (18, 8),
            (19, 9),
            (38, 16),
        ] {
            assert_eq!(decimal_required_bytes(p), n, "precision {p}");
        }
    }

    #[test]
    fn names_are_sanitized_like_java() {
        assert_eq!(sanitize("ts_day"), "ts_day");
        assert_eq!(sanitize("1a"), "_1a");
        assert_eq!(sanitize("a-b"), "a_x2Db");
        assert_eq!(sanitize("a.b c"), "a_x2Eb_x20c");
    }
}

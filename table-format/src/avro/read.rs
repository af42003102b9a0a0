//! Reading manifests and manifest lists.
//!
//! - [`read_manifest_list`], [`ManifestList::parse`]: a manifest list's entries (and its key/value
//!   metadata).
//! - [`ManifestReader`]: a manifest's entries, decoded one block at a time, with the spec's
//!   inheritance applied; [`read_manifest`] collects them.
//! - [`ManifestMetadata`]: a manifest's key/value metadata (schema, partition spec, format
//!   version, content).

use serde::Deserialize;

use super::binary::Cursor;
use super::container::{Blocks, Codec, Decompressor, Header};
use super::decode::{EntryPlan, ManifestFilePlan};
use super::schema::parse_schema;
use crate::spec::manifest::{
    DataContentType, ManifestContentType, ManifestEntry, ManifestFile, ManifestStatus,
};
use crate::spec::partition::{PartitionField, PartitionSpec};
use crate::spec::schema::Schema;
use crate::spec::table_metadata::FormatVersion;
use crate::spec::types::StructType;
use crate::{Error, Result};

// ---------------------------------------------------------------------------------------------
// Records of a container file, block by block
// ---------------------------------------------------------------------------------------------

/// Where the current block's decoded bytes are.
#[derive(Debug, Clone, Copy)]
enum BlockData<'a> {
    /// In the input (codec `null`): no copy.
    Input(&'a [u8]),
    /// The first `len` bytes of the reader's decompression buffer.
    Buffer(usize),
}

/// Decodes the records of a container file one at a time, holding one block in memory.
#[derive(Debug)]
struct Records<'a> {
    blocks: Blocks<'a>,
    codec: Codec,
    decompressor: Decompressor,
    buf: Vec<u8>,
    data: BlockData<'a>,
    pos: usize,
    left: u64,
    done: bool,
}

impl<'a> Records<'a> {
    fn new(file: &'a [u8], header: &Header<'a>) -> Self {
        Self {
            blocks: Blocks::new(file, header),
            codec: header.codec,
            decompressor: Decompressor::default(),
            buf: Vec::new(),
            data: BlockData::Input(&[]),
            pos: 0,
            left: 0,
            done: false,
        }
    }

    fn current(&self) -> &[u8] {
        match self.data {
            BlockData::Input(d) => d,
            BlockData::Buffer(len) => &self.buf[..len],
        }
    }

    /// Load the next block with records in it; `false` at the end of the file.
    fn load(&mut self) -> Result<bool> {
        loop {
            if self.pos != self.current().len() {
                return Err(Error::invalid(format!(
                    "corrupt Avro block: {} bytes left over after its last record",
                    self.current().len() - self.pos
                )));
            }
            let Some(block) = self.blocks.next_block()? else {
                return Ok(false);
            };
            self.data = match self.codec {
                Codec::Null => BlockData::Input(block.data),
                codec => {
                    let len = self
                        .decompressor
                        .decompress(codec, block.data, &mut self.buf)?;
                    BlockData::Buffer(len)
                }
            };
            self.pos = 0;
            if block.count > self.current().len() as u64 {
                return Err(Error::invalid(format!(
                    "corrupt Avro block: {} records claimed in {} bytes",
                    block.count,
                    self.current().len()
                )));
            }
            self.left = block.count;
            if self.left > 0 {
                return Ok(true);
            }
        }
    }

    /// The number of records the remaining blocks claim (read from their headers, without
    /// decompressing), capped by the file size so a corrupt count cannot over-allocate.
    fn count_hint(&self) -> usize {
        let mut blocks = self.blocks.clone();
        let mut total: u64 = self.left;
        while let Ok(Some(b)) = blocks.next_block() {
            total = total.saturating_add(b.count);
        }
        usize::try_from(total)
            .unwrap_or(usize::MAX)
            .min(blocks.file_len())
    }

    /// Decode the next record with `read`; `None` at the end (or after an error).
    fn next_with<T>(
        &mut self,
        read: impl FnOnce(&mut Cursor<'_>) -> Result<T>,
    ) -> Option<Result<T>> {
        if self.done {
            return None;
        }
        if self.left == 0 {
            match self.load() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        let data = self.current();
        let mut c = Cursor::new(&data[self.pos..]);
        let result = read(&mut c);
        let consumed = data.len() - self.pos - c.remaining();
        self.pos += consumed;
        self.left -= 1;
        if result.is_err() {
            self.done = true;
        }
        Some(result)
    }
}

fn header_and_schema<'a>(bytes: &'a [u8], what: &str) -> Result<(Header<'a>, super::schema::Node)> {
    let header = Header::parse(bytes).map_err(|e| e.context(format!("reading a {what}")))?;
    let schema = header
        .get("avro.schema")
        .ok_or_else(|| Error::invalid(format!("{what} has no avro.schema metadata")))?;
    let node = parse_schema(schema)?;
    Ok((header, node))
}

// ---------------------------------------------------------------------------------------------
// Manifest lists
// ---------------------------------------------------------------------------------------------

/// A manifest list's key/value metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManifestListMetadata {
    /// `format-version` (1 when missing).
    pub format_version: Option<u8>,
    /// `snapshot-id`: the snapshot the list belongs to.
    pub snapshot_id: Option<i64>,
    /// `parent-snapshot-id` (`"null"` reads as `None`).
    pub parent_snapshot_id: Option<i64>,
    /// `sequence-number` (v2+).
    pub sequence_number: Option<i64>,
    /// `first-row-id` (v3).
    pub first_row_id: Option<i64>,
}

/// A decoded manifest list.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestList {
    /// Its key/value metadata.
    pub metadata: ManifestListMetadata,
    /// Its entries, in file order.
    pub manifests: Vec<ManifestFile>,
}

fn meta_i64(header: &Header<'_>, key: &str) -> Result<Option<i64>> {
    match header.get_str(key)? {
        None | Some("null") => Ok(None),
        Some(s) => {
            s.trim().parse().map(Some).map_err(|_| {
                Error::invalid(format!("Avro metadata '{key}' is not an integer: '{s}'"))
            })
        }
    }
}

impl ManifestList {
    /// Decode a manifest list file.
    ///
    /// Entries of v1 lists read as data manifests with sequence numbers 0 (spec "Manifest
    /// Lists"); their optional file counts, when null, read as `NULL_FILES_COUNT` (1), since a
    /// null count means "assume non-zero".
    pub fn parse(bytes: &[u8]) -> Result<ManifestList> {
        let (header, node) = header_and_schema(bytes, "manifest list")?;
        let plan = ManifestFilePlan::compile(&node)?;
        let metadata = ManifestListMetadata {
            format_version: meta_i64(&header, "format-version")?
                .map(|v| {
                    u8::try_from(v).map_err(|_| {
                        Error::invalid(format!("manifest list format-version {v} is out of range"))
                    })
                })
                .transpose()?,
            snapshot_id: meta_i64(&header, "snapshot-id")?,
            parent_snapshot_id: meta_i64(&header, "parent-snapshot-id")?,
            sequence_number: meta_i64(&header, "sequence-number")?,
            first_row_id: meta_i64(&header, "first-row-id")?,
        };
        let mut records = Records::new(bytes, &header);
        let mut manifests = Vec::new();
        while let Some(m) = records.next_with(|c| plan.read(c)) {
            manifests.push(m?);
        }
        Ok(ManifestList {
            metadata,
            manifests,
        })
    }
}

/// Decode the entries of a manifest list file (see [`ManifestList::parse`]).
pub fn read_manifest_list(bytes: &[u8]) -> Result<Vec<ManifestFile>> {
    Ok(ManifestList::parse(bytes)?.manifests)
}

// ---------------------------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------------------------

/// A manifest's key/value metadata (spec "Manifests": all values are strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestMetadata {
    /// `format-version`; v1 when missing.
    pub format_version: FormatVersion,
    /// `schema`: the table schema JSON the manifest was written with.
    pub schema_json: Option<String>,
    /// `schema-id`, or the `schema-id` inside `schema` when the key is missing (Java).
    pub schema_id: Option<i32>,
    /// `partition-spec-id`.
    pub partition_spec_id: Option<i32>,
    /// `partition-spec`: the JSON array of the spec's fields.
    pub partition_spec_fields_json: Option<String>,
    /// `content`: data or deletes; data when missing (v1).
    pub content: ManifestContentType,
}

impl ManifestMetadata {
    fn from_header(header: &Header<'_>) -> Result<ManifestMetadata> {
        let format_version = match meta_i64(header, "format-version")? {
            None => FormatVersion::V1,
            Some(v) => FormatVersion::try_from(v)?,
        };
        let schema_json = header.get_str("schema")?.map(str::to_owned);
        let int = |key: &str| -> Result<Option<i32>> {
            meta_i64(header, key)?
                .map(|v| {
                    i32::try_from(v).map_err(|_| {
                        Error::invalid(format!("Avro metadata '{key}' = {v} does not fit an int"))
                    })
                })
                .transpose()
        };
        let mut schema_id = int("schema-id")?;
        if schema_id.is_none()
            && let Some(json) = &schema_json
        {
            #[derive(Deserialize)]
            struct Id {
                #[serde(rename = "schema-id")]
                schema_id: Option<i32>,
            }
            schema_id = serde_json::from_str::<Id>(json)
                .map_err(|e| Error::from(e).context("the manifest's 'schema' metadata"))?
                .schema_id;
        }
        let content = match header.get_str("content")? {
            None | Some("data") => ManifestContentType::Data,
            Some("deletes") => ManifestContentType::Deletes,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "manifest metadata 'content' is '{other}'; expected 'data' or 'deletes'"
                )));
            }
        };
        Ok(ManifestMetadata {
            format_version,
            schema_json,
            schema_id,
            partition_spec_id: int("partition-spec-id")?,
            partition_spec_fields_json: header.get_str("partition-spec")?.map(str::to_owned),
            content,
        })
    }

    /// The table schema stored in the manifest, if any.
    pub fn schema(&self) -> Result<Option<Schema>> {
        self.schema_json
            .as_deref()
            .map(|json| {
                serde_json::from_str(json)
                    .map_err(|e| Error::from(e).context("the manifest's 'schema' metadata"))
            })
            .transpose()
    }

    /// The partition spec stored in the manifest (fields and id), if any.
    pub fn partition_spec(&self) -> Result<Option<PartitionSpec>> {
        let Some(json) = self.partition_spec_fields_json.as_deref() else {
            return Ok(None);
        };
        let fields: Vec<PartitionField> = serde_json::from_str(json)
            .map_err(|e| Error::from(e).context("the manifest's 'partition-spec' metadata"))?;
        Ok(Some(PartitionSpec::new(
            self.partition_spec_id.unwrap_or_default(),
            fields,
        )))
    }

    /// The partition type from the manifest's own schema and spec, for readers without table
    /// metadata at hand.
    pub fn partition_type(&self) -> Result<StructType> {
        match (self.schema()?, self.partition_spec()?) {
            (Some(schema), Some(spec)) => spec.partition_type(&schema),
            (_, Some(spec)) if spec.fields().is_empty() => Ok(StructType::default()),
            _ => Err(Error::invalid(
                "the manifest does not carry both 'schema' and 'partition-spec' metadata; pass \
                 the partition type from the table metadata instead",
            )),
        }
    }
}

/// What entries inherit from their manifest's manifest-list entry.
#[derive(Debug, Clone, Copy)]
struct Inheritance {
    snapshot_id: i64,
    sequence_number: i64,
    /// The next first-row-id to hand out (v3 data manifests with a `first_row_id`).
    next_row_id: Option<i64>,
}

impl Inheritance {
    /// Apply the spec's rules to one entry (spec "Sequence Number Inheritance" and "First Row
    /// ID Inheritance", following Java's `InheritableMetadataFactory` and `ManifestReader`):
    /// - a null snapshot id takes the manifest's `added_snapshot_id`;
    /// - null sequence numbers take the manifest's sequence number when the entry is ADDED, or
    ///   when that sequence number is 0 (v1: everything is 0);
    /// - in a data manifest with a `first_row_id`, each live (not DELETED) data file with a
    ///   null `first_row_id` gets the manifest's `first_row_id` plus the record counts of the
    ///   files before it that also inherited one.
    fn apply(&mut self, e: &mut ManifestEntry) {
        if e.snapshot_id.is_none() {
            e.snapshot_id = Some(self.snapshot_id);
        }
        let inherits = self.sequence_number == 0 || e.status == ManifestStatus::Added;
        if inherits {
            if e.sequence_number.is_none() {
                e.sequence_number = Some(self.sequence_number);
            }
            if e.file_sequence_number.is_none() {
                e.file_sequence_number = Some(self.sequence_number);
            }
        }
        if let Some(next) = self.next_row_id.as_mut()
            && e.status != ManifestStatus::Deleted
            && e.data_file.content == DataContentType::Data
            && e.data_file.first_row_id.is_none()
        {
            e.data_file.first_row_id = Some(*next);
            *next = next.saturating_add(e.data_file.record_count);
        }
    }
}

/// Streams a manifest's entries, one Avro block in memory at a time.
///
/// ```no_run
/// # use table_format::avro::ManifestReader;
/// # fn f(bytes: &[u8], m: &table_format::spec::ManifestFile,
/// #      t: &table_format::spec::StructType) -> table_format::Result<()> {
/// for entry in ManifestReader::new(bytes, m, t)? {
///     let entry = entry?;
///     println!("{}", entry.data_file.file_path);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ManifestReader<'a> {
    metadata: ManifestMetadata,
    plan: EntryPlan,
    records: Records<'a>,
    inheritance: Option<Inheritance>,
}

impl<'a> ManifestReader<'a> {
    /// Read the manifest in `bytes`, listed in a manifest list as `manifest`, whose partition
    /// tuples have type `partition_type` (the manifest's spec under the table schema). Entries
    /// come out with inherited snapshot ids, sequence numbers and first row ids filled in.
    pub fn new(
        bytes: &'a [u8],
        manifest: &ManifestFile,
        partition_type: &StructType,
    ) -> Result<Self> {
        let mut r = Self::without_inheritance(bytes, partition_type)?;
        r.inheritance = Some(Self::inheritance(manifest));
        Ok(r)
    }

    /// What entries of `manifest` inherit from its manifest-list entry.
    fn inheritance(manifest: &ManifestFile) -> Inheritance {
        let next_row_id = match manifest.content {
            ManifestContentType::Data => manifest.first_row_id,
            ManifestContentType::Deletes => None,
        };
        Inheritance {
            snapshot_id: manifest.added_snapshot_id,
            sequence_number: manifest.sequence_number,
            next_row_id,
        }
    }

    /// Read the manifest's entries exactly as written: null snapshot ids, sequence numbers and
    /// first row ids stay null.
    pub fn without_inheritance(bytes: &'a [u8], partition_type: &StructType) -> Result<Self> {
        Self::open(bytes, partition_type, true)
    }

    /// As [`ManifestReader::new`], but only a summary of each data file is decoded: its
    /// content, partition, record count and size (and the entry's status, snapshot id and
    /// sequence numbers). Paths, formats, column statistics and the rest are skipped unread
    /// and come out empty: for aggregations over a snapshot's files (partitions, health),
    /// several times less work per entry.
    pub fn summary_only(
        bytes: &'a [u8],
        manifest: &ManifestFile,
        partition_type: &StructType,
    ) -> Result<Self> {
        let mut r = Self::open(bytes, partition_type, false)?;
        r.inheritance = Some(Self::inheritance(manifest));
        Ok(r)
    }

    fn open(bytes: &'a [u8], partition_type: &StructType, full: bool) -> Result<Self> {
        let (header, node) = header_and_schema(bytes, "manifest")?;
        let metadata = ManifestMetadata::from_header(&header)?;
        let plan = EntryPlan::compile(&node, partition_type, full)?;
        Ok(Self {
            metadata,
            plan,
            records: Records::new(bytes, &header),
            inheritance: None,
        })
    }

    /// The manifest's key/value metadata.
    pub fn metadata(&self) -> &ManifestMetadata {
        &self.metadata
    }

    /// Consume the reader, keeping the metadata.
    pub fn into_metadata(self) -> ManifestMetadata {
        self.metadata
    }
}

impl Iterator for ManifestReader<'_> {
    type Item = Result<ManifestEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        let plan = &self.plan;
        let mut entry = match self.records.next_with(|c| plan.read(c))? {
            Ok(e) => e,
            Err(e) => return Some(Err(e)),
        };
        if let Some(inheritance) = self.inheritance.as_mut() {
            inheritance.apply(&mut entry);
        }
        Some(Ok(entry))
    }
}

/// Read a whole manifest (see [`ManifestReader::new`]): its metadata and its entries, with
/// inheritance applied.
pub fn read_manifest(
    bytes: &[u8],
    manifest: &ManifestFile,
    partition_type: &StructType,
) -> Result<(ManifestMetadata, Vec<ManifestEntry>)> {
    let mut reader = ManifestReader::new(bytes, manifest, partition_type)?;
    let mut entries = Vec::with_capacity(reader.records.count_hint());
    for e in reader.by_ref() {
        entries.push(e?);
    }
    Ok((reader.into_metadata(), entries))
}

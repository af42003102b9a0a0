//! Manifests and manifest lists as Avro files (spec "Manifests", "Manifest Lists"; Avro 1.11
//! "Object Container Files" and "Binary Encoding").
//!
//! Map of the module:
//! - [`read_manifest_list`], [`ManifestList`]: decode a manifest list into
//!   [`ManifestFile`](crate::spec::ManifestFile)s (v1 to v3).
//! - [`ManifestReader`], [`read_manifest`], [`ManifestMetadata`]: decode a manifest's entries
//!   block by block, with snapshot-id, sequence-number and first-row-id inheritance applied.
//! - [`ManifestWriter`], [`ManifestListWriter`]: write v2/v3 manifests and manifest lists in the
//!   exact layout Iceberg's Java writers use (record names, field ids, metadata keys).
//! - [`Codec`], [`Header`]: the container format (`null`, `deflate`, `snappy`, `zstandard`).
//! - Internals: `binary` (varints, the zero-copy cursor), `schema` (writer schemas resolved
//!   from `avro.schema`), `decode` (writer schemas compiled into decoding plans).
//!
//! Decoding never builds a generic Avro value tree: the writer's schema is compiled once per
//! file into a plan that maps each writer field, by Iceberg `field-id`, onto the field of the
//! struct it fills, and skips the fields Floe does not know. Java's, pyiceberg's and other
//! writers' field orders, v1 files and unknown extra fields all decode the same way.

mod binary;
mod container;
mod decode;
mod read;
mod schema;
mod write;

#[cfg(test)]
mod tests;

pub use container::{Codec, Header, MAGIC};
pub use read::{
    ManifestList, ManifestListMetadata, ManifestMetadata, ManifestReader, read_manifest,
    read_manifest_list,
};
pub use write::{ManifestListWriter, ManifestWriter, UNASSIGNED_SEQUENCE_NUMBER};

//! Avro object container files (Avro 1.11 spec, "Object Container Files").
//!
//! A file is a header (magic `Obj\x01`, a `map<bytes>` of metadata holding `avro.schema` and
//! `avro.codec`, a 16-byte sync marker) followed by blocks: an object count, the byte size of
//! the (compressed) objects, the objects, and the sync marker again.
//!
//! - [`Header`], [`Header::parse`]: the header and where the first block starts.
//! - [`Blocks`]: iterates the blocks, checking each sync marker.
//! - [`Codec`]: `null`, `deflate` (raw RFC 1951), `snappy` (with its CRC-32 trailer) and
//!   `zstandard`, in both directions.
//! - [`ContainerWriter`]: writes a header, then blocks of already encoded objects.

use std::io::Read;

use super::binary::{Cursor, Encoder};
use crate::{Error, Result};

/// The four bytes every Avro object container file starts with.
pub const MAGIC: [u8; 4] = *b"Obj\x01";
/// Largest decompressed block accepted (corrupt or hostile input must not exhaust memory).
const MAX_BLOCK_SIZE: usize = 1 << 30;

/// A block compression codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Codec {
    /// No compression.
    Null,
    /// Raw deflate (RFC 1951, no zlib header): what Iceberg writes by default.
    #[default]
    Deflate,
    /// Snappy, each block followed by the CRC-32 (big-endian) of its uncompressed bytes.
    Snappy,
    /// Zstandard frames.
    Zstandard,
}

impl Codec {
    /// The `avro.codec` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::Null => "null",
            Codec::Deflate => "deflate",
            Codec::Snappy => "snappy",
            Codec::Zstandard => "zstandard",
        }
    }

    /// The codec named by `avro.codec`; a missing codec means `null`.
    pub fn parse(name: &str) -> Result<Codec> {
        match name {
            "" | "null" => Ok(Codec::Null),
            "deflate" => Ok(Codec::Deflate),
            "snappy" => Ok(Codec::Snappy),
            "zstandard" => Ok(Codec::Zstandard),
            other => Err(Error::unsupported(format!(
                "Avro codec '{other}' is not supported (Floe reads null, deflate, snappy and \
                 zstandard); rewrite the file with one of those"
            ))),
        }
    }

    /// Decompress one block into `out` (cleared first).
    pub(crate) fn decompress(self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        out.clear();
        match self {
            Codec::Null => out.extend_from_slice(data),
            Codec::Deflate => {
                let n = inflate(&mut new_inflate(), data, out)?;
                out.truncate(n);
            }
            Codec::Snappy => {
                let Some((body, crc)) = data.split_last_chunk::<4>() else {
                    return Err(Error::invalid(
                        "invalid snappy block: shorter than its 4-byte CRC trailer",
                    ));
                };
                let len = snap::raw::decompress_len(body).map_err(|e| {
                    Error::invalid(format!("invalid snappy block: {e}")).with_source(e)
                })?;
                if len > MAX_BLOCK_SIZE {
                    return Err(too_big());
                }
                out.resize(len, 0);
                let n = snap::raw::Decoder::new()
                    .decompress(body, out)
                    .map_err(|e| {
                        Error::invalid(format!("invalid snappy block: {e}")).with_source(e)
                    })?;
                out.truncate(n);
                let want = u32::from_be_bytes(*crc);
                let got = crc32fast::hash(out);
                if want != got {
                    return Err(Error::invalid(format!(
                        "snappy block checksum mismatch: trailer says {want:#010x}, data hashes \
                         to {got:#010x}"
                    )));
                }
            }
            Codec::Zstandard => {
                let mut dec = zstd::stream::read::Decoder::with_buffer(data).map_err(|e| {
                    Error::invalid(format!("invalid zstandard block: {e}")).with_source(e)
                })?;
                read_bounded(&mut dec, out, "zstandard")?;
            }
        }
        Ok(())
    }

    /// Compress one block, appending to `out`.
    pub(crate) fn compress(self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        match self {
            Codec::Null => out.extend_from_slice(data),
            Codec::Deflate => {
                use std::io::Write;
                let mut enc = flate2::write::DeflateEncoder::new(out, flate2::Compression::new(6));
                enc.write_all(data).map_err(io_err)?;
                enc.finish().map_err(io_err)?;
            }
            Codec::Snappy => {
                let compressed = snap::raw::Encoder::new()
                    .compress_vec(data)
                    .map_err(|e| Error::invalid(format!("snappy: {e}")).with_source(e))?;
                out.extend_from_slice(&compressed);
                out.extend_from_slice(&crc32fast::hash(data).to_be_bytes());
            }
            Codec::Zstandard => {
                let compressed = zstd::bulk::compress(data, 3).map_err(io_err)?;
                out.extend_from_slice(&compressed);
            }
        }
        Ok(())
    }
}

/// A raw-deflate (no zlib header, 32 KiB window) decompression state.
fn new_inflate() -> zlib_rs::Inflate {
    zlib_rs::Inflate::new(false, 15)
}

/// Inflate raw deflate `data` into the scratch buffer `out` with `state` (reset first, so one
/// state serves every block of a file without reallocating its window). Returns how many bytes
/// of `out` hold the result; `out` only grows (zero-filled), so reusing it costs nothing.
pub(crate) fn inflate(
    state: &mut zlib_rs::Inflate,
    data: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize> {
    state.reset(false);
    let guess = data.len().saturating_mul(4).clamp(64, MAX_BLOCK_SIZE);
    if out.len() < guess {
        out.resize(guess, 0);
    }
    loop {
        let (read, written) = (state.total_in() as usize, state.total_out() as usize);
        let status = state
            .decompress(
                data.get(read..).unwrap_or_default(),
                &mut out[written..],
                zlib_rs::InflateFlush::Finish,
            )
            .map_err(|e| Error::invalid(format!("invalid deflate block: {}", e.as_str())))?;
        let now = state.total_out() as usize;
        if status == zlib_rs::Status::StreamEnd {
            return Ok(now);
        }
        if now == out.len() {
            if now >= MAX_BLOCK_SIZE {
                return Err(too_big());
            }
            out.resize((now * 2).min(MAX_BLOCK_SIZE), 0);
        } else if state.total_in() as usize == read && now == written {
            return Err(Error::invalid(
                "truncated deflate block: the stream does not end",
            ));
        }
    }
}

/// Decompresses the blocks of one file, keeping codec state between blocks.
#[derive(Default)]
pub(crate) struct Decompressor {
    deflate: Option<zlib_rs::Inflate>,
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decompressor")
    }
}

impl Decompressor {
    /// Decompress one block of `codec` into the scratch buffer `out`; returns how many of its
    /// bytes hold the result.
    pub(crate) fn decompress(
        &mut self,
        codec: Codec,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<usize> {
        match codec {
            Codec::Deflate => inflate(self.deflate.get_or_insert_with(new_inflate), data, out),
            other => {
                other.decompress(data, out)?;
                Ok(out.len())
            }
        }
    }
}

fn too_big() -> Error {
    Error::invalid(format!(
        "Avro block decompresses to more than {MAX_BLOCK_SIZE} bytes; refusing it"
    ))
}

fn io_err(e: std::io::Error) -> Error {
    Error::invalid(format!("compression failed: {e}")).with_source(e)
}

fn read_bounded(r: &mut impl Read, out: &mut Vec<u8>, codec: &str) -> Result<()> {
    let n = r
        .take(MAX_BLOCK_SIZE as u64 + 1)
        .read_to_end(out)
        .map_err(|e| Error::invalid(format!("invalid {codec} block: {e}")).with_source(e))?;
    if n > MAX_BLOCK_SIZE {
        return Err(too_big());
    }
    Ok(())
}

/// The header of an object container file.
#[derive(Debug, Clone)]
pub struct Header<'a> {
    /// The key/value metadata, in file order (`avro.schema`, `avro.codec` and user keys).
    pub metadata: Vec<(&'a str, &'a [u8])>,
    /// The block codec.
    pub codec: Codec,
    /// The sync marker that ends every block.
    pub sync: [u8; 16],
    /// Offset of the first block.
    pub data_start: usize,
}

impl<'a> Header<'a> {
    /// Parse the header at the start of `file`.
    pub fn parse(file: &'a [u8]) -> Result<Header<'a>> {
        if file.len() < 4 || file[..4] != MAGIC {
            return Err(Error::invalid(
                "not an Avro object container file: it does not start with the magic 'Obj\\x01'",
            ));
        }
        let mut c = Cursor::new(&file[4..]);
        let mut metadata = Vec::new();
        loop {
            let count = c.block_count(2)?;
            if count == 0 {
                break;
            }
            for _ in 0..count {
                let key = c.str()?;
                let value = c.bytes()?;
                metadata.push((key, value));
            }
        }
        let sync = c.array::<16>()?;
        let data_start = file.len() - c.remaining();
        let codec = match metadata.iter().find(|(k, _)| *k == "avro.codec") {
            Some((_, v)) => Codec::parse(
                std::str::from_utf8(v)
                    .map_err(|_| Error::invalid("avro.codec metadata is not UTF-8".to_string()))?,
            )?,
            None => Codec::Null,
        };
        Ok(Header {
            metadata,
            codec,
            sync,
            data_start,
        })
    }

    /// A metadata value by key.
    pub fn get(&self, key: &str) -> Option<&'a [u8]> {
        self.metadata
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    /// A metadata value by key, as UTF-8 text.
    pub fn get_str(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => std::str::from_utf8(v).map(Some).map_err(|e| {
                Error::invalid(format!("Avro metadata '{key}' is not UTF-8: {e}")).with_source(e)
            }),
        }
    }
}

/// One raw (still compressed) block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawBlock<'a> {
    /// Objects in the block.
    pub(crate) count: u64,
    /// The compressed bytes.
    pub(crate) data: &'a [u8],
}

/// Iterates the blocks of a file after its header, checking sync markers.
#[derive(Debug, Clone)]
pub(crate) struct Blocks<'a> {
    rest: Cursor<'a>,
    sync: [u8; 16],
    file_len: usize,
}

impl<'a> Blocks<'a> {
    /// The blocks of `file`, whose header is `header`.
    pub(crate) fn new(file: &'a [u8], header: &Header<'_>) -> Self {
        Self {
            rest: Cursor::new(&file[header.data_start..]),
            sync: header.sync,
            file_len: file.len(),
        }
    }

    /// The length of the whole file.
    pub(crate) fn file_len(&self) -> usize {
        self.file_len
    }

    /// The next block, or `None` at the end of the file.
    pub(crate) fn next_block(&mut self) -> Result<Option<RawBlock<'a>>> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let count = self.rest.long()?;
        let size = self.rest.long()?;
        if count < 0 || size < 0 {
            return Err(Error::invalid(format!(
                "invalid Avro block header: count {count}, size {size}"
            )));
        }
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size > self.rest.remaining() {
            return Err(Error::invalid(format!(
                "truncated Avro file: a block of {size} bytes but only {} remain",
                self.rest.remaining()
            )));
        }
        let data = self.rest.take(size)?;
        let sync = self.rest.array::<16>().map_err(|_| {
            Error::invalid("truncated Avro file: a block is not followed by its sync marker")
        })?;
        if sync != self.sync {
            return Err(Error::invalid(
                "corrupt Avro file: a block's sync marker does not match the header's",
            ));
        }
        Ok(Some(RawBlock {
            count: count as u64,
            data,
        }))
    }
}

/// Writes an object container file into memory.
#[derive(Debug)]
pub(crate) struct ContainerWriter {
    out: Vec<u8>,
    codec: Codec,
    sync: [u8; 16],
}

impl ContainerWriter {
    /// Start a file with `schema` (JSON), `codec` and user `metadata`.
    pub(crate) fn new(schema: &str, codec: Codec, metadata: &[(&str, String)]) -> Self {
        let mut e = Encoder::default();
        e.raw(&MAGIC);
        e.long(metadata.len() as i64 + 2);
        e.str("avro.schema");
        e.str(schema);
        e.str("avro.codec");
        e.str(codec.as_str());
        for (k, v) in metadata {
            e.str(k);
            e.str(v);
        }
        e.long(0);
        let sync = *uuid::Uuid::new_v4().as_bytes();
        e.raw(&sync);
        Self {
            out: e.buf,
            codec,
            sync,
        }
    }

    /// Append a block of `count` encoded objects.
    pub(crate) fn write_block(&mut self, count: usize, objects: &[u8]) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        let mut compressed = Vec::with_capacity(objects.len() / 2 + 64);
        self.codec.compress(objects, &mut compressed)?;
        let mut e = Encoder {
            buf: std::mem::take(&mut self.out),
        };
        e.long(count as i64);
        e.long(compressed.len() as i64);
        e.raw(&compressed);
        e.raw(&self.sync);
        self.out = e.buf;
        Ok(())
    }

    /// The finished file.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_round_trips_a_block() {
        let data: Vec<u8> = (0..5000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        for codec in [Codec::Null, Codec::Deflate, Codec::Snappy, Codec::Zstandard] {
            let mut c = Vec::new();
            codec.compress(&data, &mut c).unwrap();
            let mut d = Vec::new();
            codec.decompress(&c, &mut d).unwrap();
            assert_eq!(d, data, "{codec:?}");
        }
    }

    #[test]
    fn truncated_or_garbage_deflate_is_an_error() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 13) as u8).collect();
        let mut c = Vec::new();
        Codec::Deflate.compress(&data, &mut c).unwrap();
        let mut d = Decompressor::default();
        let mut out = Vec::new();
        let n = d.decompress(Codec::Deflate, &c, &mut out).unwrap();
        assert_eq!(out[..n], data);
        for cut in [0, 1, c.len() / 2, c.len() - 1] {
            assert!(
                d.decompress(Codec::Deflate, &c[..cut], &mut out).is_err(),
                "cut {cut}"
            );
        }
        assert!(d.decompress(Codec::Deflate, &[0xff; 64], &mut out).is_err());
        // The state is reusable after errors.
        let n = d.decompress(Codec::Deflate, &c, &mut out).unwrap();
        assert_eq!(out[..n], data);
    }

    #[test]
    fn snappy_checks_its_crc() {
        let mut c = Vec::new();
        Codec::Snappy
            .compress(b"hello hello hello", &mut c)
            .unwrap();
        let last = c.len() - 1;
        c[last] ^= 1;
        assert!(Codec::Snappy.decompress(&c, &mut Vec::new()).is_err());
    }

    #[test]
    fn container_files_round_trip_and_check_sync_markers() {
        let mut w = ContainerWriter::new("\"long\"", Codec::Deflate, &[("k", "v".into())]);
        w.write_block(2, &[2, 4]).unwrap();
        w.write_block(1, &[6]).unwrap();
        let file = w.finish();
        let h = Header::parse(&file).unwrap();
        assert_eq!(h.get_str("k").unwrap(), Some("v"));
        assert_eq!(h.codec, Codec::Deflate);
        let mut blocks = Blocks::new(&file, &h);
        let mut n = 0;
        while let Some(b) = blocks.next_block().unwrap() {
            n += b.count;
        }
        assert_eq!(n, 3);

        let mut bad = file.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        let h = Header::parse(&bad).unwrap();
        let mut blocks = Blocks::new(&bad, &h);
        blocks.next_block().unwrap();
        assert!(blocks.next_block().is_err());
    }

    #[test]
    fn unknown_codecs_are_unsupported() {
        let e = Codec::parse("bzip2").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::FeatureUnsupported);
    }
}

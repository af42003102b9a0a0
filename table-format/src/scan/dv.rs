//! Deletion vectors (v3): a Puffin blob of type `deletion-vector-v1` holding the deleted row
//! positions of one data file as a 64-bit Roaring bitmap (spec "Deletion Vectors").
//!
//! Blob layout: 4-byte big-endian length of (magic + bitmap), magic `D1 D3 39 64`, the bitmap
//! in Roaring's portable 64-bit format, then a big-endian CRC-32 of (magic + bitmap).

use roaring::RoaringTreemap;

use crate::{Error, Result};

/// The magic bytes that start a deletion vector.
pub const DV_MAGIC: [u8; 4] = [0xD1, 0xD3, 0x39, 0x64];

/// Decode a deletion vector blob into its deleted positions.
pub fn decode_deletion_vector(blob: &[u8]) -> Result<RoaringTreemap> {
    if blob.len() < 12 {
        return Err(Error::invalid(format!(
            "deletion vector blob of {} bytes is too short",
            blob.len()
        )));
    }
    let len = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if len < 4 || 4 + len + 4 != blob.len() {
        return Err(Error::invalid(format!(
            "deletion vector length {len} does not match the blob size {}",
            blob.len()
        )));
    }
    let body = &blob[4..4 + len];
    if body[..4] != DV_MAGIC {
        return Err(Error::invalid("deletion vector has the wrong magic bytes"));
    }
    let crc = u32::from_be_bytes([blob[4 + len], blob[5 + len], blob[6 + len], blob[7 + len]]);
    if crc32fast::hash(body) != crc {
        return Err(Error::invalid("deletion vector checksum does not match"));
    }
    RoaringTreemap::deserialize_from(&body[4..])
        .map_err(|e| Error::invalid(format!("cannot decode deletion vector bitmap: {e}")))
}

/// Encode deleted positions as a deletion vector blob.
pub fn encode_deletion_vector(positions: &RoaringTreemap) -> Result<Vec<u8>> {
    let mut body = DV_MAGIC.to_vec();
    positions
        .serialize_into(&mut body)
        .map_err(|e| Error::invalid(format!("cannot encode deletion vector: {e}")))?;
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let mut p = RoaringTreemap::new();
        p.insert(0);
        p.insert(7);
        p.insert(5_000_000_000);
        let blob = encode_deletion_vector(&p).unwrap();
        assert_eq!(decode_deletion_vector(&blob).unwrap(), p);
        let mut bad = blob.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert!(
            decode_deletion_vector(&bad)
                .unwrap_err()
                .message()
                .contains("checksum")
        );
        assert!(decode_deletion_vector(&blob[..10]).is_err());
        let mut wrong_magic = blob;
        wrong_magic[4] = 0;
        assert!(decode_deletion_vector(&wrong_magic).is_err());
    }

    #[test]
    fn portable_layout_matches_the_spec() {
        // One bucket (key 0) holding position 3: count=1 (u64 LE), key=0 (u32 LE), then a
        // portable 32-bit Roaring bitmap.
        let mut p = RoaringTreemap::new();
        p.insert(3);
        let blob = encode_deletion_vector(&p).unwrap();
        assert_eq!(&blob[8..16], &1u64.to_le_bytes());
        assert_eq!(&blob[16..20], &0u32.to_le_bytes());
    }
}

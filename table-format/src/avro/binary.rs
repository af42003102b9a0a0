//! Avro binary encoding (Avro 1.11 spec, "Binary Encoding"): a zero-copy reading [`Cursor`]
//! and an appending [`Encoder`].
//!
//! `int` and `long` are zig-zag varints; `float`/`double` little-endian IEEE; `bytes` and
//! `string` a `long` length and the bytes; `fixed` just the bytes; arrays and maps a series of
//! blocks, each a `long` item count (negative: followed by the block's byte size) ending with a
//! zero count; unions a `long` branch index and the value.

use crate::{Error, Result};

/// Reads Avro binary values from a byte slice, advancing past each one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
}

#[cold]
#[inline(never)]
fn eof(what: &str, need: usize, have: usize) -> Error {
    Error::invalid(format!(
        "truncated Avro data: reading {what} needs {need} more bytes but only {have} remain"
    ))
}

#[cold]
#[inline(never)]
fn bad(message: String) -> Error {
    Error::invalid(message)
}

impl<'a> Cursor<'a> {
    /// A cursor over `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// How many bytes are left.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Whether every byte has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// A zig-zag varint `long`.
    #[inline]
    pub(crate) fn long(&mut self) -> Result<i64> {
        // Fast path: one byte (small counts, lengths, union indexes, field ids).
        if let Some(&b) = self.buf.first()
            && b < 0x80
        {
            self.buf = &self.buf[1..];
            return Ok(i64::from(b >> 1) ^ -i64::from(b & 1));
        }
        self.long_slow()
    }

    /// Step over a varint without decoding it: it ends at the first byte without the
    /// continuation bit, within 10 bytes.
    #[inline]
    pub(crate) fn skip_varint(&mut self) -> Result<()> {
        match self.buf.iter().take(10).position(|b| b & 0x80 == 0) {
            Some(i) => {
                self.buf = &self.buf[i + 1..];
                Ok(())
            }
            None if self.buf.len() < 10 => Err(eof("a varint", 1, self.buf.len())),
            None => Err(bad("invalid Avro varint: more than 10 bytes".into())),
        }
    }

    /// Step over `n` varints in a row, eight bytes at a time: each ends at a byte without the
    /// continuation bit, so the `n`th such byte ends the run.
    pub(crate) fn skip_varints(&mut self, mut n: usize) -> Result<()> {
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let buf = self.buf;
        let mut i = 0;
        while n > 0 {
            if let Some(word) = buf.get(i..i + 8) {
                let mut w = [0u8; 8];
                w.copy_from_slice(word);
                let mut ends = !u64::from_le_bytes(w) & HIGH;
                let k = ends.count_ones() as usize;
                if k < n {
                    n -= k;
                    i += 8;
                    continue;
                }
                for _ in 1..n {
                    ends &= ends - 1;
                }
                i += ends.trailing_zeros() as usize / 8 + 1;
                n = 0;
            } else {
                match buf.get(i) {
                    Some(b) => {
                        if b & 0x80 == 0 {
                            n -= 1;
                        }
                        i += 1;
                    }
                    None => return Err(eof("varints", n, 0)),
                }
            }
        }
        self.buf = &buf[i..];
        Ok(())
    }

    fn long_slow(&mut self) -> Result<i64> {
        let mut value: u64 = 0;
        let mut shift = 0u32;
        for (i, &b) in self.buf.iter().enumerate() {
            if shift == 63 && b > 1 {
                return Err(bad("invalid Avro long: varint overflows 64 bits".into()));
            }
            value |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                self.buf = &self.buf[i + 1..];
                return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
            }
            shift += 7;
            if shift > 63 {
                return Err(bad("invalid Avro long: varint longer than 10 bytes".into()));
            }
        }
        Err(eof("a varint", 1, 0))
    }

    /// A zig-zag varint `int` (a `long` that must fit 32 bits).
    #[inline]
    pub(crate) fn int(&mut self) -> Result<i32> {
        let v = self.long()?;
        i32::try_from(v).map_err(|_| bad(format!("invalid Avro int: {v} does not fit 32 bits")))
    }

    /// A `boolean`: one byte, 0 or 1.
    #[inline]
    pub(crate) fn boolean(&mut self) -> Result<bool> {
        match self.buf.split_first() {
            Some((&b, rest)) if b <= 1 => {
                self.buf = rest;
                Ok(b == 1)
            }
            Some((&b, _)) => Err(bad(format!("invalid Avro boolean byte {b:#04x}"))),
            None => Err(eof("a boolean", 1, 0)),
        }
    }

    /// `n` raw bytes (a `fixed`, or the body of `bytes`/`string`).
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.buf.len() {
            return Err(eof("a value", n, self.buf.len()));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// Exactly `N` raw bytes.
    #[inline]
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        match self.buf.split_first_chunk::<N>() {
            Some((head, rest)) => {
                self.buf = rest;
                Ok(*head)
            }
            None => Err(eof("a fixed-size value", N, self.buf.len())),
        }
    }

    /// A `float`.
    #[inline]
    pub(crate) fn float(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(self.array::<4>()?))
    }

    /// A `double`.
    #[inline]
    pub(crate) fn double(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array::<8>()?))
    }

    /// A length prefix: a non-negative `long` no larger than the bytes left.
    #[inline]
    pub(crate) fn len(&mut self) -> Result<usize> {
        let n = self.long()?;
        if n < 0 {
            return Err(bad(format!("invalid Avro length {n}: negative")));
        }
        let n = n as u64;
        if n > self.buf.len() as u64 {
            return Err(eof("bytes or string", n as usize, self.buf.len()));
        }
        Ok(n as usize)
    }

    /// A `bytes` value, borrowed.
    #[inline]
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }

    /// A `string` value, borrowed and checked to be UTF-8.
    #[inline]
    pub(crate) fn str(&mut self) -> Result<&'a str> {
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|e| {
            Error::invalid(format!("invalid Avro string: not UTF-8 ({e})")).with_source(e)
        })
    }

    /// A union branch index, checked against the number of branches.
    #[inline]
    pub(crate) fn branch(&mut self, branches: usize) -> Result<usize> {
        let i = self.long()?;
        if i < 0 || i as u64 >= branches as u64 {
            return Err(bad(format!(
                "invalid Avro union branch {i}: the union has {branches} branches"
            )));
        }
        Ok(i as usize)
    }

    /// The item count of the next array or map block: 0 ends the array. A negative count is
    /// followed by the block's size in bytes, which is read and dropped. The count is checked
    /// against the bytes left (each item takes at least `min_item_size` bytes), so corrupt
    /// counts cannot trigger huge allocations or endless loops.
    #[inline]
    pub(crate) fn block_count(&mut self, min_item_size: usize) -> Result<usize> {
        let n = self.long()?;
        let count = if n < 0 {
            let _size = self.long()?;
            n.unsigned_abs()
        } else {
            n as u64
        };
        let budget = (self.buf.len() / min_item_size.max(1)) as u64;
        if count > budget.max(if min_item_size == 0 { 1 << 20 } else { 0 }) {
            return Err(bad(format!(
                "invalid Avro block: {count} items claimed but only {} bytes remain",
                self.buf.len()
            )));
        }
        Ok(count as usize)
    }

    /// Like [`Cursor::block_count`], but for skipping: returns the count and, when the writer
    /// gave it, the block's byte size (so the block can be skipped whole).
    pub(crate) fn block_count_and_size(&mut self) -> Result<(u64, Option<usize>)> {
        let n = self.long()?;
        if n < 0 {
            let size = self.long()?;
            if size < 0 || size as u64 > self.buf.len() as u64 {
                return Err(bad(format!(
                    "invalid Avro block size {size}: only {} bytes remain",
                    self.buf.len()
                )));
            }
            Ok((n.unsigned_abs(), Some(size as usize)))
        } else {
            Ok((n as u64, None))
        }
    }
}

/// Appends Avro binary values to a byte vector.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    /// The encoded bytes.
    pub(crate) buf: Vec<u8>,
}

impl Encoder {
    /// A zig-zag varint `long`.
    #[inline]
    pub(crate) fn long(&mut self, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z >= 0x80 {
            self.buf.push((z as u8) | 0x80);
            z >>= 7;
        }
        self.buf.push(z as u8);
    }

    /// A zig-zag varint `int`.
    #[inline]
    pub(crate) fn int(&mut self, v: i32) {
        self.long(i64::from(v));
    }

    /// A `boolean`.
    #[inline]
    pub(crate) fn boolean(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    /// A `bytes` value.
    #[inline]
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.long(v.len() as i64);
        self.buf.extend_from_slice(v);
    }

    /// A `string` value.
    #[inline]
    pub(crate) fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }

    /// Raw bytes (a `fixed`).
    #[inline]
    pub(crate) fn raw(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    /// A `float`.
    #[inline]
    pub(crate) fn float(&mut self, v: f32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// A `double`.
    #[inline]
    pub(crate) fn double(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// The branch index of an optional value written as `["null", T]`: 0 for null, 1 otherwise.
    #[inline]
    pub(crate) fn null_or<T>(&mut self, v: Option<T>, write: impl FnOnce(&mut Self, T)) {
        match v {
            None => self.long(0),
            Some(v) => {
                self.long(1);
                write(self, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longs_round_trip_through_zigzag_varints() {
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            300,
            -300,
            i32::MAX as i64,
            i32::MIN as i64,
            i64::MAX,
            i64::MIN,
        ] {
            let mut e = Encoder::default();
            e.long(v);
            let mut c = Cursor::new(&e.buf);
            assert_eq!(c.long().unwrap(), v);
            assert!(c.is_empty());
        }
    }

    #[test]
    fn skipping_varints_lands_where_decoding_them_does() {
        let values: Vec<i64> = (0..200i64)
            .map(|i| match i % 5 {
                0 => i,
                1 => -i * 1000,
                2 => i64::MAX - i,
                3 => i << 20,
                _ => i64::MIN + i,
            })
            .collect();
        let mut e = Encoder::default();
        for v in &values {
            e.long(*v);
        }
        e.long(42);
        for n in 0..values.len() {
            let mut decoded = Cursor::new(&e.buf);
            for _ in 0..n {
                decoded.long().unwrap();
            }
            let mut skipped = Cursor::new(&e.buf);
            skipped.skip_varints(n).unwrap();
            assert_eq!(skipped.remaining(), decoded.remaining(), "{n} varints");
            let mut one = Cursor::new(&e.buf);
            for _ in 0..n {
                one.skip_varint().unwrap();
            }
            assert_eq!(
                one.remaining(),
                decoded.remaining(),
                "{n} varints one by one"
            );
        }
        // Past the end: an error, not a panic.
        let mut c = Cursor::new(&e.buf);
        assert!(c.skip_varints(values.len() + 2).is_err());
        let mut c = Cursor::new(&[0x80, 0x80]);
        assert!(c.skip_varint().is_err());
    }

    #[test]
    fn known_encodings_match_the_avro_spec() {
        // Spec examples: 0 -> 00, -1 -> 01, 1 -> 02, -2 -> 03, 2 -> 04, -64 -> 7f, 64 -> 80 01.
        for (v, bytes) in [
            (0i64, &[0x00u8][..]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (-2, &[0x03]),
            (2, &[0x04]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
        ] {
            let mut e = Encoder::default();
            e.long(v);
            assert_eq!(e.buf, bytes);
        }
    }

    #[test]
    fn overlong_and_truncated_varints_are_errors() {
        assert!(Cursor::new(&[0xff; 11]).long().is_err());
        assert!(Cursor::new(&[0x80]).long().is_err());
        assert!(Cursor::new(&[]).long().is_err());
        // 2^32 does not fit an int.
        let mut e = Encoder::default();
        e.long(1 << 32);
        assert!(Cursor::new(&e.buf).int().is_err());
    }

    #[test]
    fn lengths_beyond_the_data_are_errors() {
        let mut e = Encoder::default();
        e.long(10);
        e.raw(b"abc");
        assert!(Cursor::new(&e.buf).bytes().is_err());
        let mut e = Encoder::default();
        e.long(-3);
        assert!(Cursor::new(&e.buf).bytes().is_err());
    }

    #[test]
    fn block_counts_larger_than_the_data_are_errors() {
        let mut e = Encoder::default();
        e.long(1_000_000);
        e.raw(&[0; 10]);
        assert!(Cursor::new(&e.buf).block_count(1).is_err());
        let mut e = Encoder::default();
        e.long(-2);
        e.long(4);
        e.raw(&[0; 4]);
        assert_eq!(Cursor::new(&e.buf).block_count(1).unwrap(), 2);
    }
}

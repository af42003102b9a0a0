//! Partition transforms (spec "Partition Transforms", Appendix B).
//!
//! - [`Transform`]: identity, bucket[N], truncate[W], year, month, day, hour, void, and
//!   unknown transforms (kept by name so metadata round-trips; never written with).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// A partition (or sort) transform.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Transform {
    /// The source value, unchanged.
    Identity,
    /// `bucket[N]`: murmur3 hash modulo N.
    Bucket(u32),
    /// `truncate[W]`: the value truncated to width W.
    Truncate(u32),
    /// Years since 1970.
    Year,
    /// Months since 1970-01.
    Month,
    /// Days since 1970-01-01.
    Day,
    /// Hours since 1970-01-01 00:00.
    Hour,
    /// Always null.
    Void,
    /// A transform this version does not know; readers ignore it (v3), writers refuse it.
    Unknown(String),
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transform::Identity => f.write_str("identity"),
            Transform::Bucket(n) => write!(f, "bucket[{n}]"),
            Transform::Truncate(w) => write!(f, "truncate[{w}]"),
            Transform::Year => f.write_str("year"),
            Transform::Month => f.write_str("month"),
            Transform::Day => f.write_str("day"),
            Transform::Hour => f.write_str("hour"),
            Transform::Void => f.write_str("void"),
            Transform::Unknown(s) => f.write_str(s),
        }
    }
}

impl FromStr for Transform {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let parse_arg = |inner: &str, what: &str| -> Result<u32> {
            let n = inner.trim().parse::<u32>().map_err(|_| {
                Error::invalid(format!("invalid {what} argument in transform '{s}'"))
            })?;
            if n == 0 {
                return Err(Error::invalid(format!(
                    "transform '{s}' needs a positive {what}"
                )));
            }
            Ok(n)
        };
        Ok(match s {
            "identity" => Transform::Identity,
            "year" | "years" => Transform::Year,
            "month" | "months" => Transform::Month,
            "day" | "days" => Transform::Day,
            "hour" | "hours" => Transform::Hour,
            "void" | "alwaysNull" => Transform::Void,
            _ => {
                if let Some(inner) = s.strip_prefix("bucket[").and_then(|r| r.strip_suffix(']')) {
                    Transform::Bucket(parse_arg(inner, "bucket count")?)
                } else if let Some(inner) = s
                    .strip_prefix("truncate[")
                    .and_then(|r| r.strip_suffix(']'))
                {
                    Transform::Truncate(parse_arg(inner, "width")?)
                } else if s.is_empty() {
                    return Err(Error::invalid("empty transform name"));
                } else {
                    Transform::Unknown(s.to_string())
                }
            }
        })
    }
}

impl Serialize for Transform {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Transform {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

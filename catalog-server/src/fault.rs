//! Crash points for tests: make the server process die at a chosen step of a commit.
//!
//! Compiled in only with the cargo feature `fault-injection`, which the crate's integration
//! tests turn on (through a dev-dependency on the crate itself) and no other build does. In a
//! build without it, [`hit`] is an empty inline function and `FLOE_FAULT` is ignored (the
//! binary warns when it is set).
//!
//! With the feature, the binary reads `FLOE_FAULT=<point>[:<n>]` at start ([`arm_from_env`]):
//! the `n`-th time (default: the first) a commit reaches `<point>`, the process calls
//! [`std::process::abort`]: no destructor, no flush, no response, no database rollback beyond
//! what the database does for a dropped connection, which is what a SIGKILL leaves behind.
//! The points ([`FaultPoint`]):
//!
//! - `before-metadata-write`: the commit is checked and built; its metadata file is not written.
//! - `after-metadata-write`: the new metadata file is written; the table pointer is not swapped.
//! - `after-pointer-swap`: the pointer is swapped (the commit landed); no response was sent.
//!
//! An in-process server (`testing::TestServer`) never arms a fault: only the binary calls
//! [`arm_from_env`].

/// The environment variable that arms a fault.
pub const FAULT_ENV: &str = "FLOE_FAULT";

/// Whether this build has the fault-injection hook.
pub const ENABLED: bool = cfg!(feature = "fault-injection");

/// A step of a commit at which the process can be made to abort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Before the new metadata file is written.
    BeforeMetadataWrite,
    /// After the new metadata file is written, before the pointer swap.
    AfterMetadataWrite,
    /// After the pointer swap, before the response.
    AfterPointerSwap,
}

impl FaultPoint {
    /// Every point, in commit order.
    pub const ALL: [FaultPoint; 3] = [
        FaultPoint::BeforeMetadataWrite,
        FaultPoint::AfterMetadataWrite,
        FaultPoint::AfterPointerSwap,
    ];

    /// The name `FLOE_FAULT` takes.
    pub fn name(self) -> &'static str {
        match self {
            FaultPoint::BeforeMetadataWrite => "before-metadata-write",
            FaultPoint::AfterMetadataWrite => "after-metadata-write",
            FaultPoint::AfterPointerSwap => "after-pointer-swap",
        }
    }
}

/// A parsed `FLOE_FAULT` value: the point and which arrival there aborts (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Where.
    pub point: FaultPoint,
    /// The arrival at `point` that aborts (1 = the first).
    pub nth: u64,
}

impl std::str::FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (name, nth) = match s.trim().split_once(':') {
            Some((name, n)) => (
                name,
                n.parse::<u64>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| format!("{FAULT_ENV}={s:?}: the count must be 1 or more"))?,
            ),
            None => (s.trim(), 1),
        };
        let point = FaultPoint::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                let names: Vec<_> = FaultPoint::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "{FAULT_ENV}={s:?}: unknown point (one of {}, optionally followed by :N)",
                    names.join(", ")
                )
            })?;
        Ok(Fault { point, nth })
    }
}

#[cfg(feature = "fault-injection")]
mod armed {
    use super::{Fault, FaultPoint};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    pub(super) static FAULT: OnceLock<Fault> = OnceLock::new();
    static ARRIVALS: AtomicU64 = AtomicU64::new(0);

    pub(super) fn hit(point: FaultPoint) {
        let Some(fault) = FAULT.get() else { return };
        if fault.point != point {
            return;
        }
        let n = ARRIVALS.fetch_add(1, Ordering::SeqCst) + 1;
        if n == fault.nth {
            // Straight to stderr, unbuffered: the test reads this line to know the hook ran.
            eprintln!(
                "{}: aborting the process at {} (arrival {n})",
                super::FAULT_ENV,
                point.name()
            );
            std::process::abort();
        }
    }
}

/// Arm the fault `FLOE_FAULT` names, if any. Returns the armed fault, or an error for a value
/// that names no point. Without the `fault-injection` feature nothing is armed, and a set
/// variable is reported as an error string the caller may log.
pub fn arm_from_env() -> Result<Option<Fault>, String> {
    let Some(value) = std::env::var_os(FAULT_ENV) else {
        return Ok(None);
    };
    let value = value.to_string_lossy().into_owned();
    if value.trim().is_empty() {
        return Ok(None);
    }
    let fault: Fault = value.parse()?;
    #[cfg(feature = "fault-injection")]
    {
        let _ = armed::FAULT.set(fault);
        Ok(Some(fault))
    }
    #[cfg(not(feature = "fault-injection"))]
    {
        Err(format!(
            "{FAULT_ENV}={value} is ignored: this build has no fault injection \
             (point {} not armed)",
            fault.point.name()
        ))
    }
}

/// A commit reached `point`: abort here when the armed fault says so.
#[cfg(feature = "fault-injection")]
pub fn hit(point: FaultPoint) {
    armed::hit(point);
}

/// A commit reached `point` (no fault injection in this build: nothing happens).
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn hit(_point: FaultPoint) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_values_parse() {
        let f: Fault = "after-metadata-write".parse().unwrap();
        assert_eq!(f.point, FaultPoint::AfterMetadataWrite);
        assert_eq!(f.nth, 1);
        let f: Fault = "after-pointer-swap:3".parse().unwrap();
        assert_eq!(f.point, FaultPoint::AfterPointerSwap);
        assert_eq!(f.nth, 3);
        assert!("after-pointer-swap:0".parse::<Fault>().is_err());
        assert!("somewhere".parse::<Fault>().is_err());
        for p in FaultPoint::ALL {
            assert_eq!(p.name().parse::<Fault>().unwrap().point, p);
        }
    }
}

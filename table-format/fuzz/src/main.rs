//! Bounded-time fuzzing of table-format's metadata parser and metadata builder, on stable Rust.
//!
//! Seeds are the pyiceberg golden files (metadata and captured commits). Each round mutates a
//! seed, either structurally (drop, retype or duplicate JSON values; edge-case numbers; swapped
//! strings) or at the byte level (flips, truncation, splices), then:
//! - parses it as table metadata, and re-parses the serialized result when it parses;
//! - replays a mutated commit (requirements and updates) through `apply_commit` against a
//!   parsed golden base.
//!
//! Every round runs under `catch_unwind`: any panic is a bug, printed with the input that
//! caused it (also written to `fuzz-failure-<n>.json`), and the run exits non-zero.
//!
//! Usage: `fuzz-metadata [--seconds N] [--seed S]` (defaults: 30 s, a random seed, printed).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use table_format::spec::{
    TableMetadata, TableRequirement, TableUpdate, builder::apply_commit_with_clock,
};

fn main() {
    let mut seconds = 30u64;
    let mut seed = fastrand::u64(..);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(seconds),
            "--seed" => seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(seed),
            other => {
                eprintln!(
                    "unknown argument {other}; usage: fuzz-metadata [--seconds N] [--seed S]"
                );
                std::process::exit(2);
            }
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pyiceberg");
    let (metadata_seeds, commit_seeds) = load_seeds(&dir);
    assert!(
        !metadata_seeds.is_empty(),
        "no seeds under {}",
        dir.display()
    );
    let bases: Vec<(TableMetadata, Value)> = commit_seeds
        .iter()
        .filter_map(|c| {
            let b = c.get("base")?;
            let md = TableMetadata::from_json(&b.to_string()).ok()?;
            Some((md, c.get("request")?.clone()))
        })
        .collect();
    // Quiet the default panic hook: panics are caught and reported below.
    std::panic::set_hook(Box::new(|_| {}));

    println!(
        "fuzz-metadata: seed {seed}, {seconds} s, {} metadata seeds, {} commit seeds",
        metadata_seeds.len(),
        bases.len()
    );
    let mut rng = fastrand::Rng::with_seed(seed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut rounds, mut parsed_ok, mut commits_ok, mut failures) = (0u64, 0u64, 0u64, 0u32);
    while Instant::now() < deadline {
        rounds += 1;
        // 1. The parser.
        let seed_doc = &metadata_seeds[rng.usize(..metadata_seeds.len())];
        let input: Vec<u8> = if rng.u8(..4) == 0 {
            mutate_bytes(&mut rng, seed_doc.to_string().into_bytes())
        } else {
            let mut v = seed_doc.clone();
            for _ in 0..rng.usize(1..4) {
                mutate_value(&mut rng, &mut v, 0);
            }
            v.to_string().into_bytes()
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            if let Ok(md) = TableMetadata::from_slice(&input) {
                let text = md.to_json().expect("valid metadata serializes");
                let again = TableMetadata::from_json(&text).expect("our output parses");
                assert!(again == md, "round trip changed the metadata");
                true
            } else {
                false
            }
        }));
        match outcome {
            Ok(true) => parsed_ok += 1,
            Ok(false) => {}
            Err(p) => {
                failures += 1;
                report(failures, "parser", &input, &p);
            }
        }
        // 2. The builder.
        if bases.is_empty() {
            continue;
        }
        let (base, request) = &bases[rng.usize(..bases.len())];
        let mut req = request.clone();
        for _ in 0..rng.usize(0..3) {
            mutate_value(&mut rng, &mut req, 0);
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let reqs: Vec<TableRequirement> =
                serde_json::from_value(req.get("requirements").cloned().unwrap_or(json!([])))
                    .ok()?;
            let ups: Vec<TableUpdate> =
                serde_json::from_value(req.get("updates").cloned().unwrap_or(json!([]))).ok()?;
            let built = apply_commit_with_clock(
                Some((base, "file:///fuzz/metadata/00000.metadata.json")),
                &reqs,
                ups,
                base.last_updated_ms() + 1,
            )
            .ok()??;
            // What the builder returns must be valid and must survive a round trip.
            let text = built.metadata.to_json().expect("serializes");
            let again = TableMetadata::from_json(&text).expect("builder output parses");
            assert!(
                again == built.metadata,
                "builder output changed in a round trip"
            );
            Some(())
        }));
        match outcome {
            Ok(Some(())) => commits_ok += 1,
            Ok(None) => {}
            Err(p) => {
                failures += 1;
                report(failures, "builder", req.to_string().as_bytes(), &p);
            }
        }
    }
    println!(
        "fuzz-metadata: {rounds} rounds, {parsed_ok} mutated documents parsed, {commits_ok} mutated commits applied, {failures} failures"
    );
    if failures > 0 {
        std::process::exit(1);
    }
}

fn load_seeds(dir: &Path) -> (Vec<Value>, Vec<Value>) {
    let mut metadata = Vec::new();
    let mut commits = Vec::new();
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.to_string_lossy().to_string();
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if name.ends_with(".metadata.json") {
                metadata.push(v);
            } else if name.contains("/commits/") {
                commits.push(v);
            }
        }
    }
    (metadata, commits)
}

fn report(n: u32, what: &str, input: &[u8], panic: &Box<dyn std::any::Any + Send>) {
    let msg = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "non-string panic".to_string());
    let file = format!("fuzz-failure-{n}.json");
    let _ = std::fs::write(&file, input);
    eprintln!("PANIC in the {what}: {msg} (input written to {file})");
}

const EDGE_NUMBERS: &[i64] = &[
    -1,
    0,
    1,
    999,
    1000,
    i32::MAX as i64,
    i32::MIN as i64,
    i64::MAX,
    i64::MIN,
];

fn random_value(rng: &mut fastrand::Rng) -> Value {
    match rng.u8(..8) {
        0 => Value::Null,
        1 => json!(rng.bool()),
        2 => json!(EDGE_NUMBERS[rng.usize(..EDGE_NUMBERS.len())]),
        3 => json!(rng.f64() * 1e6),
        4 => json!(
            [
                "",
                "main",
                "struct",
                "bucket[0]",
                "decimal(99, 2)",
                "fixed[-1]",
                "-1",
                "x"
            ][rng.usize(..8)]
        ),
        5 => json!([]),
        6 => json!({}),
        _ => json!({"type": "struct", "fields": []}),
    }
}

/// Mutate one randomly chosen place in a JSON tree.
fn mutate_value(rng: &mut fastrand::Rng, v: &mut Value, depth: usize) {
    let descend = depth < 12 && rng.u8(..4) != 0;
    match v {
        Value::Object(m) if !m.is_empty() => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let k = keys[rng.usize(..keys.len())].clone();
            if descend {
                if let Some(child) = m.get_mut(&k) {
                    mutate_value(rng, child, depth + 1);
                }
                return;
            }
            match rng.u8(..4) {
                0 => {
                    m.remove(&k);
                }
                1 => {
                    m.insert(k, random_value(rng));
                }
                2 => {
                    let other = keys[rng.usize(..keys.len())].clone();
                    if let Some(val) = m.get(&other).cloned() {
                        m.insert(k, val);
                    }
                }
                _ => {
                    if let Some(n) = m.get(&k).and_then(Value::as_i64) {
                        let delta = [-1i64, 1, 1000, -1000][rng.usize(..4)];
                        m.insert(k, json!(n.saturating_add(delta)));
                    } else {
                        m.insert(k, random_value(rng));
                    }
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let i = rng.usize(..a.len());
            if descend {
                mutate_value(rng, &mut a[i], depth + 1);
                return;
            }
            match rng.u8(..3) {
                0 => {
                    a.remove(i);
                }
                1 => {
                    let dup = a[i].clone();
                    a.push(dup);
                }
                _ => {
                    let j = rng.usize(..a.len());
                    a.swap(i, j)
                }
            }
        }
        other => *other = random_value(rng),
    }
}

fn mutate_bytes(rng: &mut fastrand::Rng, mut b: Vec<u8>) -> Vec<u8> {
    if b.is_empty() {
        return b;
    }
    match rng.u8(..3) {
        0 => {
            for _ in 0..rng.usize(1..8) {
                let i = rng.usize(..b.len());
                b[i] ^= 1 << rng.u8(..8);
            }
        }
        1 => b.truncate(rng.usize(..b.len())),
        _ => {
            let i = rng.usize(..b.len());
            let j = rng.usize(i..b.len());
            let chunk = b[i..j].to_vec();
            let at = rng.usize(..b.len());
            b.splice(at..at, chunk);
        }
    }
    b
}

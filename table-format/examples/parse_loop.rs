//! Parse a metadata file repeatedly (for profiling): `parse_loop FILE N`.
fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("FILE");
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(50);
    let bytes = std::fs::read(path).expect("readable file");
    let t = std::time::Instant::now();
    for _ in 0..n {
        let md = table_format::spec::TableMetadata::from_slice(&bytes).expect("valid metadata");
        std::hint::black_box(md);
    }
    let s = t.elapsed().as_secs_f64() / n as f64;
    println!("{:.1} MB/s", bytes.len() as f64 / 1e6 / s);
}

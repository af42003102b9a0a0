//! Plan a scan repeatedly (for profiling): `plan_loop METADATA N [day]`.
use futures::TryStreamExt;
use table_format::expr::Reference;
use table_format::spec::Datum;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let md = &args[1];
    let n: usize = args[2].parse().unwrap_or(100);
    let io = table_format::io::FileIO::local();
    let table = table_format::table::Table::from_metadata_file(io, md)
        .await
        .expect("table");
    let day_us = 20_007i64 * 86_400_000_000;
    let t = std::time::Instant::now();
    let mut files = 0;
    for _ in 0..n {
        let scan = table.scan().with_filter(
            Reference::new("ts")
                .greater_than_or_eq(Datum::Timestamptz(day_us))
                .and(Reference::new("ts").less_than(Datum::Timestamptz(day_us + 86_400_000_000))),
        );
        files = scan
            .plan_stream()
            .await
            .expect("plan")
            .try_fold(0usize, |k, _| async move { Ok(k + 1) })
            .await
            .expect("stream");
    }
    println!(
        "{files} files, {:.3} ms per plan",
        t.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
}

//! Prints, for the demo county: how long loading it takes, and the SQL
//! statements and latency of a households page of 10, 100 and 500 rows.
//! `TEST_DATABASE=postgres` measures PostgreSQL. Run in release mode:
//! `cargo run --release -p tests --bin page_cost`.

use serde_json::json;
use std::time::Instant;
use tests::TestApp;

const PAGE: &str = "query($first: Int) { households(first: $first) { totalCount edges { node {
  id code headName idNumber phone size expectedPath village { id name } township { id name }
  verification { id status version verifiedBy { username } } photos { id kind }
  references { poverty { headName villageName } appraisal { grade } renovation { acceptedOn } } } } } }";

#[tokio::main]
async fn main() {
    println!("database: {:?}", tests::backend());
    let t = Instant::now();
    let app = TestApp::demo().await;
    println!("demo county loaded and server started in {:.2} s", t.elapsed().as_secs_f64());
    let token = app.token("admin").await;
    for first in [10, 100, 500] {
        // warm once, then measure
        app.ok(Some(&token), PAGE, json!({ "first": first })).await;
        let mut stmts = 0;
        let mut times = Vec::new();
        for _ in 0..10 {
            let before = app.statements().await;
            let t = Instant::now();
            app.ok(Some(&token), PAGE, json!({ "first": first })).await;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            stmts = app.statements().await - before;
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "page of {first:>3}: {stmts} SQL statements, median {:.1} ms, max {:.1} ms (10 runs, over HTTP)",
            times[5], times[9]
        );
    }
}

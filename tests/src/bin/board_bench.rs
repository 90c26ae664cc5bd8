//! Board latency at county scale and beyond, on PostgreSQL: the demo county
//! (4553 households), then grown to 450,000 and 4,500,000 households with
//! generated rows (spread over its 312 villages), counters added by SQL.
//! Measures over HTTP: the county board, a township's behind-pace list, and
//! one verification submit. `cargo run --release -p tests --bin board_bench`.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;
use std::time::Instant;
use tests::*;

const BOARD: &str = "query($r: ID) { progress(regionId: $r) { households submitted approved submittedPercent openErrors
  byStatus { status count } byPath { path count } milestones { kind state actualPercent expectedPercent } } }";
const BEHIND: &str =
    "query($r: ID) { progress(regionId: $r) { behindPace(first: 10) { region { name } submittedPercent behindBy } } }";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

async fn time(app: &TestApp, token: &str, q: &str, vars: serde_json::Value, n: usize) -> (f64, f64) {
    app.ok(Some(token), q, vars.clone()).await;
    let mut t = Vec::new();
    for _ in 0..n {
        let s = Instant::now();
        app.ok(Some(token), q, vars.clone()).await;
        t.push(s.elapsed().as_secs_f64() * 1000.0);
    }
    let p95 = {
        let mut c = t.clone();
        c.sort_by(|a, b| a.partial_cmp(b).unwrap());
        c[(c.len() * 95 / 100).min(c.len() - 1)]
    };
    (median(t), p95)
}

#[tokio::main]
async fn main() {
    assert_eq!(backend(), Backend::Postgres, "run with TEST_DATABASE=postgres");
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    app.extend_look_back(&admin).await;
    let db = app.server.state.db.clone();
    let campaign = api::demo::demo_id("campaign", "131126-2020");
    let county = app.ok(Some(&admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"].clone();
    let township =
        app.ok(Some(&admin), "{ regions(level: TOWNSHIP) { id } }", json!({})).await["regions"][0]["id"].clone();
    let pool = tests_pool(&app, &admin).await;
    let mut pool_iter = pool.into_iter();
    let mut total: i64 = 4553;
    println!("size,board_median_ms,board_p95_ms,behind_pace_median_ms,behind_pace_p95_ms,submit_median_ms");
    for target in [4553i64, 450_000, 4_500_000] {
        if target > total {
            let add = target - total;
            let t = Instant::now();
            grow(&db, campaign, total, add).await;
            eprintln!("generated {add} households in {:.1} s", t.elapsed().as_secs_f64());
            total = target;
        }
        let (b50, b95) = time(&app, &admin, BOARD, json!({ "r": county }), 50).await;
        let (p50, p95) = time(&app, &admin, BEHIND, json!({ "r": township }), 50).await;
        let mut submits = Vec::new();
        for i in 0..10 {
            let (h, who) = pool_iter.next().expect("household");
            let v = app.token(&who).await;
            let s = app
                .ok(
                    Some(&v),
                    "mutation($i: SaveVerificationInput!) { saveVerification(input: $i) { id } }",
                    json!({ "i": {
                    "householdId": h, "version": 0, "path": "APPRAISED", "appraisal": { "confirmedOnSite": true } } }),
                )
                .await;
            app.upload_photo(&v, &h, 60_000 + i + target as u32, false).await;
            let t = Instant::now();
            app.ok(
                Some(&v),
                "mutation($id: ID!) { submitVerification(id: $id, version: 1) { status } }",
                json!({ "id": s["saveVerification"]["id"] }),
            )
            .await;
            submits.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let board = app.ok(Some(&admin), BOARD, json!({ "r": county })).await;
        assert_eq!(board["progress"]["households"].as_i64().unwrap(), total);
        println!("{total},{b50:.2},{b95:.2},{p50:.2},{p95:.2},{:.2}", median(submits));
    }
}

async fn tests_pool(app: &TestApp, admin: &str) -> Vec<(String, String)> {
    let d = app
        .ok(Some(admin), "{ households(first: 60, filter: { expectedPath: [APPRAISED] }) { edges { node { id village { code } } } } }", json!({}))
        .await;
    d["households"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["id"].as_str().unwrap().to_owned(),
                format!("v{}", e["node"]["village"]["code"].as_str().unwrap()),
            )
        })
        .collect()
}

/// Adds `n` generated households and their counters, in batches of a million.
async fn grow(db: &sea_orm::DatabaseConnection, campaign: uuid::Uuid, from: i64, n: i64) {
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(1_000_000);
        let (lo, hi) = (from + done + 1, from + done + batch);
        let sql = format!(
            "INSERT INTO households (id, campaign_id, code, head_name, id_number, size, phone, county_id, township_id, village_id, expected_path, created_at, updated_at)
             SELECT gen_random_uuid(), '{campaign}', 'G' || lpad(g::text, 12, '0'), '测试户' || g, '131126' || lpad(g::text, 12, '0'), 3, NULL,
                    v.county, v.township, v.id, 'APPRAISED', now(), now()
             FROM generate_series({lo}, {hi}) g
             JOIN (SELECT r.id, r.parent_id AS township, t.parent_id AS county, row_number() OVER (ORDER BY r.code) - 1 AS k
                   FROM regions r JOIN regions t ON t.id = r.parent_id WHERE r.level = 'VILLAGE') v
               ON v.k = g % 312"
        );
        db.execute(Statement::from_string(DbBackend::Postgres, sql)).await.expect("generate households");
        let counters = format!(
            "INSERT INTO region_counters (campaign_id, region_id, metric, n)
             SELECT '{campaign}', x.r, m.m, x.c FROM (
               SELECT village_id AS r, count(*) AS c FROM households WHERE campaign_id = '{campaign}' AND code BETWEEN 'G' || lpad('{lo}', 12, '0') AND 'G' || lpad('{hi}', 12, '0') GROUP BY village_id
               UNION ALL SELECT township_id, count(*) FROM households WHERE campaign_id = '{campaign}' AND code BETWEEN 'G' || lpad('{lo}', 12, '0') AND 'G' || lpad('{hi}', 12, '0') GROUP BY township_id
               UNION ALL SELECT id, {batch} FROM regions WHERE level IN ('COUNTY', 'CITY', 'PROVINCE')
             ) x CROSS JOIN (VALUES ('households'), ('status:NOT_STARTED'), ('expected:APPRAISED')) AS m(m)
             ON CONFLICT (campaign_id, region_id, metric) DO UPDATE SET n = region_counters.n + excluded.n"
        );
        db.execute(Statement::from_string(DbBackend::Postgres, counters)).await.expect("counters");
        done += batch;
    }
    db.execute(Statement::from_string(DbBackend::Postgres, "ANALYZE households".to_owned())).await.ok();
}

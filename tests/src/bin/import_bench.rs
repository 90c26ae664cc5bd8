//! Times importing the county's three lists (4553 households) into a fresh
//! campaign through the real API (GraphQL multipart), poverty list as GB18030.
//! `cargo run --release -p tests --bin import_bench` (TEST_DATABASE=postgres for PostgreSQL).

use serde_json::{json, Value};
use std::time::Instant;
use tests::TestApp;

const PAGE: &str = "query($after: String) { households(first: 500, after: $after) { pageInfo { hasNextPage endCursor }
  edges { node { code headName idNumber phone size village { name } township { name }
  references { appraisal { grade appraisedOn appraiser } renovation { renovationYear renovationKind acceptedOn subsidyYuan } } } } } }";

#[tokio::main]
async fn main() {
    println!("database: {:?}", tests::backend());
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let mut poverty = String::from("户编号,户主姓名,证件号码,乡镇,行政村,家庭人口数,联系电话,脱贫年度\n");
    let mut appraisal = String::from("户编号,户主姓名,证件号码,鉴定等级,鉴定日期,鉴定单位\n");
    let mut renovation = String::from("户编号,户主姓名,证件号码,改造年度,改造方式,竣工验收日期,补助金额(元)\n");
    let mut after: Option<String> = None;
    let mut n = 0;
    loop {
        let d = app.ok(Some(&admin), PAGE, json!({ "after": after })).await;
        for e in d["households"]["edges"].as_array().unwrap() {
            let h = &e["node"];
            let s = |v: &Value| {
                v.as_str().map(str::to_owned).unwrap_or_else(|| if v.is_null() { String::new() } else { v.to_string() })
            };
            let (code, name, id) = (s(&h["code"]), s(&h["headName"]), s(&h["idNumber"]));
            poverty.push_str(&format!(
                "{code},{name},{id},{},{},{},{},2019\n",
                s(&h["township"]["name"]),
                s(&h["village"]["name"]),
                s(&h["size"]),
                s(&h["phone"])
            ));
            let a = &h["references"]["appraisal"];
            appraisal.push_str(&format!(
                "{code},{name},{id},{},{},{}\n",
                s(&a["grade"]),
                s(&a["appraisedOn"]),
                s(&a["appraiser"])
            ));
            let r = &h["references"]["renovation"];
            if !r.is_null() {
                renovation.push_str(&format!(
                    "{code},{name},{id},{},{},{},{}\n",
                    s(&r["renovationYear"]),
                    s(&r["renovationKind"]),
                    s(&r["acceptedOn"]),
                    s(&r["subsidyYuan"])
                ));
            }
            n += 1;
        }
        if !d["households"]["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = d["households"]["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    let county = app.ok(Some(&admin), "{ regions(level: COUNTY) { id } }", json!({})).await["regions"][0]["id"].clone();
    let c = app
        .ok(Some(&admin), "mutation($c: ID!) { createCampaign(name: \"bench\", countyId: $c, startsOn: \"2021-05-10\", endsOn: \"2021-05-31\") { id } }", json!({ "c": county }))
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (gbk, _, _) = encoding_rs::GB18030.encode(&poverty);
    let files = [
        ("POVERTY", "poverty-households.csv (GB18030)", gbk.into_owned()),
        ("APPRAISAL", "housing-appraisals.csv (UTF-8)", appraisal.into_bytes()),
        ("RENOVATION", "housing-renovations.csv (UTF-8)", renovation.into_bytes()),
    ];
    println!("{n} households");
    for (kind, name, bytes) in files {
        let size = bytes.len();
        let t = Instant::now();
        let body = app.import(&admin, kind, name, bytes, &c).await;
        let secs = t.elapsed().as_secs_f64();
        let r = &body["data"]["importReferenceFile"];
        println!(
            "{kind:<10} {name:<36} {:>7} bytes, {:>4} rows: {:.2} s (accepted {}, created {}, flagged {})",
            size, r["rows"], secs, r["accepted"], r["created"], r["flagged"]
        );
    }
}

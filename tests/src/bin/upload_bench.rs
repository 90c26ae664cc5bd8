//! 50 concurrent 5 MB photo uploads through the path the web app uses: ticket
//! from the API, PUT straight to S3 by presigned URL, confirmation (the API
//! reads, decodes and checks each photo). Starts its own s3s-fs and a real
//! `api` process (SQLite), and reports throughput and the API's peak memory.
//! `cargo build -p api --release && cargo run --release -p tests --bin upload_bench`

use serde_json::json;
use std::time::Instant;
use tests::*;

const UPLOADS: usize = 50;

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// A photo-like JPEG of about 5 MB: per-pixel noise over a gradient, made distinct by `seed`.
fn five_mb_jpeg(seed: u32) -> Vec<u8> {
    let mut z = seed as u64 * 0x9E37_79B9_7F4A_7C15 + 1;
    let img = image::RgbImage::from_fn(2600, 1950, |x, y| {
        z ^= z << 13;
        z ^= z >> 7;
        z ^= z << 17;
        let n = (z % 96) as u32;
        image::Rgb([((x / 12 + n) % 256) as u8, ((y / 9 + n) % 256) as u8, ((x + y) / 20 % 256 + n / 2) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92).encode_image(&img).unwrap();
    out.into_inner()
}

#[tokio::main]
async fn main() {
    let root = std::env::temp_dir().join(unique("s3bench-"));
    std::fs::create_dir_all(root.join("photos")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut s3 = std::process::Command::new("s3s-fs")
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--access-key",
            "bench",
            "--secret-key",
            "bench-secret-123456",
            root.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("s3s-fs (cargo install s3s-fs --version 0.14.1 --features binary --locked)");
    let dir = std::env::temp_dir().join(unique("apibench-"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}/app.db?mode=rwc", dir.display());
    let env = [
        ("APP_S3_ENDPOINT", format!("http://127.0.0.1:{port}")),
        ("APP_S3_BUCKET", "photos".to_string()),
        ("APP_S3_ACCESS_KEY", "bench".to_string()),
        ("APP_S3_SECRET_KEY", "bench-secret-123456".to_string()),
    ];
    let api = ApiProcess::start_with("serve-demo", &db, &unique("bench-secret-long-enough-"), &env).await;
    let sign_in = |u: &'static str| {
        let api = &api;
        async move {
            api.gql(None, SIGN_IN, json!({ "u": u, "p": DEMO_PASSWORD })).await["data"]["signIn"]["accessToken"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let admin = sign_in("admin").await;
    let d = api.gql(Some(&admin), "{ households(first: 200, filter: { expectedPath: [APPRAISED] }) { edges { node { id village { code } } } } }", json!({})).await;
    let mut targets = Vec::new();
    let mut tokens = std::collections::HashMap::new();
    for e in d["data"]["households"]["edges"].as_array().unwrap().iter().take(UPLOADS) {
        let who = format!("v{}", e["node"]["village"]["code"].as_str().unwrap());
        if !tokens.contains_key(&who) {
            let t = api.gql(None, SIGN_IN, json!({ "u": who, "p": DEMO_PASSWORD })).await["data"]["signIn"]
                ["accessToken"]
                .as_str()
                .unwrap()
                .to_owned();
            tokens.insert(who.clone(), t);
        }
        targets.push((e["node"]["id"].as_str().unwrap().to_owned(), tokens[&who].clone()));
    }
    let photos: Vec<Vec<u8>> = (0..UPLOADS as u32).map(five_mb_jpeg).collect();
    let total_mb: f64 = photos.iter().map(|p| p.len() as f64).sum::<f64>() / 1e6;
    let before = peak_rss_mb(api.pid());
    let http = reqwest::Client::new();
    let start = Instant::now();
    let jobs = targets.into_iter().zip(photos).map(|((h, token), bytes)| {
        let http = http.clone();
        let base = api.base.clone();
        async move {
            let t0 = Instant::now();
            let gql = |q: &'static str, v: serde_json::Value| {
                let http = http.clone();
                let base = base.clone();
                let token = token.clone();
                async move {
                    http.post(format!("{base}/graphql"))
                        .bearer_auth(token)
                        .json(&json!({ "query": q, "variables": v }))
                        .send()
                        .await
                        .unwrap()
                        .json::<serde_json::Value>()
                        .await
                        .unwrap()
                }
            };
            let t = gql(REQUEST_UPLOAD, json!({ "h": h, "k": "FRONT_PANORAMA", "ct": "image/jpeg", "n": bytes.len() }))
                .await;
            let ticket = &t["data"]["requestPhotoUpload"];
            let put = http
                .put(ticket["uploadUrl"].as_str().unwrap())
                .header("content-type", "image/jpeg")
                .body(bytes)
                .send()
                .await
                .unwrap();
            assert_eq!(put.status().as_u16(), 200);
            let c = gql(CONFIRM_UPLOAD, json!({ "t": ticket["id"] })).await;
            assert!(c.get("errors").is_none(), "{c}");
            t0.elapsed().as_secs_f64()
        }
    });
    let mut lat: Vec<f64> = futures_util::future::join_all(jobs).await;
    let secs = start.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let after = peak_rss_mb(api.pid());
    println!("{UPLOADS} concurrent uploads, {total_mb:.1} MB in all ({:.2} MB each)", total_mb / UPLOADS as f64);
    println!("wall time {secs:.2} s, throughput {:.1} MB/s, {:.1} photos/s", total_mb / secs, UPLOADS as f64 / secs);
    println!(
        "per upload (ticket + PUT + confirm): median {:.2} s, max {:.2} s",
        lat[lat.len() / 2],
        lat[lat.len() - 1]
    );
    println!(
        "API process peak RSS: {before:.0} MB before, {after:.0} MB after ({:.0} MB of photos went through)",
        total_mb
    );
    let _ = s3.kill();
    let _ = std::fs::remove_dir_all(&root);
}

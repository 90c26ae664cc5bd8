//! Issue 16: the hostile-file set, built here. Each file is sent through the
//! real import path; the server answers with a code, keeps answering, and
//! its memory (this process runs it) stays bounded after each one.

use crate::imports::{lines, new_campaign, report};
use serde_json::{json, Value};
use tests::*;

fn rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    kb / 1024
}

/// A zip member of `mb` MB of one letter (packs about 1000 to 1); with
/// `lie`, its headers claim 1 KB.
fn zip_of(mb: usize, lie: bool) -> Vec<u8> {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().large_file(false);
    z.start_file("xl/sharedStrings.xml", opts).unwrap();
    let zeros = vec![b'a'; 1 << 20];
    for _ in 0..mb {
        z.write_all(&zeros).unwrap();
    }
    let mut bytes = z.finish().unwrap().into_inner();
    if !lie {
        return bytes;
    }
    let real = (mb as u32) << 20;
    // Uncompressed size: local header at offset 22, central directory entry at 24.
    for (sig, at) in [(&b"PK\x03\x04"[..], 22usize), (&b"PK\x01\x02"[..], 24)] {
        let mut i = 0;
        while let Some(p) = bytes[i..].windows(4).position(|w| w == sig) {
            let o = i + p + at;
            if bytes[o..o + 4] == real.to_le_bytes() {
                bytes[o..o + 4].copy_from_slice(&1024u32.to_le_bytes());
            }
            i += p + 4;
        }
    }
    bytes
}

/// A CSV of the poverty list with one row holding each kind of bad text.
fn poverty_with(cells: &[(usize, &str)]) -> Vec<u8> {
    let mut rows = lines("poverty-households.csv");
    for (i, (col, value)) in cells.iter().enumerate() {
        let mut cols: Vec<String> = rows[i + 1].split(',').map(str::to_owned).collect();
        cols[*col] = format!("\"{}\"", value.replace('"', "\"\""));
        rows[i + 1] = cols.join(",");
    }
    rows.join("\n").into_bytes()
}

fn renovation_with(row: &str) -> Vec<u8> {
    let mut rows = lines("housing-renovations.csv");
    rows[1] = row.to_owned();
    rows.join("\n").into_bytes()
}

fn codes(r: &Value, key: &str) -> Vec<String> {
    r[key].as_array().into_iter().flatten().filter_map(|e| e["code"].as_str().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_files_are_refused_or_cleaned_and_memory_stays_bounded() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let campaign = new_campaign(&app, &admin, "敌意文件").await;
    let mut corner = rust_xlsxwriter::Workbook::new();
    let ws = corner.add_worksheet();
    ws.write_string(0, 0, "户编号").unwrap();
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    let refused: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        ("维度炸弹.xlsx", "POVERTY", corner.save_to_buffer().unwrap(), "IMPORT_SHEET_TOO_BIG"),
        // The zip reader stops at the declared size: refused as a damaged workbook.
        ("谎报大小.xlsx", "POVERTY", zip_of(300, true), "IMPORT_WORKBOOK"),
        ("高压缩比.xlsx", "POVERTY", zip_of(64, false), "IMPORT_UNPACKS_TOO_BIG"),
        ("超长.csv", "POVERTY", poverty_with(&[(1, &"张".repeat(10_000))]), "IMPORT_TOO_LONG"),
        (
            "两位年份.csv",
            "RENOVATION",
            renovation_with("1311260900100001,宋春,131126196711255453,2018,修缮加固,19-05-01,18000"),
            "IMPORT_TWO_DIGIT_YEAR",
        ),
        (
            "未来日期.csv",
            "RENOVATION",
            renovation_with("1311260900100001,宋春,131126196711255453,2018,修缮加固,2099-05-01,18000"),
            "IMPORT_FUTURE_DATE",
        ),
        (
            "验收早于改造.csv",
            "RENOVATION",
            renovation_with("1311260900100001,宋春,131126196711255453,2018,修缮加固,2016-05-01,18000"),
            "IMPORT_ACCEPTED_BEFORE_RENOVATION",
        ),
    ];
    let state = "SELECT (SELECT COUNT(*) FROM reference_records) + (SELECT COUNT(*) FROM reference_imports) * 1000000";
    let before = app.count(state).await;
    let baseline = rss_mb();
    for (name, kind, bytes, code) in refused {
        let r = report(&app.import(&admin, kind, name, bytes, &campaign).await);
        assert_eq!(r["accepted"], false, "{name}: {r:#}");
        assert!(codes(&r, "errors").iter().any(|c| c == code), "{name}: expected {code}: {r:#}");
        let grown = rss_mb().saturating_sub(baseline);
        assert!(grown < 400, "{name}: memory grew by {grown} MB");
        // Still answering.
        assert_eq!(app.ok(Some(&admin), "{ me { username } }", json!({})).await["me"]["username"], "admin");
    }
    assert_eq!(app.count(state).await, before, "nothing was written by a refused file");

    // Text that should not be stored as it came is cleaned, and each cell noted.
    let dirty =
        poverty_with(&[(1, "谢\u{1b}[31m明梅\u{7}"), (1, "方\u{202e}淑凤"), (1, "李\u{0}四\u{200b}"), (1, "王\n五")]);
    let r = report(&app.import(&admin, "POVERTY", "控制字符.csv", dirty, &campaign).await);
    assert_eq!(r["accepted"], true, "{r:#}");
    assert_eq!(codes(&r, "notices").iter().filter(|c| *c == "IMPORT_INVISIBLE").count(), 4, "{r:#}");
    let names = app
        .count("SELECT COUNT(*) FROM reference_records WHERE head_name IN ('谢[31m明梅', '方淑凤', '李四', '王 五')")
        .await;
    assert_eq!(names, 4, "stored without control, zero-width or direction characters");
    assert!(rss_mb().saturating_sub(baseline) < 400);
}

//! Legacy `.xls` files (BIFF8, what older county offices still export), built
//! by the test itself: a minimal BIFF8 workbook in a compound file, with text
//! cells, number cells and a merged title row above the header.

use crate::imports::{lines, new_campaign, report};
use tests::TestApp;

/// A cell of the sheet: text (a LABEL record) or a number (a NUMBER record).
pub enum Cell {
    Text(String),
    Number(f64),
    /// No record at all, as Excel leaves an empty cell.
    Empty,
}

fn record(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
    out.extend(typ.to_le_bytes());
    out.extend((data.len() as u16).to_le_bytes());
    out.extend(data);
}

/// BOF for BIFF8: `dt` 0x0005 for the workbook globals, 0x0010 for a worksheet.
fn bof(dt: u16) -> Vec<u8> {
    let mut d = vec![];
    d.extend(0x0600u16.to_le_bytes());
    d.extend(dt.to_le_bytes());
    d.extend(0x0DBBu16.to_le_bytes()); // build
    d.extend(0x07CCu16.to_le_bytes()); // year
    d.extend([0u8; 8]);
    d
}

/// Text as UTF-16 (the high-byte flag set), as Excel writes Chinese.
fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// One sheet named 花名册 holding `rows`; `merged` spans row 0 over that many columns.
pub fn xls(rows: &[Vec<Cell>], merged: u16) -> Vec<u8> {
    xls_declaring(rows, merged, None)
}

/// The same, with a Dimensions record declaring (rows, columns), true or not.
pub fn xls_declaring(rows: &[Vec<Cell>], merged: u16, declared: Option<(u32, u16)>) -> Vec<u8> {
    let mut sheet = Vec::new();
    record(&mut sheet, 0x0809, &bof(0x0010));
    if let Some((r, c)) = declared {
        let mut d = vec![];
        d.extend(0u32.to_le_bytes());
        d.extend(r.to_le_bytes());
        d.extend(0u16.to_le_bytes());
        d.extend(c.to_le_bytes());
        d.extend(0u16.to_le_bytes());
        record(&mut sheet, 0x0200, &d);
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let mut d = vec![];
            d.extend((r as u16).to_le_bytes());
            d.extend((c as u16).to_le_bytes());
            d.extend(0u16.to_le_bytes()); // XF index: the default format
            match cell {
                Cell::Text(t) => {
                    d.extend((t.encode_utf16().count() as u16).to_le_bytes());
                    d.push(1);
                    d.extend(utf16(t));
                    record(&mut sheet, 0x0204, &d);
                }
                Cell::Number(n) => {
                    d.extend(n.to_le_bytes());
                    record(&mut sheet, 0x0203, &d);
                }
                Cell::Empty => {}
            }
        }
    }
    if merged > 1 {
        let mut d = vec![];
        d.extend(1u16.to_le_bytes());
        for v in [0u16, 0, 0, merged - 1] {
            d.extend(v.to_le_bytes());
        }
        record(&mut sheet, 0x00E5, &d);
    }
    record(&mut sheet, 0x000A, &[]);

    // Globals: BOF, the sheet's BoundSheet8, EOF; the sheet's offset is patched in once known.
    let mut wb = Vec::new();
    record(&mut wb, 0x0809, &bof(0x0005));
    let at = wb.len() + 4;
    let mut bound = vec![0u8; 4];
    bound.extend([0u8, 0u8]); // a visible worksheet
    bound.push(3); // the name's length in characters
    bound.push(1); // UTF-16
    bound.extend(utf16("花名册"));
    record(&mut wb, 0x0085, &bound);
    record(&mut wb, 0x000A, &[]);
    let offset = (wb.len() as u32).to_le_bytes();
    wb[at..at + 4].copy_from_slice(&offset);
    wb.extend(sheet);

    let mut cf = cfb::CompoundFile::create_with_version(cfb::Version::V3, std::io::Cursor::new(Vec::new())).unwrap();
    {
        use std::io::Write;
        let mut s = cf.create_stream("/Workbook").unwrap();
        s.write_all(&wb).unwrap();
    }
    cf.flush().unwrap();
    cf.into_inner().into_inner()
}

/// A fixture as rows of cells: whole numbers below 9 digits and `numeric`
/// columns as numbers, the rest as text; a merged title row on top.
fn sheet(file: &str, numeric: &[usize]) -> Vec<Vec<Cell>> {
    let mut rows = vec![vec![Cell::Text("故城县建档立卡贫困户花名册".into())]];
    for (i, line) in lines(file).iter().enumerate() {
        rows.push(
            line.split(',')
                .enumerate()
                .map(|(c, v)| {
                    let small = !v.is_empty() && v.len() < 9 && v.bytes().all(|b| b.is_ascii_digit());
                    let digits = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
                    if i > 0 && (small || (digits && numeric.contains(&c))) {
                        Cell::Number(v.parse().unwrap())
                    } else {
                        Cell::Text(v.to_owned())
                    }
                })
                .collect(),
        );
    }
    rows
}

/// Days since 1899-12-30, as Excel stores a date.
fn serial(date: &str) -> f64 {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    (d - chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()).num_days() as f64
}

#[tokio::test]
async fn legacy_xls_files_import_with_titles_numbers_and_serial_dates() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let campaign = new_campaign(&app, &admin, "xls").await;
    let r = report(
        &app.import(&admin, "POVERTY", "花名册.xls", xls(&sheet("poverty-households.csv", &[]), 8), &campaign).await,
    );
    assert_eq!(
        (r["accepted"].as_bool(), r["encoding"].as_str(), r["created"].as_i64()),
        (Some(true), Some("XLS"), Some(120)),
        "{r:#}"
    );
    assert_eq!(
        (r["notices"][0]["row"].as_i64(), r["notices"][0]["code"].as_str()),
        (Some(1), Some("IMPORT_TITLE_ROW")),
        "{r:#}"
    );

    // Appraisal dates as serial numbers (date cells without a date format).
    let mut rows = sheet("housing-appraisals.csv", &[]);
    for row in rows.iter_mut().skip(2) {
        if let Cell::Text(d) = &row[4] {
            row[4] = Cell::Number(serial(d));
        }
    }
    let r = report(&app.import(&admin, "APPRAISAL", "鉴定.xls", xls(&rows, 6), &campaign).await);
    assert_eq!((r["accepted"].as_bool(), r["created"].as_i64()), (Some(true), Some(120)), "{r:#}");
    let d = app
        .ok(Some(&admin), "query($c: ID) { households(filter: { campaignId: $c, search: \"1311260800100001\" }) { edges { node { references { appraisal { appraisedOn } } } } } }", serde_json::json!({ "c": campaign }))
        .await;
    let refs = d["households"]["edges"][0]["node"]["references"].to_string();
    assert!(refs.contains("2018-04-12"), "the serial date read as the day it is: {refs}");

    // An ID number stored as a number cell is refused and changes nothing.
    let before = app.count("SELECT COUNT(*) FROM reference_records").await;
    let bad = xls(&sheet("housing-appraisals.csv", &[2]), 6);
    let r = report(&app.import(&admin, "APPRAISAL", "鉴定2.xls", bad, &campaign).await);
    assert_eq!(r["accepted"], false, "{r:#}");
    assert_eq!(
        (r["errors"][0]["row"].as_i64(), r["errors"][0]["column"].as_str()),
        (Some(3), Some("证件号码")),
        "{r:#}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM reference_records").await, before);
}

/// A small file must not take the service down: a sheet declaring (or
/// spanning) an enormous area and a zip that unpacks to gigabytes are refused
/// with a code, and the server goes on answering.
#[tokio::test]
async fn workbooks_that_would_exhaust_memory_are_refused() {
    let app = TestApp::demo().await;
    let admin = app.token("admin").await;
    let campaign = new_campaign(&app, &admin, "炸弹").await;
    // Cells A1 and XFD1048576: 1.5 KB that once asked for 512 GB.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "户编号").unwrap();
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    let corner = wb.save_to_buffer().unwrap();
    // An .xls declaring 65,536 rows × 256 columns.
    let declared = xls_declaring(&sheet("poverty-households.csv", &[]), 8, Some((65_536, 256)));
    // An .xls with no Dimensions record but a cell at IV65536 (16 million cells).
    let mut far = sheet("poverty-households.csv", &[]);
    far.resize_with(65_536, Vec::new);
    far[65_535] = (0..256).map(|c| if c == 255 { Cell::Text("x".into()) } else { Cell::Empty }).collect();
    let far = xls(&far, 8);
    // A zip whose one entry unpacks to 600 MB of zeros.
    let bomb = {
        use std::io::Write;
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        z.start_file("xl/sharedStrings.xml", zip::write::SimpleFileOptions::default()).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..600 {
            z.write_all(&zeros).unwrap();
        }
        z.finish().unwrap().into_inner()
    };
    assert!(bomb.len() < 2 << 20, "a small file: {} bytes", bomb.len());
    for (name, bytes, code) in [
        ("角.xlsx", corner, "IMPORT_SHEET_TOO_BIG"),
        ("大.xls", declared, "IMPORT_SHEET_TOO_BIG"),
        ("远.xls", far, "IMPORT_SHEET_TOO_BIG"),
        ("炸弹.xlsx", bomb, "IMPORT_UNPACKS_TOO_BIG"),
    ] {
        let r = report(&app.import(&admin, "POVERTY", name, bytes, &campaign).await);
        assert_eq!(
            (r["accepted"].as_bool(), r["errors"][0]["code"].as_str()),
            (Some(false), Some(code)),
            "{name}: {r:#}"
        );
    }
    assert_eq!(app.ok(Some(&admin), "{ me { username } }", serde_json::json!({})).await["me"]["username"], "admin");
}

//! Reading a spreadsheet: CSV in UTF-8, UTF-8 with BOM or GB18030, .xlsx or
//! legacy .xls, into rows of cells; a file that cannot be read is refused whole.

use super::RowError;
use crate::domain::error::{msg, Msg};

pub(super) fn err(row: i32, column: Option<&str>, m: Msg) -> RowError {
    RowError::new(row, column, m)
}

/// Decodes the bytes into rows of cells and names the encoding found.
pub fn read_table(bytes: &[u8]) -> Result<(Vec<Vec<String>>, &'static str), RowError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return read_xlsx(bytes).map(|t| (t, "XLSX"));
    }
    if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        return read_xls(bytes).map(|t| (t, "XLS"));
    }
    let (text, encoding) = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        (std::str::from_utf8(rest).map_err(|_| err(0, None, msg!(IMPORT_BAD_UTF8)))?.to_owned(), "UTF-8-BOM")
    } else if let Ok(t) = std::str::from_utf8(bytes) {
        (t.to_owned(), "UTF-8")
    } else {
        match encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes) {
            Some(t) => (t.into_owned(), "GB18030"),
            None => return Err(err(0, None, msg!(IMPORT_ENCODING))),
        }
    };
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| err(i as i32 + 1, None, msg!(IMPORT_CSV_ROW, detail = e)))?;
        rows.push(rec.iter().map(|c| c.trim().to_owned()).collect());
    }
    Ok((rows, encoding))
}

/// The most a sheet may span: far beyond any county's list (a county has at
/// most tens of thousands of households), far below what would exhaust memory.
const MAX_ROWS: u32 = 200_000;
const MAX_COLS: u32 = 200;
/// The most a workbook may unpack to: a county's list is a few MB of XML.
const MAX_UNPACKED: u64 = 200 * 1024 * 1024;

fn too_big(rows: u64, cols: u64) -> RowError {
    err(0, None, msg!(IMPORT_SHEET_TOO_BIG, rows = rows, cols = cols))
}

/// An `.xlsx` read cell by cell into a table bounded by MAX_ROWS × MAX_COLS:
/// a 1.5 KB file with cells A1 and XFD1048576 once made calamine allocate
/// 512 GB for the rectangle between them.
fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, RowError> {
    use calamine::{Reader, Xlsx};
    check_unpacked(bytes)?;
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| err(0, None, msg!(IMPORT_WORKBOOK, format = ".xlsx", detail = e)))?;
    let name = wb.sheet_names().first().cloned().ok_or_else(|| err(0, None, msg!(IMPORT_NO_SHEET)))?;
    let mut reader = wb.worksheet_cells_reader(&name).map_err(|e| err(0, None, msg!(IMPORT_SHEET, detail = e)))?;
    let mut table: Vec<Vec<String>> = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(|e| err(0, None, msg!(IMPORT_SHEET, detail = e)))? {
        let (r, c) = cell.get_position();
        if r >= MAX_ROWS || c >= MAX_COLS {
            return Err(too_big(u64::from(r) + 1, u64::from(c) + 1));
        }
        let text = cell_text(&calamine::Data::from(cell.get_value().clone()));
        if text.is_empty() {
            continue;
        }
        let (r, c) = (r as usize, c as usize);
        if table.len() <= r {
            table.resize_with(r + 1, Vec::new);
        }
        if table[r].len() <= c {
            table[r].resize(c + 1, String::new());
        }
        table[r][c] = text;
    }
    Ok(table)
}

/// Refuses a zip whose entries declare more than MAX_UNPACKED in all (a zip bomb).
fn check_unpacked(bytes: &[u8]) -> Result<(), RowError> {
    let bad = |e: zip::result::ZipError| err(0, None, msg!(IMPORT_WORKBOOK, format = ".xlsx", detail = e));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(bad)?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        // What the directory declares first (cheap), then what the member
        // really unpacks to, counted while streaming into nothing: a member
        // may declare 1 KB and unpack to gigabytes.
        let declared = zip.by_index_raw(i).map_err(bad)?.size();
        total = total.saturating_add(declared);
        if total > MAX_UNPACKED {
            return Err(err(0, None, msg!(IMPORT_UNPACKS_TOO_BIG, mb = total >> 20)));
        }
        let f = zip.by_index(i).map_err(bad)?;
        let packed = f.compressed_size().max(1);
        let left = MAX_UNPACKED - (total - declared);
        let actual = std::io::copy(&mut std::io::Read::take(f, left + 1), &mut std::io::sink())
            .map_err(|e| err(0, None, msg!(IMPORT_WORKBOOK, format = ".xlsx", detail = e)))?;
        total = total - declared + actual;
        if actual > left || (actual > BOMB_FLOOR && actual / packed > MAX_RATIO) {
            return Err(err(0, None, msg!(IMPORT_UNPACKS_TOO_BIG, mb = total >> 20)));
        }
    }
    Ok(())
}

/// Spreadsheet XML packs 5–20 to 1; a member packed far tighter, and large,
/// is made to explode.
const MAX_RATIO: u64 = 200;
const BOMB_FLOOR: u64 = 16 << 20;

/// The legacy Excel 97–2003 format, which county offices still send. Its
/// sheets declare their size (a Dimensions record) and calamine reserves
/// that much first, so the declared size is checked before calamine reads it.
fn read_xls(bytes: &[u8]) -> Result<Vec<Vec<String>>, RowError> {
    use calamine::{Reader, Xls};
    check_xls_dimensions(bytes)?;
    let mut wb: Xls<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| err(0, None, msg!(IMPORT_WORKBOOK, format = ".xls", detail = e)))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| err(0, None, msg!(IMPORT_NO_SHEET)))?
        .map_err(|e| err(0, None, msg!(IMPORT_SHEET, detail = e)))?;
    Ok(range.rows().map(|r| r.iter().map(cell_text).collect()).collect())
}

/// How many cells an `.xls` sheet may span: calamine holds its rectangle as
/// one dense array (32 bytes a cell), so 2 million cells is about 64 MB;
/// a county's list is some 5,000 rows of 20 columns.
const MAX_XLS_CELLS: u64 = 2_000_000;

/// Walks the BIFF records of the Workbook stream for the area calamine will
/// allocate: what Dimensions records declare and where cells actually are
/// (a cell at IV65536 needs no Dimensions record to make it 16 million).
fn check_xls_dimensions(bytes: &[u8]) -> Result<(), RowError> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| err(0, None, msg!(IMPORT_WORKBOOK, format = ".xls", detail = e));
    let mut cf = cfb::CompoundFile::open(std::io::Cursor::new(bytes)).map_err(unreadable)?;
    let name = if cf.exists("/Workbook") { "/Workbook" } else { "/Book" };
    let mut stream = Vec::new();
    cf.open_stream(name).map_err(unreadable)?.read_to_end(&mut stream).map_err(unreadable)?;
    let u16_at = |i: usize| u64::from(u16::from_le_bytes([stream[i], stream[i + 1]]));
    let u32_at = |i: usize| u64::from(u32::from_le_bytes([stream[i], stream[i + 1], stream[i + 2], stream[i + 3]]));
    let (mut rows, mut cols) = (0u64, 0u64);
    let mut i = 0;
    while i + 4 <= stream.len() {
        let (typ, len, data) = (u16_at(i), u16_at(i + 2) as usize, i + 4);
        if data + len > stream.len() {
            break;
        }
        match typ {
            // Dimensions: first row, last row + 1, first column, last column + 1.
            0x0200 if len >= 14 => {
                rows = rows.max(u32_at(data + 4));
                cols = cols.max(u16_at(data + 10));
            }
            // Cell records (blank, number, label, bool/error, RK, label SST, rich
            // string, formula, multiple RK/blank): row and column come first.
            0x0201 | 0x0203 | 0x0204 | 0x0205 | 0x027E | 0x00FD | 0x00D6 | 0x0006 | 0x00BD | 0x00BE if len >= 6 => {
                let last_col = if matches!(typ, 0x00BD | 0x00BE) { u16_at(data + len - 2) } else { u16_at(data + 2) };
                rows = rows.max(u16_at(data) + 1);
                cols = cols.max(last_col + 1);
            }
            _ => {}
        }
        i = data + len;
    }
    if rows > u64::from(MAX_ROWS) || cols > u64::from(MAX_COLS) || rows * cols > MAX_XLS_CELLS {
        return Err(too_big(rows, cols));
    }
    Ok(())
}

/// Cells as text. A number that a double holds exactly (below 2^53: household
/// and region codes) is written out in full; a larger one (an 18-digit ID
/// number Excel stored as a number, already rounded) stays in scientific
/// notation, so the parser can refuse it instead of importing wrong digits.
fn cell_text(c: &calamine::Data) -> String {
    use calamine::Data;
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => format!("{}", *f as i64),
        Data::Float(f) if f.abs() >= 1e15 => format!("{f:E}"),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d.as_datetime().map(|d| d.date().to_string()).unwrap_or_default(),
        Data::DateTimeIso(s) => s.chars().take(10).collect(),
        other => other.to_string(),
    }
}

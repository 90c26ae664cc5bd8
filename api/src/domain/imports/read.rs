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

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, RowError> {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| err(0, None, msg!(IMPORT_WORKBOOK, format = ".xlsx", detail = e)))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| err(0, None, msg!(IMPORT_NO_SHEET)))?
        .map_err(|e| err(0, None, msg!(IMPORT_SHEET, detail = e)))?;
    Ok(cells(&range))
}

/// The legacy Excel 97–2003 format, which county offices still send.
fn read_xls(bytes: &[u8]) -> Result<Vec<Vec<String>>, RowError> {
    use calamine::{Reader, Xls};
    let mut wb: Xls<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| err(0, None, msg!(IMPORT_WORKBOOK, format = ".xls", detail = e)))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| err(0, None, msg!(IMPORT_NO_SHEET)))?
        .map_err(|e| err(0, None, msg!(IMPORT_SHEET, detail = e)))?;
    Ok(cells(&range))
}

/// Cells as text. A number that a double holds exactly (below 2^53: household
/// and region codes) is written out in full; a larger one (an 18-digit ID
/// number Excel stored as a number, already rounded) stays in scientific
/// notation, so the parser can refuse it instead of importing wrong digits.
fn cells(range: &calamine::Range<calamine::Data>) -> Vec<Vec<String>> {
    use calamine::Data;
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
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
                })
                .collect()
        })
        .collect()
}

//! A small EXIF reader for what the checks need: capture time, its offset,
//! GPS position and orientation. Phones write layouts a strict reader refuses
//! (sub-IFDs without the next-IFD field, GPS tags in odd places, offsets past
//! the end of a short segment); kamadak-exif gave up on the whole block and
//! the photo checks went silent. This one reads each entry it can reach,
//! bounds-checked, and skips what it cannot.

use std::collections::HashMap;

/// The tags read, by (IFD, tag) → value.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tags {
    pub date_time_original: Option<String>,
    pub date_time: Option<String>,
    pub offset_time_original: Option<String>,
    pub orientation: Option<u16>,
    pub gps_latitude: Option<f64>,
    pub gps_latitude_ref: Option<String>,
    pub gps_longitude: Option<f64>,
    pub gps_longitude_ref: Option<String>,
}

/// The TIFF block inside a JPEG's APP1 `Exif\0\0` segment (None without one).
pub fn tiff_block(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Some(bytes);
    }
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    while i + 4 <= bytes.len() && bytes[i] == 0xFF {
        let marker = bytes[i + 1];
        if marker == 0xD8 || (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            i += 2;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            return None; // image data starts: no EXIF before it
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        let body = bytes.get(i + 4..(i + 2 + len).min(bytes.len()))?;
        if marker == 0xE1 && body.starts_with(b"Exif\0\0") {
            return Some(&body[6..]);
        }
        i += 2 + len.max(2);
    }
    None
}

struct Tiff<'a> {
    b: &'a [u8],
    little: bool,
}

impl Tiff<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let s = self.b.get(at..at.checked_add(2)?)?;
        Some(if self.little { u16::from_le_bytes([s[0], s[1]]) } else { u16::from_be_bytes([s[0], s[1]]) })
    }
    fn u32(&self, at: usize) -> Option<u32> {
        let s: [u8; 4] = self.b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.little { u32::from_le_bytes(s) } else { u32::from_be_bytes(s) })
    }

    /// An IFD's entries: tag → (type, count, where the value is). The
    /// next-IFD field after the entries is not needed and not required.
    fn ifd(&self, at: usize) -> HashMap<u16, (u16, u32, usize)> {
        let mut out = HashMap::new();
        let Some(n) = self.u16(at) else { return out };
        for k in 0..n.min(512) as usize {
            let e = at + 2 + k * 12;
            let (Some(tag), Some(typ), Some(count)) = (self.u16(e), self.u16(e + 2), self.u32(e + 4)) else { break };
            let size = match typ {
                1 | 2 | 6 | 7 => 1,
                3 | 8 => 2,
                4 | 9 | 11 => 4,
                5 | 10 | 12 => 8,
                _ => continue,
            } * count as usize;
            let value_at =
                if size <= 4 { e.saturating_add(8) } else { self.u32(e + 8).map_or(usize::MAX, |o| o as usize) };
            out.insert(tag, (typ, count, value_at));
        }
        out
    }

    fn text(&self, (typ, count, at): (u16, u32, usize)) -> Option<String> {
        if typ != 2 {
            return None;
        }
        let raw = self.b.get(at..at.checked_add(count as usize)?)?;
        let s: String = String::from_utf8_lossy(raw).trim_end_matches('\0').trim().to_owned();
        (!s.is_empty()).then_some(s)
    }

    fn short(&self, (typ, _, at): (u16, u32, usize)) -> Option<u16> {
        match typ {
            3 => self.u16(at),
            4 => self.u32(at).and_then(|v| u16::try_from(v).ok()),
            _ => None,
        }
    }

    /// Degrees from three rationals (degrees, minutes, seconds).
    fn degrees(&self, (typ, count, at): (u16, u32, usize)) -> Option<f64> {
        if typ != 5 || count < 3 {
            return None;
        }
        let r = |i: usize| -> Option<f64> {
            let o = at.checked_add(i * 8)?;
            let (n, d) = (self.u32(o)?, self.u32(o.checked_add(4)?)?);
            (d != 0).then(|| f64::from(n) / f64::from(d))
        };
        let v = r(0)? + r(1).unwrap_or(0.0) / 60.0 + r(2).unwrap_or(0.0) / 3600.0;
        v.is_finite().then_some(v)
    }
}

/// The tags from a JPEG or a bare TIFF block; whatever cannot be read is None.
pub fn read(bytes: &[u8]) -> Tags {
    let Some(b) = tiff_block(bytes) else { return Tags::default() };
    let little = match b.get(..2) {
        Some(b"II") => true,
        Some(b"MM") => false,
        _ => return Tags::default(),
    };
    let t = Tiff { b, little };
    let Some(first) = t.u32(4) else { return Tags::default() };
    let ifd0 = t.ifd(first as usize);
    let pointer =
        |ifd: &HashMap<u16, (u16, u32, usize)>, tag| ifd.get(&tag).and_then(|e| t.u32(e.2)).map(|o| o as usize);
    let exif = pointer(&ifd0, 0x8769).map(|o| t.ifd(o)).unwrap_or_default();
    let gps = pointer(&ifd0, 0x8825).or_else(|| pointer(&exif, 0x8825)).map(|o| t.ifd(o)).unwrap_or_default();
    // Some writers put a tag in IFD0 that belongs in the EXIF IFD; look in both.
    let either = |tag| exif.get(&tag).or_else(|| ifd0.get(&tag)).copied();
    Tags {
        date_time_original: either(0x9003).and_then(|e| t.text(e)),
        date_time: ifd0.get(&0x0132).and_then(|e| t.text(*e)),
        offset_time_original: either(0x9011).and_then(|e| t.text(e)),
        orientation: ifd0.get(&0x0112).and_then(|e| t.short(*e)).filter(|o| (1..=8).contains(o)),
        gps_latitude_ref: gps.get(&1).and_then(|e| t.text(*e)),
        gps_latitude: gps.get(&2).and_then(|e| t.degrees(*e)),
        gps_longitude_ref: gps.get(&3).and_then(|e| t.text(*e)),
        gps_longitude: gps.get(&4).and_then(|e| t.degrees(*e)),
    }
}

#[cfg(test)]
mod tests;

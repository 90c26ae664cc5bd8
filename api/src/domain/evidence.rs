//! What a photo tells: EXIF capture time and GPS, a perceptual hash for
//! near-duplicates, quality figures for on-site hints, and a thumbnail.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use image::{DynamicImage, GenericImageView};

#[derive(Debug, Clone, PartialEq)]
pub struct Exif {
    /// Capture time (EXIF DateTimeOriginal, read in the campaign's time zone unless an offset is recorded).
    pub taken_at: Option<DateTime<Utc>>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// EXIF orientation 1–8 (1: as stored).
    pub orientation: u16,
}

impl Default for Exif {
    fn default() -> Self {
        Self { taken_at: None, latitude: None, longitude: None, orientation: 1 }
    }
}

/// Reads EXIF from JPEG (or other) bytes; missing or broken EXIF gives nothing, not an error.
pub fn read_exif(bytes: &[u8], tz: chrono_tz::Tz) -> Exif {
    let t = crate::domain::exif::read(bytes);
    let taken_at = t.date_time_original.clone().or(t.date_time.clone()).and_then(|s| {
        let naive = NaiveDateTime::parse_from_str(&s, "%Y:%m:%d %H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S"))
            .ok()?;
        match t.offset_time_original.as_deref().and_then(chrono::FixedOffset::from_str_offset) {
            Some(off) => off.from_local_datetime(&naive).single().map(|t| t.with_timezone(&Utc)),
            None => tz.from_local_datetime(&naive).single().map(|t| t.with_timezone(&Utc)),
        }
    });
    let signed = |v: Option<f64>, r: &Option<String>, negative: &str| {
        v.map(|v| if r.as_deref().is_some_and(|r| r.starts_with(negative)) { -v } else { v })
    };
    Exif {
        taken_at,
        latitude: signed(t.gps_latitude, &t.gps_latitude_ref, "S").filter(|v| (-90.0..=90.0).contains(v)),
        longitude: signed(t.gps_longitude, &t.gps_longitude_ref, "W").filter(|v| (-180.0..=180.0).contains(v)),
        orientation: t.orientation.unwrap_or(1),
    }
}

/// The image as it should be seen: EXIF orientation applied (phones store
/// portraits sideways, with orientation 6) and transparency laid on white
/// (a PNG's clear background turned black in thumbnails).
pub fn upright(img: DynamicImage, orientation: u16) -> DynamicImage {
    let img = if img.color().has_alpha() {
        let rgba = img.to_rgba8();
        let mut white = image::RgbImage::from_pixel(rgba.width(), rgba.height(), image::Rgb([255, 255, 255]));
        for (x, y, p) in rgba.enumerate_pixels() {
            let a = f32::from(p[3]) / 255.0;
            let mix = |c: u8| (f32::from(c) * a + 255.0 * (1.0 - a)).round() as u8;
            white.put_pixel(x, y, image::Rgb([mix(p[0]), mix(p[1]), mix(p[2])]));
        }
        DynamicImage::ImageRgb8(white)
    } else {
        img
    };
    match orientation {
        2 => img.fliph(),
        3 => img.rotate180(),
        4 => img.flipv(),
        5 => img.rotate90().fliph(),
        6 => img.rotate90(),
        7 => img.rotate270().fliph(),
        8 => img.rotate270(),
        _ => img,
    }
}

trait FromStrOffset {
    fn from_str_offset(s: &str) -> Option<chrono::FixedOffset>;
}
impl FromStrOffset for chrono::FixedOffset {
    fn from_str_offset(s: &str) -> Option<chrono::FixedOffset> {
        let sign = if s.starts_with('-') { -1 } else { 1 };
        let t = s.trim_start_matches(['+', '-']);
        let (h, m) = t.split_once(':')?;
        chrono::FixedOffset::east_opt(sign * (h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60))
    }
}

/// dHash: 64 bits comparing neighbouring pixels of a 9×8 grey thumbnail. The same
/// photo resized or re-compressed keeps (nearly) the same bits.
pub fn dhash(img: &DynamicImage) -> i64 {
    let small = img.resize_exact(9, 8, image::imageops::FilterType::Triangle).to_luma8();
    let mut bits: u64 = 0;
    for y in 0..8 {
        for x in 0..8 {
            bits <<= 1;
            if small.get_pixel(x, y)[0] > small.get_pixel(x + 1, y)[0] {
                bits |= 1;
            }
        }
    }
    bits as i64
}

pub fn hamming(a: i64, b: i64) -> u32 {
    ((a ^ b) as u64).count_ones()
}

/// Mean luminance (0–255) and variance of the Laplacian, on a copy at most 512 px wide.
pub fn quality(img: &DynamicImage) -> (f64, f64) {
    let (w, _) = img.dimensions();
    let g = if w > 512 { img.resize(512, 512, image::imageops::FilterType::Triangle) } else { img.clone() }.to_luma8();
    let (w, h) = g.dimensions();
    let n = (w * h).max(1) as f64;
    let mean = g.pixels().map(|p| p[0] as f64).sum::<f64>() / n;
    let mut lap = Vec::with_capacity((w.saturating_sub(2) * h.saturating_sub(2)) as usize);
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let c = g.get_pixel(x, y)[0] as f64;
            let l = g.get_pixel(x - 1, y)[0] as f64
                + g.get_pixel(x + 1, y)[0] as f64
                + g.get_pixel(x, y - 1)[0] as f64
                + g.get_pixel(x, y + 1)[0] as f64
                - 4.0 * c;
            lap.push(l);
        }
    }
    let m = lap.iter().sum::<f64>() / lap.len().max(1) as f64;
    let var = lap.iter().map(|l| (l - m) * (l - m)).sum::<f64>() / lap.len().max(1) as f64;
    (mean, var)
}

/// A JPEG thumbnail 320 px wide.
pub fn thumbnail(img: &DynamicImage) -> Result<Vec<u8>, String> {
    let t = img.resize(320, 320 * 4, image::imageops::FilterType::Triangle).to_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    t.write_to(&mut out, image::ImageFormat::Jpeg).map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// Great-circle distance in metres.
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    6_371_000.0 * 2.0 * a.sqrt().atan2((1.0 - a).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dhash_survives_resizing_and_separates_different_images() {
        let a = DynamicImage::ImageRgb8(image::RgbImage::from_fn(400, 300, |x, y| {
            image::Rgb([(x / 3) as u8, (y / 2) as u8, ((x + y) / 5) as u8])
        }));
        let b = a.resize(200, 150, image::imageops::FilterType::Triangle);
        let c = DynamicImage::ImageRgb8(image::RgbImage::from_fn(400, 300, |x, y| {
            image::Rgb([(255 - x / 3) as u8, (y * 7 % 256) as u8, 0])
        }));
        assert!(hamming(dhash(&a), dhash(&b)) <= 6);
        assert!(hamming(dhash(&a), dhash(&c)) > 10);
        assert!((distance_m(37.35, 115.97, 37.36, 115.97) - 1112.0).abs() < 5.0);
    }
}

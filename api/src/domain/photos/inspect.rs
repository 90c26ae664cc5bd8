//! Validation of uploaded bytes: the type is sniffed, the size bounded, and
//! the whole image decoded within a pixel limit, or it is refused.

use sha2::{Digest, Sha256};

/// Decoding is refused above this many pixels (decompression bombs).
pub const MAX_PIXELS: u64 = 50_000_000;

/// What validation learned about an accepted image.
pub struct Inspected {
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub image: image::DynamicImage,
}

/// Sniffs, bounds and fully decodes the bytes; anything else is refused.
pub fn inspect(bytes: &[u8], declared: &str) -> Result<Inspected, String> {
    let format = image::guess_format(bytes).map_err(|_| "not an image (JPEG, PNG or WebP)".to_string())?;
    let actual = match format {
        image::ImageFormat::Jpeg => "image/jpeg",
        image::ImageFormat::Png => "image/png",
        image::ImageFormat::WebP => "image/webp",
        _ => return Err("only JPEG, PNG and WebP photos are accepted".into()),
    };
    if actual != declared {
        return Err(format!("the file is {actual}, not {declared} as declared"));
    }
    // Decoders fill a cut-off JPEG with grey; a complete one ends with the EOI marker.
    if format == image::ImageFormat::Jpeg {
        let end = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
        if end < 2 || bytes[end - 2..end] != [0xFF, 0xD9] {
            return Err("the JPEG is truncated (it has no end marker)".into());
        }
    }
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes));
    reader.set_format(format);
    let (w, h) = reader.into_dimensions().map_err(|e| format!("unreadable image: {e}"))?;
    if (w as u64) * (h as u64) > MAX_PIXELS {
        return Err(format!("{w}×{h} pixels is more than the {} megapixels allowed", MAX_PIXELS / 1_000_000));
    }
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes));
    reader.set_format(format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    limits.max_alloc = Some(MAX_PIXELS * 4 + 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| format!("the image is damaged or truncated: {e}"))?;
    Ok(Inspected { sha256: hex::encode(Sha256::digest(bytes)), width: w, height: h, image })
}

//! Application photos: JPEG or PNG, exactly 358×441 pixels (the card photo standard: 358×441 px,
//! 350 dpi, white background). The format is recognised by its magic bytes and the size read
//! from the image header (PNG `IHDR`, JPEG `SOFn`); the pixels themselves are not decoded.

use serde::Serialize;

use crate::error::{ErrorKind, ServiceError};

/// Required photo width in pixels.
pub const WIDTH: u32 = 358;
/// Required photo height in pixels.
pub const HEIGHT: u32 = 441;
/// Largest accepted file.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

/// A checked photo's format and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PhotoInfo {
    /// `image/jpeg` or `image/png`.
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// `PHOTO_FORMAT`: not a readable JPEG or PNG.
pub fn format_error(what: &str) -> ServiceError {
    ServiceError::new(
        ErrorKind::BadRequest,
        "PHOTO_FORMAT",
        format!("照片格式无效:须为 JPEG 或 PNG 图片({what})"),
        format!("Invalid photo: it must be a JPEG or PNG image ({what})"),
    )
}

/// `PHOTO_MISSING`: no photo was given and none is on file.
pub fn missing_error() -> ServiceError {
    ServiceError::new(
        ErrorKind::BadRequest,
        "PHOTO_MISSING",
        "缺少本人照片(358×441 像素,白色背景)",
        "The applicant's photo is missing (358×441 pixels, white background)",
    )
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

const PNG_MAGIC: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Reads a PNG's size from its first chunk, which must be `IHDR`.
fn png_size(b: &[u8]) -> Option<(u32, u32)> {
    if b.get(12..16)? != b"IHDR" || be32(b, 8)? < 8 {
        return None;
    }
    Some((be32(b, 16)?, be32(b, 20)?))
}

/// Walks a JPEG's marker segments up to the first start-of-frame (`SOF0`-`SOF15` except
/// `DHT` C4, `JPG` C8 and `DAC` CC) and reads the frame's size.
fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    loop {
        if *b.get(i)? != 0xFF {
            return None;
        }
        let mut marker = *b.get(i + 1)?;
        i += 1;
        // Fill bytes: any number of 0xFF before the marker.
        while marker == 0xFF {
            i += 1;
            marker = *b.get(i)?;
        }
        i += 1;
        match marker {
            // Stand-alone markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            // End of image or start of scan before any frame header.
            0xD9 | 0xDA => return None,
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                let height = be16(b, i + 3)?;
                let width = be16(b, i + 5)?;
                return Some((width, height));
            }
            _ => {
                let len = be16(b, i)? as usize;
                if len < 2 {
                    return None;
                }
                i += len;
            }
        }
    }
}

/// Checks a photo: JPEG or PNG by magic bytes (`PHOTO_FORMAT`), at most [`MAX_BYTES`]
/// (`PHOTO_TOO_LARGE`), exactly [`WIDTH`]×[`HEIGHT`] pixels (`PHOTO_SIZE`).
pub fn check(bytes: &[u8]) -> Result<PhotoInfo, ServiceError> {
    if bytes.len() > MAX_BYTES {
        return Err(ServiceError::new(
            ErrorKind::BadRequest,
            "PHOTO_TOO_LARGE",
            format!("照片文件过大(不超过 {} KB)", MAX_BYTES / 1024),
            format!(
                "The photo file is too large (at most {} KB)",
                MAX_BYTES / 1024
            ),
        ));
    }
    let (content_type, size) = if bytes.starts_with(&PNG_MAGIC) {
        ("image/png", png_size(bytes))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        ("image/jpeg", jpeg_size(bytes))
    } else {
        return Err(format_error("unrecognised file / 无法识别的文件"));
    };
    let Some((width, height)) = size else {
        return Err(format_error("damaged header / 文件头损坏"));
    };
    if (width, height) != (WIDTH, HEIGHT) {
        return Err(ServiceError::new(
            ErrorKind::BadRequest,
            "PHOTO_SIZE",
            format!("照片尺寸为 {width}×{height} 像素,须为 {WIDTH}×{HEIGHT} 像素"),
            format!("The photo is {width}×{height} pixels; it must be {WIDTH}×{HEIGHT}"),
        ));
    }
    Ok(PhotoInfo {
        content_type,
        width,
        height,
    })
}

/// A minimal PNG header of the given size (signature, `IHDR`, `IEND`): enough for [`check`].
/// For tests and examples; not a displayable image.
pub fn sample_png(width: u32, height: u32) -> Vec<u8> {
    let mut b = PNG_MAGIC.to_vec();
    b.extend_from_slice(&13u32.to_be_bytes());
    b.extend_from_slice(b"IHDR");
    b.extend_from_slice(&width.to_be_bytes());
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&[8, 2, 0, 0, 0]);
    b.extend_from_slice(&[0, 0, 0, 0]); // CRC (not checked)
    b.extend_from_slice(&0u32.to_be_bytes());
    b.extend_from_slice(b"IEND");
    b.extend_from_slice(&[0xAE, 0x42, 0x60, 0x82]);
    b
}

/// A minimal JPEG header of the given size (SOI, an APP0 segment, SOF0, EOI): enough for
/// [`check`]. For tests and examples; not a displayable image.
pub fn sample_jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8];
    // APP0 "JFIF" with a 16-byte segment.
    b.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10]);
    b.extend_from_slice(b"JFIF\0");
    b.extend_from_slice(&[1, 1, 1, 0x01, 0x5E, 0x01, 0x5E, 0, 0]);
    // SOF0: length 17, precision 8, height, width, 3 components.
    b.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&width.to_be_bytes());
    b.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    b.extend_from_slice(&[0xFF, 0xD9]);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_standard_size() {
        let p = check(&sample_png(358, 441)).unwrap();
        assert_eq!(p.content_type, "image/png");
        let j = check(&sample_jpeg(358, 441)).unwrap();
        assert_eq!(
            (j.content_type, j.width, j.height),
            ("image/jpeg", 358, 441)
        );
    }

    #[test]
    fn refuses_other_sizes_and_formats() {
        assert_eq!(check(&sample_png(441, 358)).unwrap_err().code, "PHOTO_SIZE");
        assert_eq!(
            check(&sample_jpeg(300, 441)).unwrap_err().code,
            "PHOTO_SIZE"
        );
        assert_eq!(check(b"GIF89a....").unwrap_err().code, "PHOTO_FORMAT");
        assert_eq!(check(&[]).unwrap_err().code, "PHOTO_FORMAT");
        // Truncated headers.
        assert_eq!(
            check(&sample_png(358, 441)[..18]).unwrap_err().code,
            "PHOTO_FORMAT"
        );
        assert_eq!(
            check(&sample_jpeg(358, 441)[..12]).unwrap_err().code,
            "PHOTO_FORMAT"
        );
        // A JPEG whose scan starts before any frame header.
        assert_eq!(
            check(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]).unwrap_err().code,
            "PHOTO_FORMAT"
        );
        let big = vec![0u8; MAX_BYTES + 1];
        assert_eq!(check(&big).unwrap_err().code, "PHOTO_TOO_LARGE");
    }

    #[test]
    fn skips_fill_bytes_and_restart_markers() {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xFF, 0xD0];
        b.extend_from_slice(&sample_jpeg(358, 441)[2..]);
        assert!(check(&b).is_ok());
    }
}

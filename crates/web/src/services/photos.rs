//! Photos of a matter (issue 3): checked by their content (JPEG, PNG or WebP, decoded with size
//! limits), stored under the data directory by content hash, with a JPEG thumbnail. What is
//! stored is never the upload itself but the picture encoded anew (issue 6): a phone's EXIF
//! block — the GPS position of a resident's home among it — and anything hidden in or after
//! the image data stay behind; the EXIF orientation is applied first, so the picture still
//! stands the right way up.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// Photos one matter may carry.
pub const MAX_PHOTOS: usize = 5;
/// Bytes one photo may have.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
const MAX_SIDE: u32 = 12_000;
/// Longer sides are scaled down to this when stored (a phone's 50 MP is not needed as evidence).
const STORED_SIDE: u32 = 4096;
const THUMB: u32 = 320;

/// A checked photo, ready to be stored.
#[derive(Debug, Clone)]
pub struct Photo {
    pub sha256: String,
    pub mime: &'static str,
    pub ext: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
    pub thumbnail: Vec<u8>,
}

/// The format by the first bytes, whatever the file name or declared type says.
fn sniff(b: &[u8]) -> Option<ImageFormat> {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if b.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(ImageFormat::Png)
    } else if b.len() > 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some(ImageFormat::WebP)
    } else {
        None
    }
}

/// Checks one upload (`n` counts from 1 for the message) and makes its thumbnail.
pub fn check(n: usize, bytes: Vec<u8>) -> Result<Photo, AppError> {
    let field = |m: String| AppError::field("photos", m);
    if bytes.len() > MAX_BYTES {
        return Err(field(format!("第{n}张照片超过 10 MB")));
    }
    let format = sniff(&bytes)
        .ok_or_else(|| field(format!("第{n}张不是照片：只接受 JPEG、PNG 或 WebP 格式")))?;
    let mut reader = ImageReader::with_format(Cursor::new(&bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let broken = || field(format!("第{n}张照片已损坏或尺寸过大，无法打开"));
    let mut decoder = reader.into_decoder().map_err(|_| broken())?;
    let orientation = image::ImageDecoder::orientation(&mut decoder)
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = image::DynamicImage::from_decoder(decoder).map_err(|_| broken())?;
    img.apply_orientation(orientation);
    if img.width().max(img.height()) > STORED_SIDE {
        img = img.resize(
            STORED_SIDE,
            STORED_SIDE,
            image::imageops::FilterType::Triangle,
        );
    }
    // PNG stays PNG (drawings, screenshots, transparency); photos become JPEG.
    let (stored_format, mime, ext) = match format {
        ImageFormat::Png => (ImageFormat::Png, "image/png", "png"),
        _ => (ImageFormat::Jpeg, "image/jpeg", "jpg"),
    };
    let mut stored = Vec::new();
    let encoded = if stored_format == ImageFormat::Jpeg {
        img.to_rgb8()
            .write_to(&mut Cursor::new(&mut stored), ImageFormat::Jpeg)
    } else {
        img.write_to(&mut Cursor::new(&mut stored), ImageFormat::Png)
    };
    encoded.map_err(|e| AppError::Internal(format!("photo encoding: {e}")))?;
    let bytes = stored;
    let mut thumbnail = Vec::new();
    img.thumbnail(THUMB, THUMB)
        .to_rgb8()
        .write_to(&mut Cursor::new(&mut thumbnail), ImageFormat::Jpeg)
        .map_err(|e| AppError::Internal(format!("thumbnail: {e}")))?;
    Ok(Photo {
        sha256: hex::encode(Sha256::digest(&bytes)),
        mime,
        ext,
        width: img.width(),
        height: img.height(),
        bytes,
        thumbnail,
    })
}

/// Where a photo lives: `<data>/photos/ab/abcdef….jpg` (and `….thumb.jpg`).
pub fn path(data_dir: &Path, sha256: &str, ext: &str, thumb: bool) -> PathBuf {
    let name = if thumb {
        format!("{sha256}.thumb.jpg")
    } else {
        format!("{sha256}.{ext}")
    };
    data_dir
        .join("photos")
        .join(sha256.get(..2).unwrap_or("00"))
        .join(name)
}

/// Writes the files (idempotent: the same content lands on the same name), through a temporary
/// file and a rename so a crash never leaves half a photo.
pub fn save(data_dir: &Path, p: &Photo) -> Result<(), AppError> {
    let io = |e: std::io::Error| AppError::Internal(format!("photo storage: {e}"));
    for (thumb, bytes) in [(false, &p.bytes), (true, &p.thumbnail)] {
        let target = path(data_dir, &p.sha256, p.ext, thumb);
        if target.exists() {
            continue;
        }
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = target.with_extension("part");
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, &target).map_err(io)?;
    }
    Ok(())
}

/// A stored photo's bytes (or its JPEG thumbnail) and the type to send them with; a file gone
/// from the data directory is "not found".
pub async fn read(
    data_dir: &Path,
    sha256: &str,
    mime: &str,
    thumb: bool,
) -> Result<(String, Vec<u8>), AppError> {
    let bytes = tokio::fs::read(path(data_dir, sha256, ext_of(mime), thumb))
        .await
        .map_err(|_| AppError::NotFound)?;
    Ok((if thumb { "image/jpeg" } else { mime }.to_string(), bytes))
}

/// A stored photo as an answer: its own type, never sniffed into anything else, shown inline
/// under a policy that runs nothing (a picture served from the application's origin must not
/// be able to act as a page).
pub fn response((mime, bytes): (String, Vec<u8>)) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let name = format!("inline; filename=\"photo.{}\"", ext_of(&mime));
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "private, max-age=86400".into()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            (header::CONTENT_DISPOSITION, name),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".into(),
            ),
        ],
        bytes,
    )
        .into_response()
}

pub fn ext_of(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/webp" => "webp",
        _ => "jpg",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 30, 30]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn photos_are_checked_by_content_and_get_a_thumbnail() {
        let p = check(1, png(800, 600)).unwrap();
        assert_eq!((p.mime, p.width, p.height), ("image/png", 800, 600));
        assert!(
            p.thumbnail.starts_with(&[0xFF, 0xD8, 0xFF]),
            "thumbnails are JPEG"
        );
        let msg = |r: Result<Photo, AppError>| match r {
            Err(AppError::Validation(f)) => f.get("photos").unwrap_or("").to_string(),
            other => panic!("{other:?}"),
        };
        assert!(msg(check(2, b"<script>alert(1)</script>".to_vec())).contains("第2张不是照片"));
        let mut broken = png(10, 10);
        broken.truncate(30);
        assert!(msg(check(3, broken)).contains("已损坏"));
        assert!(msg(check(4, vec![0xFF; MAX_BYTES + 1])).contains("超过 10 MB"));
    }

    #[test]
    fn stored_once_by_content_hash() {
        let dir = std::env::temp_dir().join(format!("rt-photos-{}", std::process::id()));
        let p = check(1, png(20, 20)).unwrap();
        save(&dir, &p).unwrap();
        save(&dir, &p).unwrap();
        let file = path(&dir, &p.sha256, p.ext, false);
        assert_eq!(std::fs::read(&file).unwrap(), p.bytes);
        assert!(path(&dir, &p.sha256, p.ext, true).exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A phone's JPEG: an EXIF block (orientation 6: turned a quarter to the right, and a GPS
    /// position) after the start marker, and bytes hidden after the image's end.
    fn phone_jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([30, 120, 200]));
        let mut jpeg = Vec::new();
        img.write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .unwrap();
        // TIFF (big-endian) with one IFD of two entries: Orientation = 6, GPSInfo offset.
        let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
        tiff.extend_from_slice(&[0, 2]);
        tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
        tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38]);
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        tiff.extend_from_slice(b"GPSLatitude 28.6829N 115.8579E home of the resident");
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let len = (app1.len() + 2) as u16;
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&jpeg[2..]);
        out.extend_from_slice(b"<html><script>alert(1)</script>");
        out
    }

    #[test]
    fn the_stored_photo_is_encoded_anew_without_its_metadata_and_upright() {
        let upload = phone_jpeg(64, 48);
        assert!(upload.windows(4).any(|w| w == b"Exif"));
        let p = check(1, upload).unwrap();
        assert_eq!(p.mime, "image/jpeg");
        for hidden in [&b"Exif"[..], b"GPS", b"script"] {
            assert!(
                !p.bytes.windows(hidden.len()).any(|w| w == hidden),
                "{} left in the stored photo",
                String::from_utf8_lossy(hidden)
            );
        }
        // Orientation 6 applied: the 64×48 picture stands 48×64.
        assert_eq!((p.width, p.height), (48, 64));
        let stored = image::load_from_memory(&p.bytes).unwrap();
        assert_eq!((stored.width(), stored.height()), (48, 64));
        // A WebP upload is kept as JPEG; a very large one is scaled to STORED_SIDE.
        let big = image::RgbImage::from_pixel(5000, 100, image::Rgb([1, 2, 3]));
        let mut png_big = Vec::new();
        big.write_to(&mut Cursor::new(&mut png_big), ImageFormat::Png)
            .unwrap();
        let p = check(1, png_big).unwrap();
        assert_eq!((p.mime, p.width), ("image/png", STORED_SIDE));
    }
}

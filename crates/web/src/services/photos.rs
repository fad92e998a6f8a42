//! Photos of a matter (issue 3): checked by their content (JPEG, PNG or WebP, decoded with size
//! limits), stored under the data directory by content hash, with a JPEG thumbnail.

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
fn sniff(b: &[u8]) -> Option<(ImageFormat, &'static str, &'static str)> {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some((ImageFormat::Jpeg, "image/jpeg", "jpg"))
    } else if b.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some((ImageFormat::Png, "image/png", "png"))
    } else if b.len() > 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some((ImageFormat::WebP, "image/webp", "webp"))
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
    let (format, mime, ext) = sniff(&bytes)
        .ok_or_else(|| field(format!("第{n}张不是照片：只接受 JPEG、PNG 或 WebP 格式")))?;
    let mut reader = ImageReader::with_format(Cursor::new(&bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|_| field(format!("第{n}张照片已损坏或尺寸过大，无法打开")))?;
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
}

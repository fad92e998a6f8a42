//! What a fingerprint stands for (issue 6): anyone with a printed notice or resolution asks
//! what was published under its fingerprint, and when; `intact` says the kept text still has
//! that digest.

use roundtable_store::Db;
use roundtable_store::fingerprints::{self, Fingerprint};

use crate::error::AppError;

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Verified {
    pub code: String,
    /// The whole SM3 digest (hex) of `content`
    pub digest: String,
    /// notice or resolution
    pub kind: String,
    /// 项目公示 / 协商决议
    pub kind_label: String,
    pub published_at: chrono::DateTime<chrono::Utc>,
    /// What was published, exactly as fingerprinted
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    /// The kept text still hashes to the digest
    pub intact: bool,
}

fn verified(f: Fingerprint) -> Verified {
    let intact = fingerprints::digest(&f.content).1 == f.digest;
    Verified {
        kind_label: match f.kind.as_str() {
            "notice" => "项目公示",
            "resolution" => "协商决议",
            _ => "公开文书",
        }
        .into(),
        content: serde_json::from_str(&f.content).unwrap_or(serde_json::Value::Null),
        intact,
        code: f.code,
        digest: f.digest,
        kind: f.kind,
        published_at: f.published_at,
    }
}

pub async fn verify(db: &Db, code: &str) -> Result<Verified, AppError> {
    let code = fingerprints::normalise(code).ok_or_else(|| {
        AppError::field(
            "fingerprint",
            "指纹应为16位十六进制数字（0–9、A–F），例如 3F2A-9C01-77DE-B410",
        )
    })?;
    let f = fingerprints::by_code(&mut db.pool(), &code)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(verified(f))
}

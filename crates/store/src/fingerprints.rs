//! Fingerprints of what was published (issue 6): the SM3 digest of the exact text of a notice
//! version or a filed resolution, kept with that text. Unkeyed on purpose: anyone holding the
//! printed copy's text can recompute it; the audit chain records each fingerprint when it is
//! made, so the row cannot be changed unseen.

use chrono::{DateTime, Utc};
use sm3::{Digest, Sm3};

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{StoreError, args};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Fingerprint {
    /// 16 hex digits in four groups, e.g. 3F2A-9C01-77DE-B410
    pub code: String,
    /// The whole SM3 digest (64 hex digits) of `content`
    pub digest: String,
    /// notice or resolution
    pub kind: String,
    pub case_id: i64,
    /// The notice's or the meeting's id
    pub record_id: i64,
    /// Exactly the text the digest was computed over (JSON)
    pub content: String,
    pub published_at: DateTime<Utc>,
}

impl FromRow for Fingerprint {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Fingerprint {
            code: r.get("code")?,
            digest: r.get("digest")?,
            kind: r.get("kind")?,
            case_id: r.get("case_id")?,
            record_id: r.get("record_id")?,
            content: r.get("content")?,
            published_at: r.get("published_at")?,
        })
    }
}

/// The SM3 digest of `content` (hex) and its readable code.
pub fn digest(content: &str) -> (String, String) {
    let hex: String = Sm3::digest(content.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let upper = hex[..16].to_ascii_uppercase();
    let code = format!(
        "{}-{}-{}-{}",
        &upper[..4],
        &upper[4..8],
        &upper[8..12],
        &upper[12..16]
    );
    (code, hex)
}

/// A code as typed (any case, with or without the dashes or spaces), or `None` when it cannot
/// be one.
pub fn normalise(code: &str) -> Option<String> {
    let hex: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .collect::<String>()
        .to_ascii_uppercase();
    (hex.len() == 16 && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| {
        format!(
            "{}-{}-{}-{}",
            &hex[..4],
            &hex[4..8],
            &hex[8..12],
            &hex[12..16]
        )
    })
}

const SELECT: &str =
    "SELECT code, digest, kind, case_id, record_id, content, published_at FROM fingerprints";

/// Records the fingerprint of `content`, published now.
pub async fn insert(
    e: &mut impl Exec,
    kind: &str,
    case_id: i64,
    record_id: i64,
    content: &str,
) -> Result<Fingerprint, StoreError> {
    let (code, digest) = digest(content);
    let f = Fingerprint {
        code,
        digest,
        kind: kind.to_string(),
        case_id,
        record_id,
        content: content.to_string(),
        published_at: chrono::SubsecRound::trunc_subsecs(crate::now(), 6),
    };
    e.execute(Sql::with(
        "INSERT INTO fingerprints (code, digest, kind, case_id, record_id, content, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![&f.code, &f.digest, &f.kind, f.case_id, f.record_id, &f.content, f.published_at],
    ))
    .await?;
    Ok(f)
}

pub async fn by_code(e: &mut impl Exec, code: &str) -> Result<Option<Fingerprint>, StoreError> {
    e.fetch_optional(Sql::with(&format!("{SELECT} WHERE code = $1"), args![code]))
        .await
}

/// The code of one record's fingerprint (the unique (kind, record) index).
pub async fn code_of(
    e: &mut impl Exec,
    kind: &str,
    record_id: i64,
) -> Result<Option<String>, StoreError> {
    e.fetch_optional(Sql::with(
        "SELECT code FROM fingerprints WHERE kind = $1 AND record_id = $2",
        args![kind, record_id],
    ))
    .await
}

/// A case's fingerprints, the newest first.
pub async fn of_case(e: &mut impl Exec, case_id: i64) -> Result<Vec<Fingerprint>, StoreError> {
    e.fetch_all(Sql::with(
        &format!("{SELECT} WHERE case_id = $1 ORDER BY published_at DESC, code"),
        args![case_id],
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_the_digests_start_and_reads_back_as_typed() {
        // GB/T 32905-2016 example 1: SM3("abc").
        let (code, hex) = digest("abc");
        assert_eq!(
            hex,
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(code, "66C7-F0F4-62EE-EDD9");
        assert_eq!(
            normalise("66c7 f0f4 62ee edd9").as_deref(),
            Some(code.as_str())
        );
        assert_eq!(
            normalise("66C7F0F462EEEDD9").as_deref(),
            Some(code.as_str())
        );
        assert_eq!(normalise("66C7-F0F4-62EE"), None);
        assert_eq!(normalise("ZZC7-F0F4-62EE-EDD9"), None);
    }
}

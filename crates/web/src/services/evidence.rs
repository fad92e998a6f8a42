//! Photos as evidence of a case's records (issue 4): what a visit found (R-PROC-2), a ledger
//! item's 销号 (R-PROC-6) and an inspection (R-PROC-7). They are checked by content like a
//! matter's photos (`services::photos`), stored once by content hash under the data directory,
//! and sent only to those who may see the case. A record's photos come with the record (the
//! visit, inspection and 销号 forms) or are added to it later, while its step runs.

use std::path::{Path, PathBuf};

use roundtable_core::access::{Action, Actor, ResourceKind};
use roundtable_core::cases::{EvidenceOf, MAX_EVIDENCE_PHOTOS, Step};
use roundtable_core::project::LedgerStatus;
use roundtable_store::cases::{self as store, CasePhoto};
use roundtable_store::{Db, Tx, projects};

use super::photos::{self, Photo};
use super::{audit_event, json, require};
use crate::error::AppError;

/// Checked photos on their way to a record, and where they are kept. `Evidence::none()` for a
/// record sent without any (the JSON API).
#[derive(Debug, Default)]
pub struct Evidence {
    data_dir: PathBuf,
    photos: Vec<Photo>,
}

impl Evidence {
    pub fn none() -> Evidence {
        Evidence::default()
    }

    /// Checks the uploaded files by their content before anything is written: a bad photo
    /// refuses the whole form.
    pub fn check(data_dir: &Path, files: Vec<Vec<u8>>) -> Result<Evidence, AppError> {
        if files.len() > MAX_EVIDENCE_PHOTOS {
            return Err(AppError::field(
                "photos",
                format!("一次最多上传{MAX_EVIDENCE_PHOTOS}张照片"),
            ));
        }
        let photos = files
            .into_iter()
            .enumerate()
            .map(|(i, f)| photos::check(i + 1, f))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Evidence {
            data_dir: data_dir.to_path_buf(),
            photos,
        })
    }

    pub fn len(&self) -> usize {
        self.photos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.photos.is_empty()
    }

    /// Stores the files (content-addressed, so a retried form leaves no stray copy) and the
    /// rows, inside the record's transaction.
    pub(crate) async fn attach(
        &self,
        tx: &mut Tx,
        case_id: i64,
        of: EvidenceOf,
        record_id: i64,
    ) -> Result<(), AppError> {
        for p in &self.photos {
            photos::save(&self.data_dir, p)?;
            store::add_photo(
                tx,
                case_id,
                of.code(),
                record_id,
                &p.sha256,
                p.mime,
                p.bytes.len() as i64,
                i64::from(p.width),
                i64::from(p.height),
            )
            .await?;
        }
        Ok(())
    }
}

/// Adds photos to a record the case already has. Who may: whoever may make that record — a
/// council member or staff for a visit, the item's responsible person or staff for a ledger
/// item that is still open, staff for an inspection — while the record's step runs.
pub async fn add(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    of: EvidenceOf,
    record_id: i64,
    evidence: &Evidence,
) -> Result<Vec<CasePhoto>, AppError> {
    let mut tx = db.begin().await?;
    let c = store::get(&mut tx, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut item_open = true;
    match of {
        EvidenceOf::Visit => {
            require(actor, Action::Edit, ResourceKind::Visit, &c.org_path, None)?;
            if !store::visits(&mut tx, case_id)
                .await?
                .iter()
                .any(|v| v.id == record_id)
            {
                return Err(AppError::NotFound);
            }
        }
        EvidenceOf::LedgerItem => {
            let item = projects::ledger_item(&mut tx, case_id, record_id)
                .await?
                .ok_or(AppError::NotFound)?;
            let owner = item.owner_person_id.is_some() && item.owner_person_id == actor.person_id;
            let kind_needed = if owner { Action::View } else { Action::Edit };
            require(actor, kind_needed, ResourceKind::Case, &c.org_path, None)?;
            item_open = LedgerStatus::parse(&item.status) == Some(LedgerStatus::Open);
        }
        EvidenceOf::Inspection => {
            require(actor, Action::Edit, ResourceKind::Case, &c.org_path, None)?;
            if !projects::inspections(&mut tx, case_id)
                .await?
                .iter()
                .any(|i| i.id == record_id)
            {
                return Err(AppError::NotFound);
            }
        }
    }
    let have = store::photo_count(&mut tx, case_id, of.code(), record_id).await? as usize;
    let at = Step::parse(&c.step).unwrap_or(Step::Topic);
    of.check_add(at, item_open, have, evidence.len())
        .map_err(AppError::rule)?;
    evidence.attach(&mut tx, case_id, of, record_id).await?;
    audit_event(
        &mut tx,
        actor,
        "case.evidence",
        of.code(),
        record_id,
        json(&serde_json::json!({
            "case_id": case_id,
            "photos": evidence.photos.iter().map(|p| &p.sha256).collect::<Vec<_>>(),
        })),
    )
    .await?;
    let all = store::photos(&mut tx, case_id).await?;
    tx.commit().await?;
    Ok(all
        .into_iter()
        .filter(|p| p.record_kind == of.code() && p.record_id == record_id)
        .collect())
}

/// A photo of a case the actor may see (or its thumbnail): its type and bytes.
pub async fn file(
    db: &Db,
    actor: &Actor,
    data_dir: &Path,
    case_id: i64,
    photo_id: i64,
    thumb: bool,
) -> Result<(String, Vec<u8>), AppError> {
    let mut e = db.conn().await?;
    super::cases::visible(&mut e, actor, case_id).await?;
    let p = store::photo(&mut e, case_id, photo_id)
        .await?
        .ok_or(AppError::NotFound)?;
    photos::read(data_dir, &p.sha256, &p.mime, thumb).await
}

//! Personal data on request and by retention (issue 6 point 3, PIPL): an administrator finds
//! what the database holds under a phone number, exports it for the person, or erases it; a
//! daily job erases a submitter's contact data `contact_retention_days` after the matter was
//! finished. Every export, erasure and run is on the audit chain (the number masked).

use roundtable_core::access::{Actor, Role};
use roundtable_core::privacy::{mask_phone, retention_cutoff};
use roundtable_core::validate::{FieldErrors, optional_phone};
use roundtable_store::privacy::{self as store, Erased, Held};
use roundtable_store::{Db, audit};

use super::actor_id;
use crate::error::AppError;

/// What the database holds under one number, as handed to the person.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Subject {
    pub phone: String,
    pub records: Vec<Held>,
    /// Who produced this copy, and when (the watermark of an export).
    pub exported_by: String,
    pub exported_at: chrono::DateTime<chrono::Utc>,
}

/// Requests about one person's data are the district's to answer: its administrators.
fn may_answer(actor: &Actor) -> Result<(), AppError> {
    if actor.has_role(Role::SystemAdmin) || actor.has_role(Role::DistrictAdmin) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn phone_of(input: &str) -> Result<String, AppError> {
    let mut errors = FieldErrors::new();
    let phone = optional_phone(&mut errors, "phone", Some(input));
    errors.into_result().map_err(AppError::Validation)?;
    phone.ok_or_else(|| AppError::field("phone", "请填写手机号码"))
}

async fn record(
    db: &Db,
    actor: &Actor,
    action: &str,
    after: serde_json::Value,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    audit::record(
        &mut tx,
        actor_id(actor),
        action,
        "person_data",
        None,
        None,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Everything held under `phone` (the export of a person's data; audited).
pub async fn subject(db: &Db, actor: &Actor, who: &str, phone: &str) -> Result<Subject, AppError> {
    may_answer(actor)?;
    let phone = phone_of(phone)?;
    let records = store::held_by_phone(&mut db.pool(), &phone).await?;
    record(
        db,
        actor,
        "privacy.export",
        serde_json::json!({"phone": mask_phone(&phone), "records": records.len()}),
    )
    .await?;
    Ok(Subject {
        phone,
        records,
        exported_by: who.to_string(),
        exported_at: roundtable_store::now(),
    })
}

/// Erases `phone` (and a resident's name with it) everywhere; audited with the counts.
pub async fn erase(db: &Db, actor: &Actor, phone: &str) -> Result<Erased, AppError> {
    may_answer(actor)?;
    let phone = phone_of(phone)?;
    let mut tx = db.begin().await?;
    let erased = store::erase_phone(&mut tx, &phone).await?;
    audit::record(
        &mut tx,
        actor_id(actor),
        "privacy.erase",
        "person_data",
        None,
        None,
        Some(&serde_json::json!({"phone": mask_phone(&phone), "erased": erased})),
    )
    .await?;
    tx.commit().await?;
    Ok(erased)
}

/// The retention run: contact data of what was finished `days` ago or earlier is erased.
pub async fn retain(db: &Db, days: u32) -> Result<Erased, AppError> {
    let cutoff = retention_cutoff(roundtable_store::now(), days);
    let mut tx = db.begin().await?;
    let erased = store::erase_expired(&mut tx, cutoff).await?;
    if erased.total() > 0 {
        audit::record(
            &mut tx,
            None,
            "privacy.retention",
            "person_data",
            None,
            None,
            Some(&serde_json::json!({"days": days, "cutoff": cutoff, "erased": erased})),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(erased)
}

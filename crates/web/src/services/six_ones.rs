//! The "six ones" (六个一, R-MEM-1) of in-service party members: each item recorded once, by
//! the member or by their community, with the day and a short note. The obligation check
//! (`services::obligations`) reads these records; nobody counts them by hand.

use roundtable_core::FieldErrors;
use roundtable_core::access::{Action, Actor, ResourceKind, permit};
use roundtable_core::obligations::SixOne;
use roundtable_core::people::PersonKind;
use roundtable_core::validate::{optional_date, required_text};
use roundtable_store::obligations::{self as store, SixOneEntry};
use roundtable_store::{Db, people};

use super::{actor_id, audit_event, json, require};
use crate::error::AppError;

/// One of the six as a form or the API sends it.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct SixOneInput {
    /// meeting / talk / survey / wish / volunteer / pairing
    pub item: String,
    /// YYYY-MM-DD, not in the future
    pub done_on: String,
    /// What was done, briefly (at most 200 characters)
    pub note: String,
}

/// A member's six ones as their page shows them.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MemberSixOnes {
    pub person_id: i64,
    pub person_name: String,
    pub org_name: String,
    pub may_record: bool,
    pub records: Vec<SixOneEntry>,
}

async fn member(db: &Db, person_id: i64) -> Result<people::Person, AppError> {
    let p = people::get(&mut db.pool(), person_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(p)
}

/// The person, when the asker may see their six ones (outside their reach a record is "not
/// found", as for people).
async fn visible_member(
    db: &Db,
    actor: &Actor,
    person_id: i64,
) -> Result<people::Person, AppError> {
    let p = member(db, person_id).await?;
    if !permit(
        actor,
        Action::View,
        ResourceKind::SixOnes,
        &p.org_path,
        Some(p.id),
    ) {
        return Err(AppError::NotFound);
    }
    Ok(p)
}

pub async fn of_person(db: &Db, actor: &Actor, person_id: i64) -> Result<MemberSixOnes, AppError> {
    let p = visible_member(db, actor, person_id).await?;
    let records = store::six_ones_of(&mut db.pool(), p.id).await?;
    Ok(MemberSixOnes {
        may_record: p.has_kind(PersonKind::PartyMember)
            && permit(
                actor,
                Action::Edit,
                ResourceKind::SixOnes,
                &p.org_path,
                Some(p.id),
            ),
        person_id: p.id,
        person_name: p.name,
        org_name: p.org_name,
        records,
    })
}

pub async fn record(
    db: &Db,
    actor: &Actor,
    person_id: i64,
    input: &SixOneInput,
) -> Result<SixOneEntry, AppError> {
    let p = visible_member(db, actor, person_id).await?;
    require(
        actor,
        Action::Edit,
        ResourceKind::SixOnes,
        &p.org_path,
        Some(p.id),
    )?;
    let mut errors = FieldErrors::new();
    if !p.has_kind(PersonKind::PartyMember) {
        errors.add(
            "person_id",
            format!("{}不是在职党员，无需记录“六个一”", p.name),
        );
    }
    let item = SixOne::parse(input.item.trim());
    if item.is_none() {
        errors.add("item", "请选择“六个一”中的一项");
    }
    if input.done_on.trim().is_empty() {
        errors.add("done_on", "请填写完成日期");
    }
    let done_on = optional_date(&mut errors, "done_on", "完成日期", Some(&input.done_on));
    let today = crate::render::today();
    if let Some(d) = done_on {
        if d > today {
            errors.add("done_on", "完成日期不能晚于今天");
        } else if chrono::Datelike::year(&d) < 2021 {
            errors.add(
                "done_on",
                "完成日期不能早于2021年（幸福圆桌会机制建立之前）",
            );
        }
    }
    let note = required_text(&mut errors, "note", "情况说明", &input.note, 200);
    errors.into_result().map_err(AppError::Validation)?;
    let (Some(item), Some(done_on)) = (item, done_on) else {
        return Err(AppError::field("item", "请选择“六个一”中的一项"));
    };
    let mut tx = db.begin().await?;
    let id = store::insert_six_one(&mut tx, p.id, item, done_on, &note, actor_id(actor)).await?;
    audit_event(
        &mut tx,
        actor,
        "six_one.record",
        "person",
        p.id,
        json(&serde_json::json!({"record_id": id, "item": item.code(), "done_on": done_on, "note": note})),
    )
    .await?;
    tx.commit().await?;
    store::six_ones_of(&mut db.pool(), p.id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(AppError::NotFound)
}

//! 微心愿 (R-MEM-1): the community posts a household's small need; an in-service party member
//! of the community claims it once (recorded as their "claim one micro-wish" of the six ones),
//! fulfils it once; the household confirms on the wish's public page with the last four digits
//! of its phone, or staff confirm after calling it. The public wish wall shows no personal data.

use roundtable_core::access::{Action, Actor, ResourceKind, permit, scope};
use roundtable_core::obligations::SixOne;
use roundtable_core::people::PersonKind;
use roundtable_core::privacy::{mask_name, mask_phone};
use roundtable_core::wishes::{self as rules, WishStatus};
use roundtable_store::wishes::{self as store, Wish, WishFilter};
use roundtable_store::{Db, orgs, people};

use super::{actor_id, audit_event, json, new_public_code, require};
use crate::error::AppError;

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct WishInput {
    /// The community (社区/村) id
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    #[schema(value_type = Option<i64>)]
    pub org_id: Option<i64>,
    /// The need, concretely (4–60 characters)
    pub title: String,
    pub detail: Option<String>,
    /// Who in the household to contact (shown only to staff and the member who claims it)
    pub household_name: String,
    pub household_phone: Option<String>,
}

/// A note for fulfilling, confirming or withdrawing.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct WishNote {
    pub note: String,
}

/// The household's confirmation on the public page.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PublicConfirm {
    /// The last four digits of the household's phone
    pub phone_last4: String,
    pub note: Option<String>,
}

/// A wish as the wall shows it: no names, no phones.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PublicWish {
    pub code: String,
    pub title: String,
    pub detail: Option<String>,
    pub status: String,
    pub status_label: String,
    /// 张* — the member who claimed it
    pub claimed_by: Option<String>,
    pub posted_on: chrono::NaiveDate,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct WishWall {
    pub community_id: i64,
    pub community: String,
    pub wishes: Vec<PublicWish>,
}

/// What the asker may do with one wish.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct WishView {
    #[serde(flatten)]
    pub wish: Wish,
    pub may_claim: bool,
    pub may_fulfil: bool,
    pub may_confirm: bool,
    pub may_cancel: bool,
}

fn status(w: &Wish) -> WishStatus {
    WishStatus::parse(&w.status).unwrap_or(WishStatus::Cancelled)
}

fn is_staff(actor: &Actor, w: &Wish) -> bool {
    permit(actor, Action::Edit, ResourceKind::Wish, &w.org_path, None)
}

/// The asker's person record when it is an in-service party member (who may claim).
async fn member_of(db: &Db, actor: &Actor) -> Result<Option<people::Person>, AppError> {
    let Some(pid) = actor.person_id else {
        return Ok(None);
    };
    Ok(people::get(&mut db.pool(), pid)
        .await?
        .filter(|p| p.has_kind(PersonKind::PartyMember)))
}

/// Household contact masked for whoever is neither staff nor the claiming member.
fn shown(actor: &Actor, mut w: Wish) -> Wish {
    let own = actor.person_id.is_some() && w.claimed_by == actor.person_id;
    if !is_staff(actor, &w) && !own {
        w.household_name = mask_name(&w.household_name);
        w.household_phone = w.household_phone.as_deref().map(mask_phone);
    }
    w
}

async fn visible(db: &Db, actor: &Actor, id: i64) -> Result<Wish, AppError> {
    let w = store::get(&mut db.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !permit(actor, Action::View, ResourceKind::Wish, &w.org_path, None) {
        return Err(AppError::NotFound);
    }
    Ok(w)
}

pub async fn view(db: &Db, actor: &Actor, id: i64) -> Result<WishView, AppError> {
    let w = visible(db, actor, id).await?;
    let st = status(&w);
    let member = member_of(db, actor).await?;
    let staff = is_staff(actor, &w);
    let own = member.as_ref().is_some_and(|p| w.claimed_by == Some(p.id));
    Ok(WishView {
        may_claim: st == WishStatus::Open && member.is_some(),
        may_fulfil: st == WishStatus::Claimed && (own || staff),
        may_confirm: st == WishStatus::Fulfilled && staff,
        may_cancel: matches!(st, WishStatus::Open | WishStatus::Claimed) && staff,
        wish: shown(actor, w),
    })
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
#[serde(default)]
pub struct WishQuery {
    /// A node: its subtree's wishes
    pub org_id: Option<String>,
    /// open / claimed / fulfilled / confirmed / cancelled
    pub status: Option<String>,
    /// `me`: the wishes the asker claimed
    pub claimed: Option<String>,
}

pub async fn list(db: &Db, actor: &Actor, q: &WishQuery) -> Result<Vec<Wish>, AppError> {
    let s = scope(actor, Action::View, ResourceKind::Wish);
    if s.is_empty() {
        return Err(AppError::Forbidden);
    }
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(v) => Some(
            WishStatus::parse(v)
                .ok_or_else(|| AppError::field("status", format!("未知的心愿状态「{v}」")))?
                .code()
                .to_string(),
        ),
    };
    let org_id = match q.org_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| AppError::field("org_id", format!("组织编号「{v}」应为数字")))?,
        ),
    };
    let claimed_by = match q.claimed.as_deref() {
        Some("me") => Some(actor.person_id.unwrap_or(-1)),
        _ => None,
    };
    let rows = store::list(
        &mut db.pool(),
        &s,
        &WishFilter {
            org_id,
            status,
            claimed_by,
        },
        500,
    )
    .await?;
    Ok(rows.into_iter().map(|w| shown(actor, w)).collect())
}

pub async fn post(db: &Db, actor: &Actor, input: &WishInput) -> Result<Wish, AppError> {
    let Some(org_id) = input.org_id else {
        return Err(AppError::field("org_id", "请选择社区(村)"));
    };
    let org = orgs::get(&mut db.pool(), org_id)
        .await?
        .ok_or_else(|| AppError::field("org_id", "所选社区(村)不存在"))?;
    require(actor, Action::Edit, ResourceKind::Wish, &org.path, None)?;
    if !matches!(org.kind.as_str(), "community" | "village") {
        return Err(AppError::field("org_id", "微心愿应发布在社区(村)"));
    }
    let f = rules::check_post(
        &input.title,
        input.detail.as_deref(),
        &input.household_name,
        input.household_phone.as_deref(),
    )
    .map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    let code = new_public_code();
    let id = store::insert(&mut tx, org.id, &code, &f, actor_id(actor)).await?;
    audit_event(
        &mut tx,
        actor,
        "wish.post",
        "wish",
        id,
        json(&serde_json::json!({"org_id": org.id, "title": f.title})),
    )
    .await?;
    tx.commit().await?;
    visible(db, actor, id).await.map(|w| shown(actor, w))
}

/// The member claims the wish; the claim is their "claim one micro-wish" (R-MEM-1) of the day.
pub async fn claim(db: &Db, actor: &Actor, id: i64) -> Result<WishView, AppError> {
    let w = visible(db, actor, id).await?;
    let Some(member) = member_of(db, actor).await? else {
        return Err(AppError::broken(
            "R-MEM-1",
            "status",
            "只有在职党员本人可以认领微心愿",
        ));
    };
    rules::check_claim(status(&w)).map_err(AppError::rule)?;
    let mut tx = db.begin().await?;
    if !store::advance(
        &mut tx,
        id,
        WishStatus::Open,
        WishStatus::Claimed,
        Some(member.id),
        None,
    )
    .await?
    {
        // Someone else claimed it between the read and the write.
        return Err(AppError::rule(
            rules::check_claim(WishStatus::Claimed).unwrap_err(),
        ));
    }
    let today = crate::render::today();
    roundtable_store::obligations::insert_six_one(
        &mut tx,
        member.id,
        SixOne::Wish,
        today,
        &format!("认领微心愿：{}", w.title),
        actor_id(actor),
    )
    .await?;
    audit_event(
        &mut tx,
        actor,
        "wish.claim",
        "wish",
        id,
        json(&serde_json::json!({"person_id": member.id})),
    )
    .await?;
    tx.commit().await?;
    view(db, actor, id).await
}

pub async fn fulfil(db: &Db, actor: &Actor, id: i64, n: &WishNote) -> Result<WishView, AppError> {
    let w = visible(db, actor, id).await?;
    let own = actor.person_id.is_some() && w.claimed_by == actor.person_id;
    if !own && !is_staff(actor, &w) {
        return Err(AppError::Forbidden);
    }
    let note = rules::check_fulfil(status(&w), &n.note).map_err(AppError::rule)?;
    move_to(
        db,
        actor,
        &w,
        WishStatus::Claimed,
        WishStatus::Fulfilled,
        &note,
    )
    .await?;
    view(db, actor, id).await
}

/// Staff confirm for the household after calling it (电话回访), with a note.
pub async fn confirm(db: &Db, actor: &Actor, id: i64, n: &WishNote) -> Result<WishView, AppError> {
    let w = visible(db, actor, id).await?;
    require(actor, Action::Edit, ResourceKind::Wish, &w.org_path, None)?;
    rules::check_confirm(status(&w)).map_err(AppError::rule)?;
    let note = n.note.trim();
    if note.is_empty() {
        return Err(AppError::broken(
            "R-MEM-1",
            "note",
            "请填写回访情况，例如“电话回访，群众表示满意”",
        ));
    }
    move_to(
        db,
        actor,
        &w,
        WishStatus::Fulfilled,
        WishStatus::Confirmed,
        note,
    )
    .await?;
    view(db, actor, id).await
}

pub async fn cancel(db: &Db, actor: &Actor, id: i64, n: &WishNote) -> Result<WishView, AppError> {
    let w = visible(db, actor, id).await?;
    require(actor, Action::Edit, ResourceKind::Wish, &w.org_path, None)?;
    let st = status(&w);
    let reason = rules::check_cancel(st, &n.note).map_err(AppError::rule)?;
    move_to(db, actor, &w, st, WishStatus::Cancelled, &reason).await?;
    view(db, actor, id).await
}

async fn move_to(
    db: &Db,
    actor: &Actor,
    w: &Wish,
    from: WishStatus,
    to: WishStatus,
    note: &str,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    if !store::advance(&mut tx, w.id, from, to, None, Some(note)).await? {
        return Err(AppError::broken(
            "R-MEM-1",
            "status",
            "该心愿的状态已被他人更新，请刷新后再试",
        ));
    }
    audit_event(
        &mut tx,
        actor,
        &format!("wish.{}", to.code()),
        "wish",
        w.id,
        json(&serde_json::json!({"from": from.code(), "note": note})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn public(w: Wish) -> PublicWish {
    let st = status(&w);
    PublicWish {
        code: w.public_code,
        title: w.title,
        detail: w.detail,
        status: st.code().into(),
        status_label: st.label().into(),
        claimed_by: w.claimed_by_name.as_deref().map(mask_name),
        posted_on: w
            .created_at
            .with_timezone(&crate::render::china())
            .date_naive(),
    }
}

/// The public wish wall of a community: open, claimed and fulfilled wishes, no personal data.
pub async fn wall(db: &Db, community_id: i64) -> Result<WishWall, AppError> {
    let org = orgs::get(&mut db.pool(), community_id)
        .await?
        .filter(|o| matches!(o.kind.as_str(), "community" | "village"))
        .ok_or(AppError::NotFound)?;
    let everywhere = super::everywhere();
    let rows = store::list(
        &mut db.pool(),
        &everywhere,
        &WishFilter {
            org_id: Some(org.id),
            ..Default::default()
        },
        200,
    )
    .await?;
    Ok(WishWall {
        community_id: org.id,
        community: org.name,
        wishes: rows
            .into_iter()
            .filter(|w| status(w) != WishStatus::Cancelled)
            .map(public)
            .collect(),
    })
}

pub async fn public_wish(db: &Db, code: &str) -> Result<PublicWish, AppError> {
    if !super::is_public_code(code) {
        return Err(AppError::NotFound);
    }
    let w = store::by_code(&mut db.pool(), code)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(public(w))
}

/// The household confirms on the wish's public page with the last four digits of its phone.
pub async fn public_confirm(
    db: &Db,
    code: &str,
    input: &PublicConfirm,
) -> Result<PublicWish, AppError> {
    if !super::is_public_code(code) {
        return Err(AppError::NotFound);
    }
    let w = store::by_code(&mut db.pool(), code)
        .await?
        .ok_or(AppError::NotFound)?;
    let last4 = input.phone_last4.trim();
    let matches = w
        .household_phone
        .as_deref()
        .is_some_and(|p| last4.len() == 4 && p.ends_with(last4));
    if !matches {
        return Err(AppError::field(
            "phone_last4",
            "手机号后四位不符（没有登记手机号的，请联系社区电话确认）",
        ));
    }
    rules::check_confirm(status(&w)).map_err(AppError::rule)?;
    let note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("群众在公开页面确认");
    let note: String = note.chars().take(200).collect();
    move_to(
        db,
        &Actor::default(),
        &w,
        WishStatus::Fulfilled,
        WishStatus::Confirmed,
        &note,
    )
    .await?;
    public_wish(db, code).await
}

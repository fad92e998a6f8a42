//! Dated links (R-ORG-2, R-ORG-3): create, edit, end-date, and "who was linked to X on date D".

use chrono::NaiveDate;
use roundtable_core::FieldErrors;
use roundtable_core::access::{Action, Actor, ResourceKind, scope};
use roundtable_core::links::{GroupRole, LinkKind, LinkSpan, Subject, check_overlap};
use roundtable_core::org::OrgKind;
use roundtable_core::people::PersonKind;
use roundtable_core::validate::{optional_date, optional_text};
use roundtable_store::links::{self, Link, LinkFields, LinkFilter};
use roundtable_store::{Db, Exec, Tx, orgs, people, units};

use super::{Change, audit_change, require};
use crate::error::AppError;

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct LinkInput {
    /// leader_street / street_leader_community / unit_assist / unit_co_build / council_member / leading_group
    pub kind: String,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub person_id: Option<i64>,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub unit_id: Option<i64>,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub org_id: Option<i64>,
    /// For leading_group: head / deputy_head / member
    pub group_role: Option<String>,
    /// YYYY-MM-DD
    pub start_date: String,
    /// YYYY-MM-DD; empty while the link holds
    pub end_date: Option<String>,
    pub note: Option<String>,
}

async fn validate(
    e: &mut impl Exec,
    input: &LinkInput,
    id: Option<i64>,
) -> Result<(LinkFields, String), AppError> {
    let mut errors = FieldErrors::new();
    let kind = LinkKind::parse(&input.kind);
    if kind.is_none() {
        errors.add("kind", "请选择关联类型");
    }
    let start = optional_date(
        &mut errors,
        "start_date",
        "开始日期",
        Some(&input.start_date),
    );
    if start.is_none() && !errors.0.contains_key("start_date") {
        errors.add("start_date", "请填写开始日期");
    }
    let end = optional_date(
        &mut errors,
        "end_date",
        "结束日期",
        input.end_date.as_deref(),
    );
    let note = optional_text(&mut errors, "note", "备注", input.note.as_deref(), 500);
    let org = match input.org_id {
        Some(oid) => orgs::get(e, oid).await?,
        None => None,
    };
    if org.is_none() {
        errors.add("org_id", "请选择关联的组织");
    }
    let mut role = None;
    let mut subject = None;
    if let Some(k) = kind {
        if let Some(o) = &org {
            let level = OrgKind::parse(&o.kind).map(OrgKind::level);
            if !level.is_some_and(|l| k.target_levels().contains(&l)) {
                let want = if k.target_levels().len() == 2 {
                    "街道(镇)或社区(村)"
                } else if k.target_levels()[0] == roundtable_core::org::OrgLevel::Street {
                    "街道或镇"
                } else {
                    "社区或村"
                };
                errors.add("org_id", format!("「{}」应关联到{want}", k.label()));
            }
        }
        if k.subject_is_unit() {
            match input.unit_id {
                Some(u) if units::get(e, u).await?.is_some() => subject = Some(Subject::Unit(u)),
                Some(_) => errors.add("unit_id", "单位不存在"),
                None => errors.add("unit_id", "请选择单位"),
            }
        } else {
            match input.person_id {
                Some(pid) => match people::get(e, pid).await? {
                    Some(p) => {
                        if let Some(need) = k.required_person_kind()
                            && !p.kinds.iter().any(|c| c == need.code())
                        {
                            errors.add("person_id", format!("{}不是{}", p.name, need.label()));
                        }
                        subject = Some(Subject::Person(pid));
                    }
                    None => errors.add("person_id", "人员不存在"),
                },
                None => errors.add("person_id", "请选择人员"),
            }
        }
        if k == LinkKind::LeadingGroup {
            role = input.group_role.as_deref().and_then(GroupRole::parse);
            if role.is_none() {
                errors.add("group_role", "请选择组长、副组长或成员");
            }
        }
    }
    errors.into_result().map_err(AppError::Validation)?;
    let (Some(kind), Some(org), Some(start), Some(subject)) = (kind, org, start, subject) else {
        return Err(AppError::BadRequest("关联信息不完整".into()));
    };
    let span = LinkSpan {
        id,
        kind,
        subject,
        org_id: org.id,
        role,
        start,
        end,
    };
    let existing = links::spans_at(e, kind.code(), org.id).await?;
    check_overlap(&span, &existing).map_err(|m| {
        AppError::field(
            if m.contains("结束日期") {
                "end_date"
            } else {
                "start_date"
            },
            m,
        )
    })?;
    let (person_id, unit_id) = match subject {
        Subject::Person(p) => (Some(p), None),
        Subject::Unit(u) => (None, Some(u)),
    };
    let fields = LinkFields {
        kind: kind.code().into(),
        person_id,
        unit_id,
        org_id: org.id,
        group_role: role.map(|r| r.code().to_string()),
        start_date: start,
        end_date: end,
        note,
    };
    Ok((fields, org.path))
}

pub async fn create(db: &Db, actor: &Actor, input: &LinkInput) -> Result<Link, AppError> {
    let mut tx = db.begin().await?;
    let link = create_in(&mut tx, actor, input).await?;
    tx.commit().await?;
    Ok(link)
}

pub(crate) async fn create_in(
    tx: &mut Tx,
    actor: &Actor,
    input: &LinkInput,
) -> Result<Link, AppError> {
    let (fields, path) = validate(tx, input, None).await?;
    require(actor, Action::Edit, ResourceKind::Link, &path, None)?;
    let id = links::insert(tx, &fields).await?;
    let link = links::get(tx, id).await?.ok_or(AppError::NotFound)?;
    audit_change(tx, actor, "link", id, None, &link).await?;
    Ok(link)
}

pub async fn update(db: &Db, actor: &Actor, id: i64, input: &LinkInput) -> Result<Link, AppError> {
    let mut tx = db.begin().await?;
    let (link, _) = update_in(&mut tx, actor, id, input).await?;
    tx.commit().await?;
    Ok(link)
}

pub(crate) async fn update_in(
    tx: &mut Tx,
    actor: &Actor,
    id: i64,
    input: &LinkInput,
) -> Result<(Link, Change), AppError> {
    let before = links::get(tx, id).await?.ok_or(AppError::NotFound)?;
    require(
        actor,
        Action::Edit,
        ResourceKind::Link,
        &before.org_path,
        None,
    )?;
    let (fields, path) = validate(tx, input, Some(id)).await?;
    require(actor, Action::Edit, ResourceKind::Link, &path, None)?;
    if fields == before.fields() {
        return Ok((before, Change::Unchanged));
    }
    links::update(tx, id, &fields).await?;
    let after = links::get(tx, id).await?.ok_or(AppError::NotFound)?;
    audit_change(tx, actor, "link", id, Some(&before), &after).await?;
    Ok((after, Change::Updated))
}

/// Ends a link on `end` (default: today), keeping its history.
pub async fn end(db: &Db, actor: &Actor, id: i64, end: Option<&str>) -> Result<Link, AppError> {
    let before = links::get(&mut db.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::new();
    let end = optional_date(&mut errors, "end_date", "结束日期", end)
        .unwrap_or_else(crate::render::today);
    errors.into_result().map_err(AppError::Validation)?;
    let input = LinkInput {
        kind: before.kind.clone(),
        person_id: before.person_id,
        unit_id: before.unit_id,
        org_id: Some(before.org_id),
        group_role: before.group_role.clone(),
        start_date: before.start_date.to_string(),
        end_date: Some(end.to_string()),
        note: before.note.clone(),
    };
    update(db, actor, id, &input).await
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> Result<Link, AppError> {
    let link = links::get(&mut db.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(
        actor,
        Action::View,
        ResourceKind::Link,
        &link.org_path,
        None,
    )?;
    Ok(link)
}

pub async fn list(db: &Db, actor: &Actor, filter: &LinkFilter) -> Result<Vec<Link>, AppError> {
    Ok(links::list(
        &mut db.pool(),
        &scope(actor, Action::View, ResourceKind::Link),
        filter,
        1000,
    )
    .await?)
}

/// R-ORG-2: who was linked to the node `org_id` on `date`.
pub async fn linked_on(
    db: &Db,
    actor: &Actor,
    org_id: i64,
    date: NaiveDate,
) -> Result<Vec<Link>, AppError> {
    list(
        db,
        actor,
        &LinkFilter {
            org_id: Some(org_id),
            valid_on: Some(date),
            ..Default::default()
        },
    )
    .await
}

/// People and units a link form may offer, limited to what the actor can see.
pub async fn candidates(
    db: &Db,
    actor: &Actor,
    kind: LinkKind,
) -> Result<Vec<(i64, String)>, AppError> {
    let mut pool = db.pool();
    if kind.subject_is_unit() {
        let page = units::list(
            &mut pool,
            &scope(actor, Action::View, ResourceKind::Unit),
            &Default::default(),
            roundtable_store::PageReq::new(Some(1), Some(200)),
        )
        .await?;
        return Ok(page
            .items
            .into_iter()
            .map(|u| (u.id, format!("{}（{}）", u.name, u.org_name)))
            .collect());
    }
    let filter = roundtable_store::people::PersonFilter {
        kind: kind
            .required_person_kind()
            .map(|k: PersonKind| k.code().to_string()),
        ..Default::default()
    };
    let page = people::list(
        &mut pool,
        &scope(actor, Action::View, ResourceKind::Person),
        &filter,
        roundtable_store::PageReq::new(Some(1), Some(200)),
    )
    .await?;
    Ok(page
        .items
        .into_iter()
        .map(|p| (p.id, format!("{}（{}）", p.name, p.org_name)))
        .collect())
}

//! R-ORG-4: the resource list and the needs list. Community, street and district staff publish
//! what units and party members offer (a member may publish their own offer), at the node it
//! serves; a case states what it needs while it is being prepared (steps 1–5); the proposals
//! for a need come from the case's community, its street and the district; a match is accepted
//! onto the plan while the plan step (项目公示) runs — funds as a budget line (R-SUP-1) — and
//! can be cancelled there, giving back what it took.

use roundtable_core::access::{Action, Actor, ResourceKind, Scope, permit, scope};
use roundtable_core::cases::Step;
use roundtable_core::org::path_ids;
use roundtable_core::people::PersonKind;
use roundtable_core::project::FundingSource;
use roundtable_core::resources::{
    self as rules, Candidate, Nearness, NeedFacts, OfferInput, OfferStatus, Proposal, ResourceType,
    parse_categories,
};
use roundtable_core::topics::Category;
use roundtable_store::cases::Case;
use roundtable_store::resources::{
    self as store, Match, MatchOfResource, Need, NewMatch, Offerer, Resource, ResourceFilter,
};
use roundtable_store::{Db, Exec, Tx, orgs, people, units};

use super::{actor_id, audit_event, json, require};
use crate::error::AppError;

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ResourceInput {
    /// The node it is offered at: a community (村), a street (镇) or the district; a member's
    /// own offer defaults to their community
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    #[schema(value_type = Option<i64>)]
    pub org_id: Option<i64>,
    /// The unit that offers it (or `person_id`)
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    #[schema(value_type = Option<i64>)]
    pub unit_id: Option<i64>,
    /// The in-service party member who offers it (or `unit_id`)
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    #[schema(value_type = Option<i64>)]
    pub person_id: Option<i64>,
    /// funds, venue, volunteers, skills, materials (or 资金…)
    pub kind: String,
    pub title: String,
    pub detail: Option<String>,
    /// Yuan for funds ("20000", "3500.50"); a whole count otherwise
    #[serde(deserialize_with = "super::quantity_text::deserialize")]
    #[schema(value_type = String)]
    pub quantity: String,
    /// What the count counts (人次, 场次, 件…); funds are yuan
    pub measure: Option<String>,
    /// Topic categories it is meant for (codes or names); none: any
    pub categories: Vec<String>,
    /// YYYY-MM-DD
    pub available_from: Option<String>,
    /// YYYY-MM-DD, not before `available_from`
    pub available_to: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct WithdrawInput {
    pub reason: String,
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
#[serde(default)]
pub struct ResourceQuery {
    /// funds, venue, volunteers, skills, materials
    pub kind: Option<String>,
    /// open (something left), used_up, withdrawn
    pub status: Option<String>,
    /// `me`: the asker's own offers
    pub mine: Option<String>,
}

/// An offer with its quantities written out and what the asker may do.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OfferView {
    #[serde(flatten)]
    pub resource: Resource,
    /// 资金 / 场地 / …
    pub kind_label: String,
    /// 20,000.00 元 / 30 人次
    pub quantity_text: String,
    pub remaining_text: String,
    pub category_labels: Vec<String>,
    /// 可对接 / 已对接完 / 已撤回
    pub state_label: String,
    pub may_withdraw: bool,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OfferDetail {
    pub offer: OfferView,
    /// The cases it went to that the asker may see
    pub matches: Vec<MatchOfResource>,
    /// Matches to cases outside the asker's scope (counted, not shown)
    pub other_matches: usize,
}

fn kind_of(code: &str) -> ResourceType {
    ResourceType::parse(code).unwrap_or(ResourceType::Materials)
}

fn offer_view(actor: &Actor, r: Resource) -> OfferView {
    let kind = kind_of(&r.kind);
    let withdrawn = r.status == OfferStatus::Withdrawn.code();
    OfferView {
        kind_label: kind.label().into(),
        quantity_text: kind.show(r.quantity, &r.measure),
        remaining_text: kind.show(r.remaining, &r.measure),
        category_labels: parse_categories(&r.categories)
            .iter()
            .map(|c| c.label().to_string())
            .collect(),
        state_label: if withdrawn {
            OfferStatus::Withdrawn.label().into()
        } else if r.remaining == 0 {
            "已对接完".into()
        } else {
            OfferStatus::Open.label().into()
        },
        may_withdraw: !withdrawn
            && permit(
                actor,
                Action::Edit,
                ResourceKind::Resource,
                &r.org_path,
                r.person_id,
            ),
        resource: r,
    }
}

/// The nodes above the asker's scope (its streets and district): their offers serve it too.
async fn upstream(e: &mut impl Exec, s: &Scope) -> Result<Vec<i64>, AppError> {
    let mut up = Vec::new();
    for id in &s.org_ids {
        if let Some(o) = orgs::get(e, *id).await? {
            up.extend(path_ids(&o.path).into_iter().filter(|p| p != id));
        }
    }
    up.sort_unstable();
    up.dedup();
    Ok(up)
}

/// Whether the asker sees an offer: in their scope, or published above it.
async fn sees(e: &mut impl Exec, actor: &Actor, r: &Resource) -> Result<bool, AppError> {
    let s = scope(actor, Action::View, ResourceKind::Resource);
    if s.contains(&r.org_path, r.person_id) {
        return Ok(true);
    }
    Ok(upstream(e, &s).await?.contains(&r.org_id))
}

async fn visible(e: &mut impl Exec, actor: &Actor, id: i64) -> Result<Resource, AppError> {
    let r = store::get(e, id).await?.ok_or(AppError::NotFound)?;
    if !sees(e, actor, &r).await? {
        return Err(AppError::NotFound);
    }
    Ok(r)
}

pub async fn list(db: &Db, actor: &Actor, q: &ResourceQuery) -> Result<Vec<OfferView>, AppError> {
    let s = scope(actor, Action::View, ResourceKind::Resource);
    if s.is_empty() {
        return Err(AppError::Forbidden);
    }
    let kind = match q.kind.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(
            ResourceType::parse(v)
                .ok_or_else(|| AppError::field("kind", format!("未知的资源类型「{v}」")))?
                .code()
                .to_string(),
        ),
    };
    let status = match q.status.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(v @ ("open" | "used_up" | "withdrawn")) => Some(v.to_string()),
        Some(v) => {
            return Err(AppError::field(
                "status",
                format!("未知的状态「{v}」（open、used_up、withdrawn）"),
            ));
        }
    };
    let person_id = match q.mine.as_deref() {
        Some("me") => Some(actor.person_id.unwrap_or(-1)),
        _ => None,
    };
    let mut pool = db.pool();
    let up = upstream(&mut pool, &s).await?;
    let rows = store::list(
        &mut pool,
        &s,
        &up,
        &ResourceFilter {
            kind,
            status,
            person_id,
            unit_id: None,
        },
        500,
    )
    .await?;
    Ok(rows.into_iter().map(|r| offer_view(actor, r)).collect())
}

pub async fn view(db: &Db, actor: &Actor, id: i64) -> Result<OfferDetail, AppError> {
    let mut pool = db.pool();
    let r = visible(&mut pool, actor, id).await?;
    let all = store::matches_of_resource(&mut pool, id).await?;
    let total = all.len();
    let matches: Vec<MatchOfResource> = all
        .into_iter()
        .filter(|m| permit(actor, Action::View, ResourceKind::Case, &m.case_path, None))
        .collect();
    Ok(OfferDetail {
        other_matches: total - matches.len(),
        matches,
        offer: offer_view(actor, r),
    })
}

/// Who offers, checked: a unit of the district, or an in-service party member of it (the asker
/// themselves when they are one and name nobody else).
async fn offerer(
    e: &mut impl Exec,
    actor: &Actor,
    input: &ResourceInput,
) -> Result<(Offerer, String, Option<String>), AppError> {
    let person = |p: people::Person| (Offerer::Person(p.id), p.org_path.clone(), Some(p.org_path));
    match (input.unit_id, input.person_id) {
        (Some(_), Some(_)) => Err(AppError::field(
            "unit_id",
            "提供方请选择一个单位或一名党员，不能同时选择",
        )),
        (Some(u), None) => {
            let unit = units::get(e, u)
                .await?
                .ok_or_else(|| AppError::field("unit_id", "所选单位不存在"))?;
            Ok((Offerer::Unit(unit.id), unit.org_path, None))
        }
        (None, Some(p)) => {
            let p = people::get(e, p)
                .await?
                .ok_or_else(|| AppError::field("person_id", "所选人员不存在"))?;
            if !p.has_kind(PersonKind::PartyMember) {
                return Err(AppError::field(
                    "person_id",
                    format!("{}不是在职党员，个人资源请由在职党员提供", p.name),
                ));
            }
            Ok(person(p))
        }
        // Nobody named: the asker's own offer when they are a party member.
        (None, None) => match actor.person_id {
            Some(p) => match people::get(e, p).await? {
                Some(p) if p.has_kind(PersonKind::PartyMember) => Ok(person(p)),
                _ => Err(AppError::field("unit_id", "请选择提供资源的单位或党员")),
            },
            None => Err(AppError::field("unit_id", "请选择提供资源的单位或党员")),
        },
    }
}

pub async fn publish(db: &Db, actor: &Actor, input: &ResourceInput) -> Result<OfferView, AppError> {
    let f = rules::check_offer(&OfferInput {
        kind: &input.kind,
        title: &input.title,
        detail: input.detail.as_deref(),
        quantity: &input.quantity,
        measure: input.measure.as_deref(),
        categories: &input.categories,
        available_from: input.available_from.as_deref(),
        available_to: input.available_to.as_deref(),
    })
    .map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    let (by, offerer_path, member_path) = offerer(&mut tx, actor, input).await?;
    let org = match input.org_id {
        Some(id) => orgs::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::field("org_id", "所选组织不存在"))?,
        None => {
            let Some(own) = member_path
                .as_deref()
                .and_then(|p| path_ids(p).last().copied())
            else {
                return Err(AppError::field(
                    "org_id",
                    "请选择资源面向的社区、街道或全区",
                ));
            };
            orgs::get(&mut tx, own).await?.ok_or(AppError::NotFound)?
        }
    };
    let person = match by {
        Offerer::Person(p) => Some(p),
        Offerer::Unit(_) => None,
    };
    require(
        actor,
        Action::Edit,
        ResourceKind::Resource,
        &org.path,
        person,
    )?;
    if path_ids(&offerer_path).first() != path_ids(&org.path).first() {
        return Err(AppError::field("org_id", "提供方与所选组织不在同一个区"));
    }
    // A member's own offer serves their community, its street or the district.
    if let Some(mp) = &member_path
        && Nearness::of(&org.path, mp).is_none()
    {
        return Err(AppError::field(
            "org_id",
            "党员个人资源应面向本人所在社区(村)、街道(镇)或全区",
        ));
    }
    let id = store::insert(&mut tx, org.id, by, &f, actor_id(actor)).await?;
    audit_event(
        &mut tx,
        actor,
        "resource.publish",
        "resource",
        id,
        json(&serde_json::json!({"org_id": org.id, "kind": f.kind.code(), "title": f.title, "quantity": f.quantity})),
    )
    .await?;
    tx.commit().await?;
    let r = store::get(&mut db.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(offer_view(actor, r))
}

pub async fn withdraw(
    db: &Db,
    actor: &Actor,
    id: i64,
    input: &WithdrawInput,
) -> Result<OfferDetail, AppError> {
    let mut tx = db.begin().await?;
    let r = visible(&mut tx, actor, id).await?;
    require(
        actor,
        Action::Edit,
        ResourceKind::Resource,
        &r.org_path,
        r.person_id,
    )?;
    let status = OfferStatus::parse(&r.status).unwrap_or(OfferStatus::Withdrawn);
    let reason = rules::check_withdraw(status, &input.reason).map_err(AppError::rule)?;
    if !store::withdraw(&mut tx, id, &reason).await? {
        return Err(AppError::rule(
            rules::check_withdraw(OfferStatus::Withdrawn, "").unwrap_err(),
        ));
    }
    audit_event(
        &mut tx,
        actor,
        "resource.withdraw",
        "resource",
        id,
        json(&serde_json::json!({"reason": reason, "remaining": r.remaining})),
    )
    .await?;
    tx.commit().await?;
    view(db, actor, id).await
}

// ---- the needs of a case

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct NeedInput {
    /// funds, venue, volunteers, skills, materials
    pub kind: String,
    pub description: String,
    /// Yuan for funds; a whole count otherwise
    #[serde(deserialize_with = "super::quantity_text::deserialize")]
    #[schema(value_type = String)]
    pub quantity: String,
    pub measure: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AcceptInput {
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    #[schema(value_type = Option<i64>)]
    pub resource_id: Option<i64>,
    /// How much of it to take: yuan for funds, a count otherwise; empty takes what the
    /// proposal says
    #[serde(deserialize_with = "super::quantity_text::deserialize")]
    #[schema(value_type = String)]
    pub quantity: String,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProposalView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub proposal: Proposal,
    pub offer: OfferView,
    /// The quantity proposed, written out
    pub quantity_text: String,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NeedView {
    #[serde(flatten)]
    pub need: Need,
    pub kind_label: String,
    pub quantity_text: String,
    pub matched_text: String,
    pub outstanding: i64,
    pub outstanding_text: String,
    /// The offers that can serve what is still needed, best first (at most 10)
    pub proposals: Vec<ProposalView>,
    pub matches: Vec<MatchView>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MatchView {
    #[serde(flatten)]
    pub matched: Match,
    pub quantity_text: String,
}

/// A case's needs with their proposals and matches, and what the asker may do.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CaseNeeds {
    pub case_id: i64,
    pub title: String,
    pub community: String,
    pub step: String,
    /// Needs may be stated or removed (steps 1–5, by whoever may edit the case)
    pub may_edit: bool,
    /// Matches may be accepted or cancelled (the plan step, 项目公示)
    pub may_accept: bool,
    pub needs: Vec<NeedView>,
}

/// Needs are stated while the case is being prepared, up to its plan.
fn needs_open(step: Step) -> bool {
    matches!(
        step,
        Step::Topic | Step::Opinions | Step::Analysis | Step::Deliberation | Step::Notice
    )
}

fn candidate(r: &Resource, c: &Case, linked: bool) -> Candidate {
    Candidate {
        id: r.id,
        kind: kind_of(&r.kind),
        status: OfferStatus::parse(&r.status).unwrap_or(OfferStatus::Withdrawn),
        categories: parse_categories(&r.categories),
        remaining: r.remaining,
        available_from: r.available_from,
        available_to: r.available_to,
        nearness: Nearness::of(&r.org_path, &c.org_path),
        linked,
    }
}

fn facts(n: &Need, c: &Case) -> NeedFacts {
    NeedFacts {
        kind: kind_of(&n.kind),
        category: Category::parse(&c.category),
        outstanding: n.quantity - n.matched,
        on: crate::render::today(),
    }
}

pub async fn case_needs(db: &Db, actor: &Actor, case_id: i64) -> Result<CaseNeeds, AppError> {
    let mut pool = db.pool();
    let c = super::cases::visible(&mut pool, actor, case_id).await?;
    let step = super::cases::step_of(&c);
    let edit = permit(actor, Action::Edit, ResourceKind::Case, &c.org_path, None);
    let needs = store::needs_of(&mut pool, case_id).await?;
    let matches = store::matches_of_case(&mut pool, case_id).await?;
    let ids = path_ids(&c.org_path);
    let today = crate::render::today();
    let mut views = Vec::with_capacity(needs.len());
    let mut offers: std::collections::HashMap<String, Vec<store::CandidateRow>> =
        std::collections::HashMap::new();
    for n in needs {
        let kind = kind_of(&n.kind);
        let f = facts(&n, &c);
        let proposals = if f.outstanding > 0 && edit && needs_open(step) {
            // The offers of a kind are read once, whatever number of needs ask for it.
            if !offers.contains_key(&n.kind) {
                let rows = store::candidates(&mut pool, &ids, &n.kind, today).await?;
                offers.insert(n.kind.clone(), rows);
            }
            let rows = &offers[&n.kind];
            let cands: Vec<Candidate> = rows
                .iter()
                .map(|row| candidate(&row.resource, &c, row.linked))
                .collect();
            let ranked = rules::propose(&f, &cands);
            ranked
                .into_iter()
                .take(10)
                .filter_map(|p| {
                    let row = rows.iter().find(|r| r.resource.id == p.resource_id)?;
                    Some(ProposalView {
                        quantity_text: kind.show(p.quantity, &row.resource.measure),
                        offer: offer_view(actor, row.resource.clone()),
                        proposal: p,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        views.push(NeedView {
            kind_label: kind.label().into(),
            quantity_text: kind.show(n.quantity, &n.measure),
            matched_text: kind.show(n.matched, &n.measure),
            outstanding: f.outstanding,
            outstanding_text: kind.show(f.outstanding, &n.measure),
            proposals,
            matches: matches
                .iter()
                .filter(|m| m.need_id == n.id)
                .map(|m| MatchView {
                    quantity_text: kind.show(m.quantity, &m.measure),
                    matched: m.clone(),
                })
                .collect(),
            need: n,
        });
    }
    Ok(CaseNeeds {
        case_id,
        title: c.title.clone(),
        community: c.org_name.clone(),
        step: c.step.clone(),
        may_edit: edit && needs_open(step),
        may_accept: edit && step == Step::Notice,
        needs: views,
    })
}

/// The case for a change of its needs: editable by the asker, in steps 1–5.
async fn case_preparing(tx: &mut Tx, actor: &Actor, case_id: i64) -> Result<Case, AppError> {
    let c = super::cases::editable(tx, actor, case_id, ResourceKind::Case).await?;
    let step = super::cases::step_of(&c);
    if !needs_open(step) {
        return Err(AppError::broken(
            "R-ORG-4",
            "step",
            format!(
                "资源需求在案例实施前（项目公示及以前）提出（案例当前为「{}」）",
                step.label()
            ),
        ));
    }
    Ok(c)
}

pub async fn add_need(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    input: &NeedInput,
) -> Result<CaseNeeds, AppError> {
    let f = rules::check_need(
        &input.kind,
        &input.description,
        &input.quantity,
        input.measure.as_deref(),
    )
    .map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    case_preparing(&mut tx, actor, case_id).await?;
    let id = store::insert_need(&mut tx, case_id, &f, actor_id(actor)).await?;
    audit_event(
        &mut tx,
        actor,
        "case.need_add",
        "case",
        case_id,
        json(&serde_json::json!({"need_id": id, "kind": f.kind.code(), "description": f.description, "quantity": f.quantity})),
    )
    .await?;
    tx.commit().await?;
    case_needs(db, actor, case_id).await
}

pub async fn remove_need(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    need_id: i64,
) -> Result<CaseNeeds, AppError> {
    let mut tx = db.begin().await?;
    case_preparing(&mut tx, actor, case_id).await?;
    store::need(&mut tx, case_id, need_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !store::delete_need(&mut tx, case_id, need_id).await? {
        return Err(AppError::broken(
            "R-ORG-4",
            "need_id",
            "该需求已有对接的资源，请先取消对接",
        ));
    }
    audit_event(
        &mut tx,
        actor,
        "case.need_remove",
        "case",
        case_id,
        json(&serde_json::json!({"need_id": need_id})),
    )
    .await?;
    tx.commit().await?;
    case_needs(db, actor, case_id).await
}

fn conflict() -> AppError {
    AppError::broken(
        "R-ORG-4",
        "quantity",
        "资源或需求的数量已被他人更新，请刷新后再试",
    )
}

/// Accepts `input.quantity` of an offer for a need: taken from the offer, added to the need,
/// written on the plan (funds as a budget line whose source is the unit, or a donation of the
/// member), all in one transaction.
pub async fn accept(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    need_id: i64,
    input: &AcceptInput,
) -> Result<CaseNeeds, AppError> {
    let Some(resource_id) = input.resource_id else {
        return Err(AppError::field("resource_id", "请选择要对接的资源"));
    };
    let mut tx = db.begin().await?;
    let c = super::cases::case_at(&mut tx, actor, case_id, ResourceKind::Case, Step::Notice)
        .await
        .map_err(|e| match e {
            AppError::Rule { .. } => AppError::broken(
                "R-ORG-4",
                "step",
                "资源对接在“项目公示”步骤制定方案时确认，计入项目方案",
            ),
            e => e,
        })?;
    let need = store::need(&mut tx, case_id, need_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let r = store::get(&mut tx, resource_id)
        .await?
        .filter(|r| Nearness::of(&r.org_path, &c.org_path).is_some())
        .ok_or_else(|| AppError::field("resource_id", "所选资源不存在或不面向本社区(村)"))?;
    let f = facts(&need, &c);
    let quantity = if input.quantity.trim().is_empty() {
        r.remaining.min(f.outstanding)
    } else {
        rules::check_quantity(f.kind, &input.quantity).map_err(AppError::Validation)?
    };
    rules::check_accept(&f, &candidate(&r, &c, false), quantity).map_err(AppError::rule)?;
    if store::matches_of_case(&mut tx, case_id)
        .await?
        .iter()
        .any(|m| m.need_id == need_id && m.resource_id == resource_id)
    {
        return Err(AppError::broken(
            "R-ORG-4",
            "resource_id",
            "该资源已对接到这项需求；如需调整数量，请先取消原对接",
        ));
    }
    if !store::take(&mut tx, resource_id, quantity).await?
        || !store::add_matched(&mut tx, need_id, quantity).await?
    {
        return Err(conflict());
    }
    let budget_id = if f.kind == ResourceType::Funds {
        let (source, by) = match (&r.unit_name, &r.person_name) {
            (Some(u), _) => (FundingSource::Unit, u.clone()),
            (None, p) => (FundingSource::Donation, p.clone().unwrap_or_default()),
        };
        let note: String = format!("资源对接：{}（{by}）", r.title)
            .chars()
            .take(200)
            .collect();
        Some(
            roundtable_store::projects::insert_budget(
                &mut tx,
                case_id,
                source.code(),
                quantity,
                Some(&note),
            )
            .await?,
        )
    } else {
        None
    };
    let id = store::insert_match(
        &mut tx,
        &NewMatch {
            case_id,
            need_id,
            resource_id,
            quantity,
            budget_id,
            accepted_by: actor_id(actor),
        },
    )
    .await?;
    // The plan changed: a notice published before it is out of date (R-PROC-5).
    roundtable_store::projects::bump_plan_revision(&mut tx, case_id).await?;
    audit_event(
        &mut tx,
        actor,
        "plan.resource_match",
        "case",
        case_id,
        json(&serde_json::json!({"match_id": id, "need_id": need_id, "resource_id": resource_id, "quantity": quantity, "budget_id": budget_id})),
    )
    .await?;
    tx.commit().await?;
    case_needs(db, actor, case_id).await
}

/// Cancels a match while the plan step runs: the offer gets its quantity back, the need loses
/// it, a budget line written for it goes.
pub async fn cancel_match(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    match_id: i64,
) -> Result<CaseNeeds, AppError> {
    let mut tx = db.begin().await?;
    super::cases::case_at(&mut tx, actor, case_id, ResourceKind::Case, Step::Notice).await?;
    let m = store::get_match(&mut tx, case_id, match_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !store::delete_match(&mut tx, m.id).await? {
        return Err(conflict());
    }
    if let Some(b) = m.budget_id {
        roundtable_store::projects::delete_plan_row(
            &mut tx,
            roundtable_store::projects::PlanTable::Budget,
            case_id,
            b,
        )
        .await?;
    }
    store::give_back(&mut tx, m.resource_id, m.quantity).await?;
    if !store::add_matched(&mut tx, m.need_id, -m.quantity).await? {
        return Err(conflict());
    }
    roundtable_store::projects::bump_plan_revision(&mut tx, case_id).await?;
    audit_event(
        &mut tx,
        actor,
        "plan.resource_unmatch",
        "case",
        case_id,
        json(&serde_json::json!({"match_id": m.id, "resource_id": m.resource_id, "quantity": m.quantity})),
    )
    .await?;
    tx.commit().await?;
    case_needs(db, actor, case_id).await
}

/// The non-funds resources accepted onto a case's plan (funds are its budget lines), for the
/// printed plan; the caller has authorised the case.
pub async fn plan_sources(e: &mut impl Exec, case_id: i64) -> Result<Vec<MatchView>, AppError> {
    Ok(store::matches_of_case(e, case_id)
        .await?
        .into_iter()
        .filter(|m| m.budget_id.is_none())
        .map(|m| MatchView {
            quantity_text: kind_of(&m.resource_kind).show(m.quantity, &m.measure),
            matched: m,
        })
        .collect())
}

/// Whether a budget line was written by a match (removed by cancelling the match instead).
pub(crate) async fn budget_from_match(e: &mut impl Exec, budget_id: i64) -> Result<bool, AppError> {
    Ok(store::match_of_budget(e, budget_id).await?.is_some())
}

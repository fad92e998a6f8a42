//! Topic intake and screening (issue 3; DOMAIN.md section 2). Staff entry and the resident
//! portal share one validation; status changes follow `roundtable_core::topics` and keep their
//! history; similar open matters are suggested from the terms stored at intake (R-TOP-5).

use rand::RngCore;
use roundtable_core::FieldErrors;
use roundtable_core::access::{Action, Actor, ResourceKind, permit, scope};
use roundtable_core::org::{OrgKind, OrgLevel};
use roundtable_core::privacy::mask_phone;
use roundtable_core::similarity::{self, Bag};
use roundtable_core::topics::{
    Category, Channel, Level, RejectReason, Status, Transition, check_transition,
    normalise_tracking_code, public_status, tracking_code,
};
use roundtable_core::validate::{optional_phone, optional_text, required_text};
use roundtable_store::topics::{self, StatusChange, Topic, TopicEvent, TopicFields, TopicFilter};
use roundtable_store::{Db, Exec, PageReq, Paged, orgs, people};

use super::{actor_id, audit_change, require};
use crate::error::AppError;

/// What staff type (and, with `channel` fixed to 网上平台, what the portal sends).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TopicInput {
    /// The community (or village) the matter belongs to.
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub org_id: Option<i64>,
    pub title: String,
    pub description: String,
    /// R-TOP-2: safety, environment, culture, living_care, public_benefit, other (or 安全防护类…)
    pub category: String,
    /// Required for 其他类: why none of the five fits.
    pub category_reason: Option<String>,
    /// R-TOP-1: home_visit, deputies, party_members, questionnaire, hotline, qq, wechat, portal, other
    pub channel: String,
    /// Who collected it (required for the top-down channels).
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub collector_person_id: Option<i64>,
    pub submitter_name: Option<String>,
    /// Mobile number; personal data, shown masked.
    pub submitter_phone: Option<String>,
    /// The submitter agrees to be contacted ("1", "on" or "true" from a form).
    pub contact_consent: Option<String>,
    pub location: Option<String>,
    /// R-TOP-4: district, street, community (default community)
    pub level: Option<String>,
    /// The day it was collected (YYYY-MM-DD), when entered on a later day: a visit written up
    /// afterwards, a paper sheet typed in. Empty: today. Not on the portal.
    pub collected_on: Option<String>,
}

fn truthy(v: Option<&str>) -> bool {
    matches!(v.map(str::trim), Some("1" | "on" | "true" | "yes" | "是"))
}

/// R-TOP-2: one of the six categories; 其他类 with a short reason.
fn check_category(
    errors: &mut FieldErrors,
    category: &str,
    reason: Option<&str>,
) -> (Option<Category>, Option<String>) {
    let c = Category::parse(category);
    if c.is_none() {
        errors.add("category", "请选择六类议题之一");
    }
    let reason = optional_text(errors, "category_reason", "归为其他类的理由", reason, 100);
    if c.is_some_and(Category::needs_reason) && reason.is_none() {
        errors.add("category_reason", "归为“其他类”时请简要说明理由");
    }
    (c, reason)
}

/// The similarity terms of a matter (jieba segmentation: the costly part of intake).
fn stored_terms(input: &TopicInput) -> String {
    similarity::to_stored(&super::similar::terms(
        input.title.trim(),
        input.description.trim(),
    ))
}

/// Checks a matter. `terms` may come segmented already, so that the portal segments before it
/// takes the write lock.
async fn validate(
    e: &mut impl Exec,
    input: &TopicInput,
    terms: Option<String>,
) -> Result<(TopicFields, String), AppError> {
    let mut errors = FieldErrors::new();
    let title = required_text(&mut errors, "title", "标题", &input.title, 50);
    let description = required_text(&mut errors, "description", "内容", &input.description, 2000);
    let (category, category_reason) = check_category(
        &mut errors,
        &input.category,
        input.category_reason.as_deref(),
    );
    let channel = Channel::parse(&input.channel);
    if channel.is_none() {
        errors.add("channel", "请选择来源渠道");
    }
    let level = match input
        .level
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => Some(Level::Community),
        Some(l) => Level::parse(l),
    };
    if level.is_none() {
        errors.add("level", "层级应为区级、街道/镇级或社区/村级");
    }
    let submitter_name = optional_text(
        &mut errors,
        "submitter_name",
        "反映人称呼",
        input.submitter_name.as_deref(),
        30,
    );
    let submitter_phone = optional_phone(
        &mut errors,
        "submitter_phone",
        input.submitter_phone.as_deref(),
    );
    let location = optional_text(
        &mut errors,
        "location",
        "地点",
        input.location.as_deref(),
        100,
    );
    let collected_on = roundtable_core::validate::optional_date(
        &mut errors,
        "collected_on",
        "收集日期",
        input.collected_on.as_deref(),
    );
    if collected_on.is_some_and(|d| d > crate::render::today()) {
        errors.add("collected_on", "收集日期不能晚于今天");
    }
    let org = match input.org_id {
        None => None,
        Some(id) => orgs::get(e, id).await?,
    };
    match &org {
        None => errors.add("org_id", "请选择所在社区（村）"),
        Some(o) if OrgKind::parse(&o.kind).map(OrgKind::level) != Some(OrgLevel::Community) => {
            errors.add("org_id", "议题应归属到社区或村")
        }
        _ => {}
    }
    if let Some(c) = channel
        && c.needs_collector()
    {
        match input.collector_person_id {
            None => errors.add(
                "collector_person_id",
                format!("「{}」须填写收集人", c.label()),
            ),
            Some(pid) => {
                if people::get(e, pid).await?.is_none() {
                    errors.add("collector_person_id", "收集人不存在");
                }
            }
        }
    }
    errors.into_result().map_err(AppError::Validation)?;
    let (Some(org), Some(category), Some(channel), Some(level)) = (org, category, channel, level)
    else {
        return Err(AppError::BadRequest("议题信息不完整".into()));
    };
    let terms = terms.unwrap_or_else(|| stored_terms(input));
    Ok((
        TopicFields {
            org_id: org.id,
            title,
            description,
            category: category.code().into(),
            category_reason: category_reason.filter(|_| category.needs_reason()),
            channel: channel.code().into(),
            direction: channel.direction().code().into(),
            collector_person_id: input
                .collector_person_id
                .filter(|_| channel.needs_collector()),
            submitter_name,
            submitter_phone,
            contact_consent: truthy(input.contact_consent.as_deref()),
            location,
            collected_on,
            level: level.code().into(),
            terms,
        },
        org.path,
    ))
}

fn new_tracking_code() -> String {
    let mut b = [0u8; 9];
    rand::rngs::OsRng.fill_bytes(&mut b);
    tracking_code(b)
}

/// Inserts with a fresh tracking code (a code already taken is drawn again); returns the id and
/// the code.
async fn insert(
    e: &mut impl Exec,
    fields: &TopicFields,
    created_by: Option<i64>,
) -> Result<(i64, String), AppError> {
    for _ in 0..3 {
        let code = new_tracking_code();
        let stored =
            topics::insert_if_code_free(e, &code, fields, Status::Pending.code(), created_by)
                .await?;
        if let Some(id) = stored {
            return Ok((id, code));
        }
    }
    Err(AppError::Internal(
        "could not draw a free tracking code".into(),
    ))
}

/// Hides the submitter's number from readers who may not see it.
fn masked_for(actor: &Actor, mut t: Topic) -> Topic {
    if !permit(
        actor,
        Action::ViewPersonal,
        ResourceKind::Topic,
        &t.org_path,
        None,
    ) {
        t.submitter_phone = t.submitter_phone.as_deref().map(mask_phone);
    }
    t
}

/// Staff intake (hotline, visits, offline lists).
pub async fn create(db: &Db, actor: &Actor, input: &TopicInput) -> Result<Topic, AppError> {
    let mut tx = db.begin().await?;
    let id = create_in(&mut tx, actor, input).await?;
    tx.commit().await?;
    Ok(masked_for(
        actor,
        topics::get(&mut db.pool(), id)
            .await?
            .ok_or(AppError::NotFound)?,
    ))
}

/// Staff intake with photos taken on the visit (the same checks and limits as the portal's).
pub async fn create_with_photos(
    db: &Db,
    actor: &Actor,
    input: &TopicInput,
    photos: Uploads<'_>,
) -> Result<Topic, AppError> {
    let checked = check_photos(photos.files)?;
    let mut tx = db.begin().await?;
    let id = create_in(&mut tx, actor, input).await?;
    attach_photos(&mut tx, photos.data_dir, id, &checked).await?;
    tx.commit().await?;
    get(db, actor, id).await
}

/// Staff intake inside the caller's transaction (a questionnaire answer, an import): checks,
/// stores with its first history entry and audits; returns the id.
pub async fn create_in(
    tx: &mut roundtable_store::Tx,
    actor: &Actor,
    input: &TopicInput,
) -> Result<i64, AppError> {
    let (fields, path) = validate(tx, input, None).await?;
    require(actor, Action::Edit, ResourceKind::Topic, &path, None)?;
    let (id, _) = insert(tx, &fields, actor_id(actor)).await?;
    let t = topics::get(tx, id).await?.ok_or(AppError::NotFound)?;
    let shown = masked_for(&Actor::default(), t);
    audit_change(tx, actor, "topic", id, None, &shown).await?;
    Ok(id)
}

/// A matter handed over by a partner system (issue 7 point 5), inside the caller's
/// transaction: checked like any other, stored with its first history entry and audited as the
/// partner's (no account); returns the id and the tracking code.
pub(crate) async fn create_from_partner(
    tx: &mut roundtable_store::Tx,
    partner: &str,
    input: &TopicInput,
) -> Result<(i64, String), AppError> {
    let (fields, _) = validate(tx, input, None).await?;
    let (id, code) = insert(tx, &fields, None).await?;
    let t = topics::get(tx, id).await?.ok_or(AppError::NotFound)?;
    let shown = masked_for(&Actor::default(), t);
    roundtable_store::audit::record(
        tx,
        None,
        "topic.partner",
        "topic",
        Some(id),
        None,
        Some(&serde_json::json!({"partner": partner, "topic": super::json(&shown)})),
    )
    .await?;
    Ok((id, code))
}

/// Photos sent with a matter, and where they are kept.
pub struct Uploads<'a> {
    pub data_dir: &'a std::path::Path,
    pub files: Vec<Vec<u8>>,
}

fn check_photos(files: Vec<Vec<u8>>) -> Result<Vec<super::photos::Photo>, AppError> {
    if files.len() > super::photos::MAX_PHOTOS {
        return Err(AppError::field(
            "photos",
            format!("最多上传{}张照片", super::photos::MAX_PHOTOS),
        ));
    }
    files
        .into_iter()
        .enumerate()
        .map(|(i, f)| super::photos::check(i + 1, f))
        .collect()
}

/// Stores checked photos with a topic (files first: the same content is one file, and a file
/// whose row is rolled back is never shown).
async fn attach_photos(
    tx: &mut roundtable_store::Tx,
    data_dir: &std::path::Path,
    topic_id: i64,
    photos: &[super::photos::Photo],
) -> Result<(), AppError> {
    for p in photos {
        super::photos::save(data_dir, p)?;
        topics::add_photo(
            tx,
            topic_id,
            &p.sha256,
            p.mime,
            p.bytes.len() as i64,
            p.width as i64,
            p.height as i64,
        )
        .await?;
    }
    Ok(())
}

/// A resident's front end (e.g. a mini-program) sends photos after the matter: within an hour of
/// submitting, up to the limit, by tracking code. Returns how many photos the matter has.
pub async fn add_public_photos(
    db: &Db,
    code: &str,
    uploads: Uploads<'_>,
) -> Result<usize, AppError> {
    let code = normalise_tracking_code(code).ok_or(AppError::NotFound)?;
    if uploads.files.is_empty() {
        return Err(AppError::field("photos", "请选择照片"));
    }
    let mut tx = db.begin().await?;
    let t = topics::by_tracking_code(&mut tx, &code)
        .await?
        .ok_or(AppError::NotFound)?;
    if t.channel != Channel::Portal.code()
        || roundtable_store::now() - t.created_at > chrono::Duration::hours(1)
    {
        return Err(AppError::field(
            "photos",
            "照片须在提交后1小时内补充；之后请联系社区",
        ));
    }
    let have = topics::photos(&mut tx, t.id).await?.len();
    if have + uploads.files.len() > super::photos::MAX_PHOTOS {
        return Err(AppError::field(
            "photos",
            format!("每件事最多{}张照片", super::photos::MAX_PHOTOS),
        ));
    }
    let checked = check_photos(uploads.files)?;
    attach_photos(&mut tx, uploads.data_dir, t.id, &checked).await?;
    tx.commit().await?;
    Ok(have + checked.len())
}

/// A photo of a topic the actor may see: its row and the file to send.
pub async fn photo_file(
    db: &Db,
    actor: &Actor,
    data_dir: &std::path::Path,
    topic_id: i64,
    photo_id: i64,
    thumb: bool,
) -> Result<(String, Vec<u8>), AppError> {
    get(db, actor, topic_id).await?;
    let p = topics::photo(&mut db.pool(), photo_id)
        .await?
        .filter(|p| p.topic_id == topic_id)
        .ok_or(AppError::NotFound)?;
    super::photos::read(data_dir, &p.sha256, &p.mime, thumb).await
}

pub async fn photos(
    db: &Db,
    actor: &Actor,
    id: i64,
) -> Result<Vec<roundtable_store::topics::TopicPhoto>, AppError> {
    get(db, actor, id).await?;
    Ok(topics::photos(&mut db.pool(), id).await?)
}

/// Portal submissions one phone number may make in a day.
const PER_PHONE_PER_DAY: i64 = 10;

/// The resident portal: no account; the channel is 网上平台. Limited per client address
/// (`limit`) and per phone number. Returns the tracking code.
pub async fn submit_public(
    db: &Db,
    limit: &crate::limits::RateLimiter,
    client: &str,
    input: &TopicInput,
    photos: Uploads<'_>,
) -> Result<String, AppError> {
    if !limit.allow(client) {
        return Err(AppError::TooMany);
    }
    let checked = check_photos(photos.files)?;
    let mut input = input.clone();
    input.channel = Channel::Portal.code().into();
    input.collector_person_id = None;
    input.level = None;
    input.collected_on = None;
    // Segmented before the write lock: writers queue for it one at a time.
    let terms = stored_terms(&input);
    let mut tx = db.begin().await?;
    let (fields, _) = validate(&mut tx, &input, Some(terms)).await?;
    if let Some(phone) = &fields.submitter_phone {
        let since = roundtable_store::now() - chrono::Duration::days(1);
        if topics::count_by_phone_since(&mut tx, phone, since).await? >= PER_PHONE_PER_DAY {
            return Err(AppError::TooMany);
        }
    }
    let (id, code) = insert(&mut tx, &fields, None).await?;
    attach_photos(&mut tx, photos.data_dir, id, &checked).await?;
    tx.commit().await?;
    Ok(code)
}

/// What anyone with the tracking code may see: no personal data, no internal notes.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PublicTopic {
    pub tracking_code: String,
    pub community: String,
    pub title: String,
    pub category: String,
    /// The status shown: a merged matter follows the topic it was merged into (R-TOP-5).
    pub status: String,
    pub status_label: String,
    pub submitted_at: chrono::DateTime<chrono::Utc>,
    pub history: Vec<PublicEvent>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PublicEvent {
    pub at: chrono::DateTime<chrono::Utc>,
    pub status: String,
    pub status_label: String,
    pub note: Option<String>,
}

fn public_events(events: Vec<TopicEvent>) -> Vec<PublicEvent> {
    events
        .into_iter()
        .map(|e| {
            let s = Status::parse(&e.to_status);
            PublicEvent {
                at: e.at,
                status: e.to_status.clone(),
                status_label: s.map_or(e.to_status, |s| s.label().into()),
                note: e.public_note,
            }
        })
        .collect()
}

/// Looks a matter up by its tracking code; when a phone number was given with it, the last 4
/// digits must match too. A wrong or forged code is "not found", whatever the reason.
pub async fn get_public(
    db: &Db,
    code: &str,
    phone_last4: Option<&str>,
) -> Result<PublicTopic, AppError> {
    let code = normalise_tracking_code(code).ok_or(AppError::NotFound)?;
    let mut e = db.pool();
    let t = topics::by_tracking_code(&mut e, &code)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(phone) = &t.submitter_phone
        && !phone_last4.is_some_and(|l| phone.ends_with(l.trim()) && l.trim().len() == 4)
    {
        return Err(AppError::field(
            "phone_last4",
            "请填写提交时所留手机号码的后4位",
        ));
    }
    let mut history = public_events(topics::events(&mut e, t.id).await?);
    let mut shown = Status::parse(&t.status).unwrap_or(Status::Pending);
    if let Some(into) = t.merged_into
        && let Some(survivor) = topics::get(&mut e, into).await?
    {
        shown = public_status(shown, Status::parse(&survivor.status));
        // The survivor's later steps are this matter's steps too.
        let merged_at = history.last().map(|h| h.at);
        history.extend(
            public_events(topics::events(&mut e, survivor.id).await?)
                .into_iter()
                .filter(|h| merged_at.is_some_and(|m| h.at > m)),
        );
    }
    Ok(PublicTopic {
        tracking_code: t.tracking_code,
        community: t.org_name,
        title: t.title,
        category: Category::parse(&t.category).map_or(t.category.clone(), |c| c.label().into()),
        status: shown.code().into(),
        status_label: shown.label().into(),
        submitted_at: t.created_at,
        history,
    })
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> Result<Topic, AppError> {
    let t = topics::get(&mut db.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(actor, Action::View, ResourceKind::Topic, &t.org_path, None)?;
    Ok(masked_for(actor, t))
}

pub async fn history(db: &Db, actor: &Actor, id: i64) -> Result<Vec<TopicEvent>, AppError> {
    get(db, actor, id).await?;
    Ok(topics::events(&mut db.pool(), id).await?)
}

/// The screening desk's list: the actor's subtree, filtered; words are segmented.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct TopicQuery {
    pub status: Option<String>,
    pub category: Option<String>,
    pub channel: Option<String>,
    pub level: Option<String>,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub org_id: Option<i64>,
    /// Words (Chinese is segmented)
    pub q: Option<String>,
    /// YYYY-MM-DD (China time), inclusive
    pub from: Option<String>,
    /// YYYY-MM-DD (China time), inclusive
    pub to: Option<String>,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub page: Option<i64>,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub per_page: Option<i64>,
}

/// A list filter given as a code or a Chinese name; an unknown value is a field error.
fn filter_code<T: Copy>(
    errors: &mut FieldErrors,
    field: &str,
    value: &Option<String>,
    parse: fn(&str) -> Option<T>,
    code: fn(T) -> &'static str,
) -> Option<String> {
    let v = value.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    match parse(v) {
        Some(x) => Some(code(x).to_string()),
        None => {
            errors.add(field, format!("无效的筛选条件「{v}」"));
            None
        }
    }
}

pub async fn list(db: &Db, actor: &Actor, q: &TopicQuery) -> Result<Paged<Topic>, AppError> {
    let mut errors = FieldErrors::new();
    let status = filter_code(
        &mut errors,
        "status",
        &q.status,
        Status::parse,
        Status::code,
    );
    let category = filter_code(
        &mut errors,
        "category",
        &q.category,
        Category::parse,
        Category::code,
    );
    let channel = filter_code(
        &mut errors,
        "channel",
        &q.channel,
        Channel::parse,
        Channel::code,
    );
    let level = filter_code(&mut errors, "level", &q.level, Level::parse, Level::code);
    let from = roundtable_core::validate::optional_date(
        &mut errors,
        "from",
        "开始日期",
        q.from.as_deref(),
    );
    let to =
        roundtable_core::validate::optional_date(&mut errors, "to", "结束日期", q.to.as_deref());
    errors.into_result().map_err(AppError::Validation)?;
    let filter = TopicFilter {
        status,
        category,
        channel,
        level,
        org_id: q.org_id,
        from: from.map(roundtable_store::china_day_start),
        until: to.map(|d| roundtable_store::china_day_start(d + chrono::Duration::days(1))),
        words: q
            .q
            .as_deref()
            .map(super::similar::query_words)
            .unwrap_or_default(),
    };
    let mut page = topics::list(
        &mut db.pool(),
        &scope(actor, Action::View, ResourceKind::Topic),
        &filter,
        PageReq::new(q.page, q.per_page),
    )
    .await?;
    page.items = page
        .items
        .into_iter()
        .map(|t| masked_for(actor, t))
        .collect();
    Ok(page)
}

/// A screening decision as sent by a form or the API.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct DecisionInput {
    /// accept, reject, merge, adopt, finish, reopen, or classify (change category and level)
    pub action: String,
    /// For classify: the new category (R-TOP-2)
    pub category: Option<String>,
    /// For classify to 其他类: why
    pub category_reason: Option<String>,
    /// For classify: district, street or community (R-TOP-4)
    pub level: Option<String>,
    /// For reject: personal, other_community, duplicate, unlawful, other
    pub reason: Option<String>,
    /// For reject (personal appeals): where it was referred
    pub referred_to: Option<String>,
    /// For merge: the surviving topic
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub into: Option<i64>,
    /// Shown to the submitter with the new status
    pub public_note: Option<String>,
    /// Kept for staff only
    pub internal_note: Option<String>,
}

fn transition_of(d: &DecisionInput) -> Result<Transition, AppError> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    Ok(match d.action.trim() {
        "accept" => Transition::Accept,
        "reject" => Transition::Reject {
            reason: d
                .reason
                .as_deref()
                .and_then(RejectReason::parse)
                .ok_or_else(|| AppError::field("reason", "请选择不予受理的理由"))?,
            note: text(&d.public_note),
            referred_to: text(&d.referred_to),
        },
        "merge" => Transition::Merge {
            into: d
                .into
                .ok_or_else(|| AppError::field("into", "请选择合并到的议题"))?,
        },
        // R-PROC-1: a matter is chosen by creating its case (services::cases::create), which
        // adopts it in the same transaction; the case's 办结 finishes it.
        "adopt" => {
            return Err(AppError::field(
                "action",
                "请在议题页面点击「立项」，由议事案例确定议题",
            ));
        }
        "finish" => Transition::Finish,
        "reopen" => Transition::Reopen {
            note: text(&d.public_note),
        },
        _ => return Err(AppError::field("action", "未知的操作")),
    })
}

/// Applies a screening decision (R-TOP-3, R-TOP-5) with its history entry and audit record.
pub async fn decide(db: &Db, actor: &Actor, id: i64, d: &DecisionInput) -> Result<Topic, AppError> {
    let mut tx = db.begin().await?;
    let t = decide_in(&mut tx, actor, id, d).await?;
    tx.commit().await?;
    Ok(t)
}

/// The same decision on several matters at once (the screening desk's bulk actions): all of
/// them or none; an error names the matter it stopped at.
pub async fn decide_many(
    db: &Db,
    actor: &Actor,
    ids: &[i64],
    d: &DecisionInput,
) -> Result<Vec<Topic>, AppError> {
    if ids.is_empty() {
        return Err(AppError::field("ids", "请至少选择一个议题"));
    }
    if ids.len() > 200 {
        return Err(AppError::field("ids", "一次最多处理200个议题"));
    }
    let mut tx = db.begin().await?;
    let mut done = Vec::new();
    for id in ids {
        match decide_in(&mut tx, actor, *id, d).await {
            Ok(t) => done.push(t),
            Err(AppError::Validation(f)) => {
                let why = f.0.values().cloned().collect::<Vec<_>>().join("；");
                return Err(AppError::field(
                    "ids",
                    format!("议题 {id}：{why}（均未处理）"),
                ));
            }
            Err(e) => return Err(e),
        }
    }
    tx.commit().await?;
    Ok(done)
}

async fn decide_in(
    tx: &mut roundtable_store::Tx,
    actor: &Actor,
    id: i64,
    d: &DecisionInput,
) -> Result<Topic, AppError> {
    let mut errors = FieldErrors::new();
    let public_note = optional_text(
        &mut errors,
        "public_note",
        "说明",
        d.public_note.as_deref(),
        500,
    );
    let internal_note = optional_text(
        &mut errors,
        "internal_note",
        "内部备注",
        d.internal_note.as_deref(),
        500,
    );
    let referred_to = optional_text(
        &mut errors,
        "referred_to",
        "转交去向",
        d.referred_to.as_deref(),
        100,
    );
    errors.into_result().map_err(AppError::Validation)?;
    if d.action.trim() == "classify" {
        return reclassify_in(tx, actor, id, d, internal_note.as_deref()).await;
    }
    let t = transition_of(d)?;
    let before = topics::get(tx, id).await?.ok_or(AppError::NotFound)?;
    require_decider(actor, &before)?;
    let from = Status::parse(&before.status).unwrap_or(Status::Pending);
    if from == Status::Adopted {
        return Err(AppError::field(
            "action",
            "该议题已立项，由其议事案例推进和办结",
        ));
    }
    check_transition(from, &t, id).map_err(|(f, m)| AppError::field(f, m))?;
    let mut change = StatusChange {
        to: t.target().code(),
        public_note: public_note.as_deref(),
        internal_note: internal_note.as_deref(),
        ..Default::default()
    };
    let reason_code;
    match &t {
        Transition::Reject { reason, .. } => {
            reason_code = reason.code();
            change.reject_reason = Some(reason_code);
            change.referred_to = referred_to.as_deref();
        }
        Transition::Merge { into } => {
            let survivor = topics::get(tx, *into)
                .await?
                .ok_or_else(|| AppError::field("into", "要合并到的议题不存在"))?;
            require_decider(actor, &survivor)?;
            if !roundtable_core::topics::is_open(
                Status::parse(&survivor.status).unwrap_or(Status::Done),
            ) {
                return Err(AppError::field("into", "只能合并到尚在办理中的议题"));
            }
            // Whatever was merged into this topic follows it to the survivor.
            topics::repoint_merged(tx, id, *into).await?;
            change.merged_into = Some(*into);
        }
        _ => {}
    }
    topics::change_status(tx, id, from.code(), actor_id(actor), &change).await?;
    record_change(tx, actor, before).await
}

/// A topic follows its case (R-PROC-1): adopted when the case is created, finished at 办结,
/// released when the case is stopped. The case service has checked the actor's permission on
/// the case; the topic's own status rule is checked here. The note is shown to the submitter.
pub(crate) async fn follow_case(
    tx: &mut roundtable_store::Tx,
    actor: &Actor,
    id: i64,
    t: Transition,
    public_note: &str,
) -> Result<(), AppError> {
    let before = topics::get(tx, id).await?.ok_or(AppError::NotFound)?;
    let from = Status::parse(&before.status).unwrap_or(Status::Pending);
    check_transition(from, &t, id).map_err(|(f, m)| AppError::field(f, m))?;
    let change = StatusChange {
        to: t.target().code(),
        public_note: Some(public_note),
        ..Default::default()
    };
    topics::change_status(tx, id, from.code(), actor_id(actor), &change).await?;
    record_change(tx, actor, before).await?;
    Ok(())
}

/// Reads the changed topic back and audits the change (personal data masked in the log).
async fn record_change(
    tx: &mut roundtable_store::Tx,
    actor: &Actor,
    before: Topic,
) -> Result<Topic, AppError> {
    let after = topics::get(tx, before.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let hide = Actor::default();
    audit_change(
        tx,
        actor,
        "topic",
        before.id,
        Some(&masked_for(&hide, before)),
        &masked_for(&hide, after.clone()),
    )
    .await?;
    Ok(masked_for(actor, after))
}

/// Edit permission on the topic's node, and (R-TOP-4) a role that decides matters of its level.
fn require_decider(actor: &Actor, t: &Topic) -> Result<(), AppError> {
    require(actor, Action::Edit, ResourceKind::Topic, &t.org_path, None)?;
    let level = Level::parse(&t.level).unwrap_or(Level::Community);
    if roundtable_core::topics::may_decide(actor, &t.org_path, level) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Changes category and level while the matter is being screened (R-TOP-2, R-TOP-4).
async fn reclassify_in(
    tx: &mut roundtable_store::Tx,
    actor: &Actor,
    id: i64,
    d: &DecisionInput,
    internal_note: Option<&str>,
) -> Result<Topic, AppError> {
    let mut errors = FieldErrors::new();
    let (category, reason) = check_category(
        &mut errors,
        d.category.as_deref().unwrap_or(""),
        d.category_reason.as_deref(),
    );
    let level = d.level.as_deref().and_then(Level::parse);
    if level.is_none() {
        errors.add("level", "层级应为区级、街道/镇级或社区/村级");
    }
    errors.into_result().map_err(AppError::Validation)?;
    let (Some(category), Some(level)) = (category, level) else {
        return Err(AppError::BadRequest("分类信息不完整".into()));
    };
    let before = topics::get(tx, id).await?.ok_or(AppError::NotFound)?;
    require_decider(actor, &before)?;
    if !matches!(
        Status::parse(&before.status),
        Some(Status::Pending | Status::Accepted)
    ) {
        return Err(AppError::field(
            "status",
            "只有待筛选或已受理的议题可以调整类别和层级",
        ));
    }
    let note = format!(
        "类别：{} → {}；层级：{} → {}{}",
        Category::parse(&before.category).map_or("", |c| c.label()),
        category.label(),
        Level::parse(&before.level).map_or("", |l| l.label()),
        level.label(),
        internal_note
            .map(|n| format!("（{n}）"))
            .unwrap_or_default()
    );
    topics::reclassify(
        tx,
        id,
        &before.status,
        actor_id(actor),
        topics::Classification {
            category: category.code(),
            category_reason: reason.as_deref().filter(|_| category.needs_reason()),
            level: level.code(),
        },
        &note,
    )
    .await?;
    record_change(tx, actor, before).await
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub topic: Topic,
    /// Cosine similarity, 0–1
    pub score: f64,
}

/// R-TOP-5: the open matters most like `text` in the same community and the other communities
/// of its street (newest 2,000 at most), best first.
pub async fn similar_to(
    db: &Db,
    actor: &Actor,
    org_id: i64,
    query: &Bag,
    exclude: Option<i64>,
    k: usize,
) -> Result<Vec<Suggestion>, AppError> {
    let mut e = db.conn().await?;
    let org = orgs::get(&mut e, org_id).await?.ok_or(AppError::NotFound)?;
    let mut nodes = vec![org.clone()];
    if let Some(parent) = org.parent_id {
        nodes.extend(orgs::children(&mut e, parent).await?);
    }
    // Only the nodes whose topics the actor may see; the rest is never compared.
    let mut node_ids: Vec<i64> = nodes
        .iter()
        .filter(|o| permit(actor, Action::View, ResourceKind::Topic, &o.path, None))
        .map(|o| o.id)
        .collect();
    node_ids.sort_unstable();
    node_ids.dedup();
    let stored = topics::open_terms_in(&mut e, &node_ids, 2000).await?;
    let candidates: Vec<(i64, &str)> = stored
        .iter()
        .filter(|(id, _)| Some(*id) != exclude)
        .map(|(id, terms)| (*id, terms.as_str()))
        .collect();
    let scored = similarity::most_similar(query, &candidates, k);
    let ids: Vec<i64> = scored.iter().map(|(id, _)| *id).collect();
    let mut found = topics::get_many(&mut e, &ids).await?;
    let mut out = Vec::with_capacity(scored.len());
    for (id, score) in scored {
        if let Some(i) = found.iter().position(|t| t.id == id) {
            out.push(Suggestion {
                topic: masked_for(actor, found.swap_remove(i)),
                score,
            });
        }
    }
    Ok(out)
}

/// Suggestions for a stored topic (its own terms).
pub async fn similar(db: &Db, actor: &Actor, id: i64) -> Result<Vec<Suggestion>, AppError> {
    let t = get(db, actor, id).await?;
    similar_to(
        db,
        actor,
        t.org_id,
        &Bag::from_stored(&t.terms),
        Some(id),
        5,
    )
    .await
}

/// The topics merged into `id` (every source and submitter is kept, R-TOP-5).
pub async fn sources(db: &Db, actor: &Actor, id: i64) -> Result<Vec<Topic>, AppError> {
    get(db, actor, id).await?;
    Ok(topics::merged_sources(&mut db.pool(), id)
        .await?
        .into_iter()
        .map(|t| masked_for(actor, t))
        .collect())
}

/// Communities a resident can choose on the portal: (id, name, street name).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PublicCommunity {
    pub id: i64,
    pub name: String,
    pub street: String,
}

pub async fn public_communities(db: &Db) -> Result<Vec<PublicCommunity>, AppError> {
    let all = orgs::all(&mut db.pool()).await?;
    let by_id: std::collections::HashMap<i64, &roundtable_store::orgs::Org> =
        all.iter().map(|o| (o.id, o)).collect();
    let mut list: Vec<(_, PublicCommunity)> = all
        .iter()
        .filter(|o| OrgKind::parse(&o.kind).map(OrgKind::level) == Some(OrgLevel::Community))
        .map(|o| {
            let street = o.parent_id.and_then(|p| by_id.get(&p).copied());
            // Streets in their order, then each street's communities in theirs.
            let key = (
                street.map_or(0, |s| s.sort_order),
                street.map_or(0, |s| s.id),
                o.sort_order,
                o.name.clone(),
            );
            let c = PublicCommunity {
                id: o.id,
                name: o.name.clone(),
                street: street.map(|s| s.name.clone()).unwrap_or_default(),
            };
            (key, c)
        })
        .collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(list.into_iter().map(|(_, c)| c).collect())
}

/// People who may have collected a matter on a top-down channel (R-TOP-1), as the intake form
/// offers them: those the actor can see, by node and name (the first 200).
pub async fn collectors(db: &Db, actor: &Actor) -> Result<Vec<(i64, String)>, AppError> {
    let page = people::list(
        &mut db.pool(),
        &scope(actor, Action::View, ResourceKind::Person),
        &Default::default(),
        PageReq::new(Some(1), Some(200)),
    )
    .await?;
    Ok(page
        .items
        .into_iter()
        .map(|p| (p.id, format!("{}（{}）", p.name, p.org_name)))
        .collect())
}

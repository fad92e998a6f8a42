//! Questionnaires (调查问卷, issue 3 item 8; R-TOP-1's bottom-up channel): community staff build
//! one as a draft, publish it to their community for a period, residents answer on a phone
//! without an account (one response per device and per phone, rate limited), and staff read the
//! counts, export them, and turn a text answer into a topic with channel 调查问卷.
//! Permissions are those of topics (`ResourceKind::Topic`): a questionnaire is an intake channel.

use std::collections::BTreeMap;

use roundtable_core::FieldErrors;
use roundtable_core::access::{Action, Actor, ResourceKind, permit, scope};
use roundtable_core::org::{OrgKind, OrgLevel};
use roundtable_core::privacy::mask_phone;
use roundtable_core::questionnaire::{
    self as rules, Answer, Question, QuestionDraft, QuestionKind, QuestionnaireStatus, Tally,
};
use roundtable_core::topics::{Category, Channel};
use roundtable_core::validate::{optional_date, optional_phone, optional_text, required_text};
use roundtable_store::questionnaires::{
    self as store, NewAnswer, NewQuestion, Questionnaire, QuestionnaireFields, StoredQuestion,
    TextAnswer,
};
use roundtable_store::{Db, Exec, PageReq, Paged, audit, orgs};
use sha2::{Digest, Sha256};

use super::{actor_id, audit_change, require};
use crate::error::AppError;

/// The header of a questionnaire (and, through the API, its questions).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct QuestionnaireInput {
    /// The community it is published to.
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub org_id: Option<i64>,
    pub title: String,
    /// Shown above the questions: why the community asks.
    pub intro: Option<String>,
    /// R-TOP-2 category for topics made from its text answers (default 其他类 is not allowed:
    /// choose the area the questionnaire is about).
    pub category: String,
    /// YYYY-MM-DD, first day answers are taken (China time).
    pub opens_on: Option<String>,
    /// YYYY-MM-DD, last day answers are taken.
    pub closes_on: Option<String>,
    /// The questions, in order (API only: pages add them one at a time). Absent: unchanged.
    pub questions: Option<Vec<QuestionInput>>,
}

/// One question as sent.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct QuestionInput {
    /// single / multiple / text / rating (or 单选题…)
    pub kind: String,
    pub prompt: String,
    pub required: bool,
    /// The choices of a choice question, in order.
    pub options: Vec<String>,
}

impl QuestionInput {
    fn draft(&self) -> QuestionDraft {
        QuestionDraft {
            kind: self.kind.clone(),
            prompt: self.prompt.clone(),
            required: self.required,
            options: self.options.clone(),
        }
    }
}

impl From<&StoredQuestion> for QuestionInput {
    fn from(q: &StoredQuestion) -> Self {
        QuestionInput {
            kind: q.kind.clone(),
            prompt: q.prompt.clone(),
            required: q.required,
            options: q.options.clone(),
        }
    }
}

/// A questionnaire with its questions.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct QuestionnaireView {
    #[serde(flatten)]
    pub questionnaire: Questionnaire,
    pub questions: Vec<StoredQuestion>,
    /// Why it takes no answers today (None: it does).
    pub closed_reason: Option<String>,
}

fn status_of(q: &Questionnaire) -> QuestionnaireStatus {
    QuestionnaireStatus::parse(&q.status).unwrap_or(QuestionnaireStatus::Draft)
}

fn closed_reason(q: &Questionnaire) -> Option<&'static str> {
    rules::closed_reason(
        status_of(q),
        q.opens_on,
        q.closes_on,
        crate::render::today(),
    )
}

fn view(q: Questionnaire, questions: Vec<StoredQuestion>) -> QuestionnaireView {
    QuestionnaireView {
        closed_reason: closed_reason(&q).map(str::to_string),
        questionnaire: q,
        questions,
    }
}

/// Checks the header; the org must be a community the actor may edit topics of.
async fn validate(
    e: &mut impl Exec,
    actor: &Actor,
    input: &QuestionnaireInput,
) -> Result<(QuestionnaireFields, Option<Vec<Question>>), AppError> {
    let mut errors = FieldErrors::new();
    let title = required_text(&mut errors, "title", "问卷标题", &input.title, 50);
    let intro = optional_text(
        &mut errors,
        "intro",
        "问卷说明",
        input.intro.as_deref(),
        1000,
    );
    let category = Category::parse(&input.category);
    if category.is_none() {
        errors.add("category", "请选择问卷涉及的议题类别");
    }
    let opens_on = optional_date(
        &mut errors,
        "opens_on",
        "开始日期",
        input.opens_on.as_deref(),
    );
    let closes_on = optional_date(
        &mut errors,
        "closes_on",
        "结束日期",
        input.closes_on.as_deref(),
    );
    if let (Some(o), Some(c)) = (opens_on, closes_on)
        && c < o
    {
        errors.add("closes_on", "结束日期不能早于开始日期");
    }
    let questions = input.questions.as_ref().map(|qs| {
        let drafts: Vec<QuestionDraft> = qs.iter().map(QuestionInput::draft).collect();
        rules::check_questions(&mut errors, &drafts)
    });
    let org = match input.org_id {
        None => None,
        Some(id) => orgs::get(e, id).await?,
    };
    match &org {
        None => errors.add("org_id", "请选择发布问卷的社区（村）"),
        Some(o) if OrgKind::parse(&o.kind).map(OrgKind::level) != Some(OrgLevel::Community) => {
            errors.add("org_id", "问卷应发布到社区或村")
        }
        Some(o) if !permit(actor, Action::Edit, ResourceKind::Topic, &o.path, None) => {
            errors.add("org_id", "您不能为这个社区发布问卷")
        }
        _ => {}
    }
    errors.into_result().map_err(AppError::Validation)?;
    let (Some(org), Some(category)) = (org, category) else {
        return Err(AppError::BadRequest("问卷信息不完整".into()));
    };
    Ok((
        QuestionnaireFields {
            org_id: org.id,
            title,
            intro,
            category: category.code().into(),
            opens_on,
            closes_on,
        },
        questions,
    ))
}

async fn save_questions(
    e: &mut impl Exec,
    id: i64,
    questions: &[Question],
) -> Result<(), AppError> {
    let rows: Vec<NewQuestion> = questions
        .iter()
        .map(|q| NewQuestion {
            kind: q.kind.code(),
            prompt: &q.prompt,
            required: q.required,
            options: &q.options,
        })
        .collect();
    store::replace_questions(e, id, &rows).await?;
    Ok(())
}

pub async fn create(
    db: &Db,
    actor: &Actor,
    input: &QuestionnaireInput,
) -> Result<QuestionnaireView, AppError> {
    let mut tx = db.begin().await?;
    let (fields, questions) = validate(&mut tx, actor, input).await?;
    let id = store::insert(&mut tx, &super::new_public_code(), &fields, actor_id(actor)).await?;
    save_questions(&mut tx, id, questions.as_deref().unwrap_or_default()).await?;
    let created = load(&mut tx, id).await?;
    audit_change(&mut tx, actor, "questionnaire", id, None, &created).await?;
    tx.commit().await?;
    Ok(created)
}

async fn load(e: &mut impl Exec, id: i64) -> Result<QuestionnaireView, AppError> {
    let q = store::get(e, id).await?.ok_or(AppError::NotFound)?;
    let questions = store::questions(e, id).await?;
    Ok(view(q, questions))
}

/// The questionnaire, if the actor may see (`Action::View`) or change (`Action::Edit`) it.
async fn load_for(
    e: &mut impl Exec,
    actor: &Actor,
    action: Action,
    id: i64,
) -> Result<QuestionnaireView, AppError> {
    let v = load(e, id).await?;
    require(
        actor,
        action,
        ResourceKind::Topic,
        &v.questionnaire.org_path,
        None,
    )?;
    Ok(v)
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> Result<QuestionnaireView, AppError> {
    load_for(&mut db.pool(), actor, Action::View, id).await
}

fn require_draft(v: &QuestionnaireView) -> Result<(), AppError> {
    if status_of(&v.questionnaire) != QuestionnaireStatus::Draft {
        return Err(AppError::field(
            "status",
            "问卷已发布，不能再修改；如需调整请新建问卷",
        ));
    }
    Ok(())
}

/// Changes a draft: the header, and the questions when given.
pub async fn update(
    db: &Db,
    actor: &Actor,
    id: i64,
    input: &QuestionnaireInput,
) -> Result<QuestionnaireView, AppError> {
    let mut tx = db.begin().await?;
    let before = load_for(&mut tx, actor, Action::Edit, id).await?;
    require_draft(&before)?;
    let (fields, questions) = validate(&mut tx, actor, input).await?;
    store::update(&mut tx, id, &fields).await?;
    if let Some(qs) = &questions {
        save_questions(&mut tx, id, qs).await?;
    }
    let after = load(&mut tx, id).await?;
    audit_change(&mut tx, actor, "questionnaire", id, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(after)
}

/// How the builder page changes the questions of a draft, one step at a time.
pub enum Edit {
    Add(QuestionInput),
    /// Moves the question at this position (from 1) one place up (`true`) or down.
    Move(usize, bool),
    Delete(usize),
}

pub async fn edit_questions(
    db: &Db,
    actor: &Actor,
    id: i64,
    edit: Edit,
) -> Result<QuestionnaireView, AppError> {
    let mut tx = db.begin().await?;
    let before = load_for(&mut tx, actor, Action::Edit, id).await?;
    require_draft(&before)?;
    let mut drafts: Vec<QuestionDraft> = before
        .questions
        .iter()
        .map(|q| QuestionInput::from(q).draft())
        .collect();
    let n = drafts.len();
    match edit {
        Edit::Add(q) => {
            // Checked alone first, so its errors name the fields of the add form.
            let mut errors = FieldErrors::new();
            rules::check_question(&mut errors, "new", &q.draft());
            if n >= rules::MAX_QUESTIONS {
                errors.add(
                    "new.prompt",
                    format!("题目不能超过{}道", rules::MAX_QUESTIONS),
                );
            }
            errors.into_result().map_err(AppError::Validation)?;
            drafts.push(q.draft());
        }
        Edit::Move(p, up) if (1..=n).contains(&p) => {
            let other = if up { p.checked_sub(1) } else { Some(p + 1) };
            if let Some(o) = other.filter(|o| (1..=n).contains(o)) {
                drafts.swap(p - 1, o - 1);
            }
        }
        Edit::Delete(p) if (1..=n).contains(&p) => {
            drafts.remove(p - 1);
        }
        Edit::Move(..) | Edit::Delete(_) => return Err(AppError::NotFound),
    }
    let mut errors = FieldErrors::new();
    let questions = rules::check_questions(&mut errors, &drafts);
    errors.into_result().map_err(AppError::Validation)?;
    save_questions(&mut tx, id, &questions).await?;
    let after = load(&mut tx, id).await?;
    audit_change(&mut tx, actor, "questionnaire", id, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(after)
}

/// Publishes a draft: it needs questions and a period that has not ended.
pub async fn publish(db: &Db, actor: &Actor, id: i64) -> Result<QuestionnaireView, AppError> {
    let mut tx = db.begin().await?;
    let before = load_for(&mut tx, actor, Action::Edit, id).await?;
    require_draft(&before)?;
    let mut errors = FieldErrors::new();
    if before.questions.is_empty() {
        errors.add("questions", "请先添加题目");
    }
    let q = &before.questionnaire;
    rules::check_period(&mut errors, q.opens_on, q.closes_on, crate::render::today());
    errors.into_result().map_err(AppError::Validation)?;
    store::set_status(&mut tx, id, QuestionnaireStatus::Published.code()).await?;
    let after = load(&mut tx, id).await?;
    audit_change(&mut tx, actor, "questionnaire", id, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(after)
}

/// Ends a published questionnaire early (its answers are kept).
pub async fn close(db: &Db, actor: &Actor, id: i64) -> Result<QuestionnaireView, AppError> {
    let mut tx = db.begin().await?;
    let before = load_for(&mut tx, actor, Action::Edit, id).await?;
    if status_of(&before.questionnaire) != QuestionnaireStatus::Published {
        return Err(AppError::field("status", "只有已发布的问卷可以结束"));
    }
    store::set_status(&mut tx, id, QuestionnaireStatus::Closed.code()).await?;
    let after = load(&mut tx, id).await?;
    audit_change(&mut tx, actor, "questionnaire", id, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(after)
}

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct QuestionnaireQuery {
    /// draft / published / closed
    pub status: Option<String>,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub page: Option<i64>,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub per_page: Option<i64>,
}

pub async fn list(
    db: &Db,
    actor: &Actor,
    q: &QuestionnaireQuery,
) -> Result<Paged<Questionnaire>, AppError> {
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            QuestionnaireStatus::parse(s)
                .ok_or_else(|| AppError::field("status", format!("无效的筛选条件「{s}」")))?
                .code(),
        ),
    };
    let sc = scope(actor, Action::View, ResourceKind::Topic);
    Ok(store::list(
        &mut db.pool(),
        &sc,
        status,
        PageReq::new(q.page, q.per_page),
    )
    .await?)
}

// ---- answering (no account)

/// What a resident sees: no ids but the public code, no counts.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PublicQuestionnaire {
    pub code: String,
    pub community: String,
    pub title: String,
    pub intro: Option<String>,
    pub opens_on: Option<chrono::NaiveDate>,
    pub closes_on: Option<chrono::NaiveDate>,
    /// Why it takes no answers today (None: it does).
    pub closed_reason: Option<String>,
    pub questions: Vec<PublicQuestion>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PublicQuestion {
    /// 1, 2, … : the key of its answer
    pub number: i64,
    pub kind: String,
    pub prompt: String,
    pub required: bool,
    /// Numbered from 1 in the answer.
    pub options: Vec<String>,
}

/// The questionnaire of a public link; a malformed code or a draft is not found.
async fn published_by_code(e: &mut impl Exec, code: &str) -> Result<Questionnaire, AppError> {
    let code = code.trim().to_ascii_lowercase();
    if !super::is_public_code(&code) {
        return Err(AppError::NotFound);
    }
    store::by_public_code(e, &code)
        .await?
        .filter(|q| status_of(q) != QuestionnaireStatus::Draft)
        .ok_or(AppError::NotFound)
}

/// A questionnaire by its public code; drafts are not found.
pub async fn get_public(db: &Db, code: &str) -> Result<PublicQuestionnaire, AppError> {
    let mut e = db.pool();
    let q = published_by_code(&mut e, code).await?;
    let questions = store::questions(&mut e, q.id).await?;
    Ok(PublicQuestionnaire {
        closed_reason: closed_reason(&q).map(str::to_string),
        code: q.public_code,
        community: q.org_name,
        title: q.title,
        intro: q.intro,
        opens_on: q.opens_on,
        closes_on: q.closes_on,
        questions: questions
            .into_iter()
            .map(|s| PublicQuestion {
                number: s.position,
                kind: s.kind,
                prompt: s.prompt,
                required: s.required,
                options: s.options,
            })
            .collect(),
    })
}

/// A response as a form or the API sends it.
pub struct ResponseInput {
    /// Identifies the device: the page's long-lived cookie, or the API client's device id.
    pub device: String,
    pub phone: Option<String>,
    /// Per question number, the values sent (option numbers, a rating, or the text).
    pub answers: BTreeMap<usize, Vec<String>>,
}

fn device_key(device: &str) -> String {
    hex::encode(Sha256::digest(format!("questionnaire-device:{device}")))
}

fn to_rows(questions: &[StoredQuestion], answers: &[Option<Answer>]) -> Vec<NewAnswer> {
    let mut rows = Vec::new();
    for (q, a) in questions.iter().zip(answers) {
        match a {
            None => {}
            Some(Answer::Choices(cs)) => rows.extend(cs.iter().map(|c| NewAnswer {
                question_id: q.id,
                choice: Some(i64::from(*c)),
                ..Default::default()
            })),
            Some(Answer::Rating(r)) => rows.push(NewAnswer {
                question_id: q.id,
                rating: Some(i64::from(*r)),
                ..Default::default()
            }),
            Some(Answer::Text(t)) => rows.push(NewAnswer {
                question_id: q.id,
                text: Some(t.clone()),
                ..Default::default()
            }),
        }
    }
    rows
}

fn core_questions(stored: &[StoredQuestion]) -> Vec<Question> {
    stored
        .iter()
        .map(|s| Question {
            kind: QuestionKind::parse(&s.kind).unwrap_or(QuestionKind::Text),
            prompt: s.prompt.clone(),
            required: s.required,
            options: s.options.clone(),
        })
        .collect()
}

/// The answer to a device or phone that already answered.
pub fn already() -> AppError {
    AppError::field("questionnaire", "您已经填写过这份问卷，感谢参与")
}

/// Whether this device has answered the questionnaire of this public code.
pub async fn device_answered(db: &Db, code: &str, device: &str) -> Result<bool, AppError> {
    let mut e = db.pool();
    let q = published_by_code(&mut e, code).await?;
    Ok(store::already_answered(&mut e, q.id, &device_key(device), None).await?)
}

/// Stores a resident's response: the questionnaire must be open, every answer must fit its
/// question, and this device (and phone, when given) must not have answered yet.
pub async fn answer_public(
    db: &Db,
    limit: &crate::limits::RateLimiter,
    client: &str,
    code: &str,
    input: &ResponseInput,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let phone = optional_phone(&mut errors, "phone", input.phone.as_deref());
    let device = input.device.trim();
    if device.is_empty() || device.len() > 200 {
        errors.add("device_id", "缺少设备标识（1到200个字符）");
    }
    let mut tx = db.begin().await?;
    let stored_q = published_by_code(&mut tx, code).await?;
    if let Some(reason) = closed_reason(&stored_q) {
        return Err(AppError::field("questionnaire", reason));
    }
    // A device that answered is told so first, whatever it sent this time.
    let key = device_key(device);
    if !device.is_empty() && store::already_answered(&mut tx, stored_q.id, &key, None).await? {
        return Err(already());
    }
    let questions = store::questions(&mut tx, stored_q.id).await?;
    let checked = rules::check_answers(&core_questions(&questions), &input.answers);
    if let Err(e) = &checked {
        for (f, m) in &e.0 {
            errors.add(f, m.clone());
        }
    }
    errors.into_result().map_err(AppError::Validation)?;
    let answers = checked.map_err(AppError::Validation)?;
    if !limit.allow(client) {
        return Err(AppError::TooMany);
    }
    if store::already_answered(&mut tx, stored_q.id, &key, phone.as_deref()).await? {
        return Err(already());
    }
    let response = store::insert_response(&mut tx, stored_q.id, &key, phone.as_deref()).await?;
    for row in to_rows(&questions, &answers) {
        store::insert_answer(&mut tx, response, &row).await?;
    }
    tx.commit().await?;
    Ok(())
}

// ---- results

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct QuestionResult {
    #[serde(flatten)]
    pub question: StoredQuestion,
    /// Responses that answered it, counts per option or per star, mean rating.
    #[schema(value_type = Object)]
    pub tally: Tally,
    /// The newest text answers (text questions), masked as the reader must see them.
    pub texts: Vec<TextAnswer>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Results {
    #[serde(flatten)]
    pub questionnaire: Questionnaire,
    pub questions: Vec<QuestionResult>,
}

/// Text answers shown per question on the results page and in the API.
const TEXTS_SHOWN: i64 = 500;

fn mask_for(actor: &Actor, org_path: &str, phone: Option<String>) -> Option<String> {
    if permit(
        actor,
        Action::ViewPersonal,
        ResourceKind::Topic,
        org_path,
        None,
    ) {
        phone
    } else {
        phone.as_deref().map(mask_phone)
    }
}

pub async fn results(db: &Db, actor: &Actor, id: i64) -> Result<Results, AppError> {
    let mut e = db.pool();
    let v = load_for(&mut e, actor, Action::View, id).await?;
    let counts = store::value_counts(&mut e, id).await?;
    let answered = store::answered_counts(&mut e, id).await?;
    let texts =
        store::text_answers(&mut e, id, TEXTS_SHOWN * v.questions.len().max(1) as i64).await?;
    let path = v.questionnaire.org_path.clone();
    let core = core_questions(&v.questions);
    let questions = v
        .questions
        .into_iter()
        .zip(core)
        .map(|(s, q)| {
            let rows: Vec<(i64, i64)> = counts
                .iter()
                .filter(|c| c.0 == s.id)
                .map(|c| (c.1, c.2))
                .collect();
            let n = answered
                .iter()
                .find(|(qid, _)| *qid == s.id)
                .map_or(0, |a| a.1);
            let texts = texts
                .iter()
                .filter(|t| t.question_id == s.id)
                .take(TEXTS_SHOWN as usize)
                .cloned()
                .map(|mut t| {
                    t.phone = mask_for(actor, &path, t.phone.take());
                    t
                })
                .collect();
            QuestionResult {
                tally: rules::tally(&q, n, &rows),
                question: s,
                texts,
            }
        })
        .collect();
    Ok(Results {
        questionnaire: v.questionnaire,
        questions,
    })
}

/// The results as a workbook: 答卷 (one row per response, one column per question) and 统计
/// (counts per option). Needs `Action::Export`; phones are masked unless the reader may see
/// them; the export is audited and carries a line naming who exported it and when.
pub async fn export(db: &Db, actor: &Actor, id: i64) -> Result<(String, Vec<u8>), AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let r = results(db, actor, id).await?;
    require(
        actor,
        Action::Export,
        ResourceKind::Topic,
        &r.questionnaire.org_path,
        None,
    )?;
    let mut e = db.pool();
    let rows = store::all_answers(&mut e, id).await?;
    let x = |e: rust_xlsxwriter::XlsxError| AppError::Internal(format!("xlsx: {e}"));
    let bold = Format::new().set_bold();
    let mut book = Workbook::new();

    let ws = book.add_worksheet();
    ws.set_name("答卷").map_err(x)?;
    let mut head = vec!["答卷编号".to_string(), "提交时间".into(), "手机".into()];
    head.extend(
        r.questions
            .iter()
            .map(|q| format!("{}. {}", q.question.position, q.question.prompt)),
    );
    for (j, h) in head.iter().enumerate() {
        ws.write_string_with_format(0, j as u16, h, &bold)
            .map_err(x)?;
    }
    let mut line = 0u32;
    let mut last = None;
    let mut cells: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let col_of = |qid: i64| r.questions.iter().position(|q| q.question.id == qid);
    let flush = |ws: &mut rust_xlsxwriter::Worksheet,
                 line: u32,
                 row: &RowHead,
                 cells: &BTreeMap<usize, Vec<String>>|
     -> Result<(), AppError> {
        ws.write_number(line, 0, row.0 as f64).map_err(x)?;
        ws.write_string(line, 1, &row.1).map_err(x)?;
        ws.write_string(line, 2, row.2.as_deref().unwrap_or(""))
            .map_err(x)?;
        for (c, vals) in cells {
            ws.write_string(line, 3 + *c as u16, vals.join("；"))
                .map_err(x)?;
        }
        Ok(())
    };
    let path = r.questionnaire.org_path.clone();
    for a in &rows {
        if last.as_ref().map(|h: &RowHead| h.0) != Some(a.response_id) {
            if let Some(h) = &last {
                line += 1;
                flush(ws, line, h, &cells)?;
            }
            cells.clear();
            last = Some(RowHead(
                a.response_id,
                crate::render::china_time(a.submitted_at),
                mask_for(actor, &path, a.phone.clone()),
            ));
        }
        let Some(c) = col_of(a.question_id) else {
            continue;
        };
        let q = &r.questions[c].question;
        let value = match (a.choice, a.rating, &a.text) {
            (Some(n), _, _) => q
                .options
                .get(n as usize - 1)
                .cloned()
                .unwrap_or_else(|| n.to_string()),
            (_, Some(n), _) => n.to_string(),
            (_, _, Some(t)) => t.clone(),
            _ => continue,
        };
        cells.entry(c).or_default().push(value);
    }
    if let Some(h) = &last {
        line += 1;
        flush(ws, line, h, &cells)?;
    }
    ws.set_freeze_panes(1, 0).map_err(x)?;

    let ws = book.add_worksheet();
    ws.set_name("统计").map_err(x)?;
    for (j, h) in ["题目", "题型", "选项", "人数", "占比"].iter().enumerate() {
        ws.write_string_with_format(0, j as u16, *h, &bold)
            .map_err(x)?;
    }
    let mut i = 0u32;
    for q in &r.questions {
        let kind = QuestionKind::parse(&q.question.kind).map_or("", QuestionKind::label);
        let prompt = format!("{}. {}", q.question.position, q.question.prompt);
        let mut put = |label: &str, n: i64| -> Result<(), AppError> {
            i += 1;
            ws.write_string(i, 0, &prompt).map_err(x)?;
            ws.write_string(i, 1, kind).map_err(x)?;
            ws.write_string(i, 2, label).map_err(x)?;
            ws.write_number(i, 3, n as f64).map_err(x)?;
            if q.tally.answered > 0 {
                ws.write_number(i, 4, n as f64 / q.tally.answered as f64)
                    .map_err(x)?;
            }
            Ok(())
        };
        put("作答人数", q.tally.answered)?;
        for (label, n) in &q.tally.counts {
            put(label, *n)?;
        }
        if let Some(m) = q.tally.mean {
            i += 1;
            ws.write_string(i, 0, &prompt).map_err(x)?;
            ws.write_string(i, 2, "平均分").map_err(x)?;
            ws.write_number(i, 3, m).map_err(x)?;
        }
    }
    ws.set_column_width(0, 40).map_err(x)?;
    ws.set_column_width(2, 30).map_err(x)?;
    i += 2;
    ws.write_string(i, 0, super::excel::watermark(&mut e, actor).await?)
        .map_err(x)?;
    audit::record(
        &mut e,
        actor_id(actor),
        "export",
        "questionnaire",
        Some(id),
        None,
        Some(&serde_json::json!({ "responses": r.questionnaire.responses })),
    )
    .await?;
    let bytes = book
        .save_to_buffer()
        .map_err(|e| AppError::Internal(format!("xlsx: {e}")))?;
    Ok((format!("roundtable-questionnaire-{id}-results.xlsx"), bytes))
}

/// Response id, submission time (China), phone as shown.
pub struct RowHead(i64, String, Option<String>);

/// Turns a text answer into a topic of the questionnaire's community with channel 调查问卷
/// (status 待筛选); an answer becomes at most one topic.
pub async fn answer_to_topic(
    db: &Db,
    actor: &Actor,
    questionnaire_id: i64,
    answer_id: i64,
) -> Result<roundtable_store::topics::Topic, AppError> {
    let mut tx = db.begin().await?;
    let v = load_for(&mut tx, actor, Action::Edit, questionnaire_id).await?;
    let a = store::text_answer(&mut tx, answer_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let Some(q) = v.questions.iter().find(|q| q.id == a.question_id) else {
        return Err(AppError::NotFound);
    };
    if a.topic_id.is_some() {
        return Err(AppError::field("answer", "这条回答已经转为议题"));
    }
    let text: String = a.text.chars().take(1900).collect();
    let mut title: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.chars().count() > 30 {
        title = title.chars().take(29).collect::<String>() + "…";
    }
    let category = Category::parse(&v.questionnaire.category).unwrap_or(Category::Other);
    let input = super::topics::TopicInput {
        org_id: Some(v.questionnaire.org_id),
        title,
        description: format!(
            "问卷《{}》第{}题「{}」的回答：{}",
            v.questionnaire.title, q.position, q.prompt, text
        ),
        category: category.code().into(),
        category_reason: category
            .needs_reason()
            .then(|| "来自问卷回答，待筛选时归类".to_string()),
        channel: Channel::Questionnaire.code().into(),
        submitter_phone: a.phone.clone(),
        ..Default::default()
    };
    let topic_id = super::topics::create_in(&mut tx, actor, &input).await?;
    store::set_answer_topic(&mut tx, answer_id, topic_id).await?;
    tx.commit().await?;
    super::topics::get(db, actor, topic_id).await
}

//! The audit record for people (issue 6 item 2): the audit administrator (审计管理员, 三员分立 —
//! neither the system nor the district administrator) searches it by actor, object, action and
//! time, and exports it to .xlsx with the watermark line; the export is itself audited. The
//! record is never purged by the application.

use roundtable_core::FieldErrors;
use roundtable_core::access::{Action, Actor, ResourceKind};
use roundtable_core::validate::optional_date;
use roundtable_store::audit::{self as store, AuditFilter, AuditRow};
use roundtable_store::{Db, china_day_start, users};

use super::filled;
use crate::error::AppError;

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
#[serde(default)]
pub struct AuditQuery {
    /// The account name of who acted
    pub actor: Option<String>,
    /// The start of the action code, e.g. `notice.` or `user.`
    pub action: Option<String>,
    /// case, notice, wish, user, person…
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// YYYY-MM-DD (China), from this day
    pub from: Option<String>,
    /// YYYY-MM-DD (China), up to and including this day
    pub to: Option<String>,
    pub page: Option<i64>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    pub page: i64,
    pub per_page: i64,
    /// Another page follows
    pub more: bool,
}

const PER_PAGE: i64 = 50;
/// Rows in one export (a year of a district is well under it; narrow the search past it).
pub const EXPORT_MAX: i64 = 100_000;

fn allowed(actor: &Actor, action: Action) -> Result<(), AppError> {
    super::require_somewhere(actor, action, ResourceKind::Audit)
}

async fn filter(db: &Db, q: &AuditQuery) -> Result<AuditFilter, AppError> {
    let mut e = FieldErrors::new();
    let from = optional_date(&mut e, "from", "开始日期", q.from.as_deref());
    let to = optional_date(&mut e, "to", "结束日期", q.to.as_deref());
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        e.add("to", "结束日期不能早于开始日期");
    }
    let object_id = match filled(&q.object_id) {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                e.add("object_id", format!("对象编号「{v}」应为数字"));
                None
            }
        },
    };
    let actor_user_id = match filled(&q.actor) {
        None => None,
        Some(name) => match users::by_username(&mut db.pool(), name).await? {
            Some(u) => Some(u.id),
            None => {
                e.add("actor", format!("没有名为「{name}」的账号"));
                None
            }
        },
    };
    e.into_result().map_err(AppError::Validation)?;
    Ok(AuditFilter {
        actor_user_id,
        action: filled(&q.action).map(str::to_string),
        object_type: filled(&q.object_type).map(str::to_string),
        object_id,
        from: from.map(china_day_start),
        to: to.map(|d| china_day_start(d + chrono::Duration::days(1))),
    })
}

pub async fn search(db: &Db, actor: &Actor, q: &AuditQuery) -> Result<AuditPage, AppError> {
    allowed(actor, Action::View)?;
    let f = filter(db, q).await?;
    let page = q.page.unwrap_or(1).clamp(1, 10_000);
    let mut rows = store::search(&mut db.pool(), &f, (page - 1) * PER_PAGE, PER_PAGE + 1).await?;
    let more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    Ok(AuditPage {
        rows,
        page,
        per_page: PER_PAGE,
        more,
    })
}

/// The search as .xlsx (one row per entry, Chinese headers, the watermark line), audited.
pub async fn export(db: &Db, actor: &Actor, q: &AuditQuery) -> Result<(String, Vec<u8>), AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    allowed(actor, Action::Export)?;
    let f = filter(db, q).await?;
    let rows = store::search(&mut db.pool(), &f, 0, EXPORT_MAX + 1).await?;
    if rows.len() as i64 > EXPORT_MAX {
        return Err(AppError::field(
            "from",
            format!("超过 {EXPORT_MAX} 条记录，请缩小时间范围后再导出"),
        ));
    }
    let x = |e: rust_xlsxwriter::XlsxError| AppError::Internal(format!("xlsx: {e}"));
    let bold = Format::new().set_bold();
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name("审计记录").map_err(x)?;
    let head = [
        "序号",
        "时间",
        "操作人",
        "操作",
        "对象类型",
        "对象编号",
        "变更前",
        "变更后",
        "校验值",
    ];
    for (c, h) in head.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(x)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        let cells = [
            r.seq.map(|s| s.to_string()).unwrap_or_default(),
            crate::render::china_time(r.at),
            r.actor.clone().unwrap_or_else(|| "命令行".into()),
            r.action.clone(),
            r.object_type.clone(),
            r.object_id.map(|v| v.to_string()).unwrap_or_default(),
            r.before_json.clone().unwrap_or_default(),
            r.after_json.clone().unwrap_or_default(),
            r.hash.clone().unwrap_or_default(),
        ];
        for (c, v) in cells.iter().enumerate() {
            ws.write_string(row, c as u16, v).map_err(x)?;
        }
    }
    let mark = super::excel::watermark(&mut db.pool(), actor).await?;
    ws.write_string(rows.len() as u32 + 2, 0, mark).map_err(x)?;
    ws.set_column_width(1, 18).map_err(x)?;
    ws.set_column_width(6, 40).map_err(x)?;
    ws.set_column_width(7, 40).map_err(x)?;
    let bytes = book.save_to_buffer().map_err(x)?;
    let mut tx = db.begin().await?;
    store::record(
        &mut tx,
        super::actor_id(actor),
        "audit.export",
        "audit",
        None,
        None,
        Some(&serde_json::json!({"rows": rows.len(), "query": q})),
    )
    .await?;
    tx.commit().await?;
    let name = format!("审计记录-{}.xlsx", crate::render::today().format("%Y%m%d"));
    Ok((name, bytes))
}

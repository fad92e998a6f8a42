//! The 议题 sheet (issue 3: matters collected offline, entered in bulk). Rows go through the
//! same intake as the staff form (`services::topics::create_in`): same checks, permission and
//! audit. An import creates matters and never changes one: screening happens on the desk, with
//! its history. A row whose 查询码 is known, or whose community, title and content match a
//! stored matter, is unchanged — so a sheet imported twice, or an export imported back, adds
//! nothing.

use roundtable_core::access::{Action, Actor, ResourceKind, Scope, permit};
use roundtable_core::privacy::mask_phone;
use roundtable_core::topics::{Category, Channel, Level, Status, normalise_tracking_code};
use roundtable_store::{Exec, topics};

use super::{Change, Column, Importer, Row, col, pick};
use crate::error::AppError;
use crate::services::topics::TopicInput;

fn categories() -> Vec<&'static str> {
    Category::ALL.iter().map(|c| c.label()).collect()
}
fn channels() -> Vec<&'static str> {
    Channel::ALL.iter().map(|c| c.label()).collect()
}
fn levels() -> Vec<&'static str> {
    Level::ALL.iter().map(|c| c.label()).collect()
}
fn yes_no() -> Vec<&'static str> {
    vec!["是", "否"]
}

pub(super) const COLUMNS: &[Column] = &[
    col(
        "tracking_code",
        "查询码",
        false,
        18.0,
        "导出时填写；新录入的议题不填",
    ),
    col("org_code", "社区编码", true, 14.0, "议题所属社区/村的编码"),
    col("title", "标题", true, 24.0, "50字以内"),
    col("description", "内容", true, 40.0, "2000字以内"),
    pick("category", "类别", true, categories, "六类之一"),
    col(
        "category_reason",
        "其他类理由",
        false,
        16.0,
        "类别为其他类时必填",
    ),
    pick("channel", "来源渠道", true, channels, "见下拉列表"),
    col(
        "collector_phone",
        "收集人手机号码",
        false,
        14.0,
        "民情家访、两代表一委员进社区、在职党员进社区须填收集人（手机号码或本社区人员姓名）",
    ),
    col("collector_name", "收集人姓名", false, 10.0, ""),
    col("submitter_name", "反映人", false, 10.0, ""),
    col("submitter_phone", "反映人手机", false, 14.0, "11位手机号码"),
    pick(
        "contact_consent",
        "同意联系",
        false,
        yes_no,
        "反映人是否同意社区就此事联系",
    ),
    col("location", "地点", false, 16.0, ""),
    col(
        "collected_on",
        "收集日期",
        false,
        12.0,
        "如 2026-11-20；不填为导入当天",
    ),
    pick("level", "层级", false, levels, "不填为社区/村级"),
    col("status", "状态", false, 10.0, "导出时填写；导入时不读取"),
];

impl Importer<'_> {
    pub(super) async fn topic_row(&mut self, row: &Row) -> Result<Option<Change>, AppError> {
        if let Some(code) = row.opt("tracking_code") {
            let known = match normalise_tracking_code(&code) {
                Some(c) => topics::by_tracking_code(&mut self.tx, &c).await?,
                None => None,
            };
            return Ok(match known {
                Some(_) if self.first_use(row, code, "tracking_code", "查询码") => {
                    Some(Change::Unchanged)
                }
                Some(_) => None,
                None => {
                    self.reject(
                        row,
                        "tracking_code",
                        "查询码不存在；新录入的议题请不填查询码",
                    );
                    None
                }
            });
        }
        let key = format!(
            "{}\u{1f}{}\u{1f}{}",
            row.get("org_code"),
            row.get("title"),
            row.get("description")
        );
        if !self.first_use(row, key, "title", "社区、标题和内容") {
            return Ok(None);
        }
        let Some(org) = self.org_ref(row, "org_code", true).await? else {
            return Ok(None);
        };
        if !self.may_import(row, &org.path) {
            return Ok(None);
        }
        if topics::find_same(
            &mut self.tx,
            org.id,
            row.get("title"),
            row.get("description"),
        )
        .await?
        .is_some()
        {
            return Ok(Some(Change::Unchanged));
        }
        let collector = match (row.opt("collector_name"), row.opt("collector_phone")) {
            (None, None) => None,
            (name, phone) => {
                let name = name.unwrap_or_default();
                let Ok(found) = self
                    .find_person(row, &name, phone.as_deref(), Some(org.id), "collector_name")
                    .await?
                else {
                    return Ok(None);
                };
                match found {
                    Some(p) => Some(p.id),
                    None => {
                        self.reject(
                            row,
                            "collector_phone",
                            "找不到收集人：请填写系统中已有人员的手机号码，或本社区人员的姓名",
                        );
                        return Ok(None);
                    }
                }
            }
        };
        let input = TopicInput {
            org_id: Some(org.id),
            title: row.get("title").into(),
            description: row.get("description").into(),
            category: row.get("category").into(),
            category_reason: row.opt("category_reason"),
            channel: row.get("channel").into(),
            collector_person_id: collector,
            submitter_name: row.opt("submitter_name"),
            submitter_phone: row.opt("submitter_phone"),
            contact_consent: row.opt("contact_consent"),
            location: row.opt("location"),
            level: row.opt("level"),
            collected_on: row.opt("collected_on"),
        };
        let r = crate::services::topics::create_in(&mut self.tx, self.actor, &input).await;
        self.absorb(row, r.map(|id| (id, Change::Created)))
    }
}

/// The 议题 rows the actor may export, oldest first; numbers masked unless the actor may see
/// them.
pub(super) async fn export_rows(
    e: &mut impl Exec,
    actor: &Actor,
    scope: &Scope,
    code: &(dyn Fn(i64) -> String + Sync),
) -> Result<Vec<Vec<String>>, AppError> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = topics::all_page(e, scope, after, 1000).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.id;
        for t in page {
            let may_see = permit(
                actor,
                Action::ViewPersonal,
                ResourceKind::Topic,
                &t.org_path,
                None,
            );
            let phone = t.submitter_phone.as_deref().map(|p| {
                if may_see {
                    p.to_string()
                } else {
                    mask_phone(p)
                }
            });
            let label = |v: Option<&'static str>, raw: &str| v.unwrap_or(raw).to_string();
            out.push(vec![
                t.tracking_code.clone(),
                code(t.org_id),
                t.title.clone(),
                t.description.clone(),
                label(
                    Category::parse(&t.category).map(Category::label),
                    &t.category,
                ),
                t.category_reason.clone().unwrap_or_default(),
                label(Channel::parse(&t.channel).map(Channel::label), &t.channel),
                String::new(),
                t.collector_name.clone().unwrap_or_default(),
                t.submitter_name.clone().unwrap_or_default(),
                phone.unwrap_or_default(),
                if t.contact_consent { "是" } else { "否" }.into(),
                t.location.clone().unwrap_or_default(),
                t.collected_on.map(|d| d.to_string()).unwrap_or_default(),
                label(Level::parse(&t.level).map(Level::label), &t.level),
                label(Status::parse(&t.status).map(Status::label), &t.status),
            ]);
        }
    }
    Ok(out)
}

//! The one way to render a page: MiniJinja templates embedded in the binary, each overridable
//! from the configured template directory (for the printed documents of later issues).

use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use minijinja::{Environment, Value};
use roundtable_core::access::{Action, ResourceKind, Role, permit_somewhere};

use crate::auth::Session;

/// Asia/Shanghai: UTC+8 all year, no daylight saving.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// Today's civil date in China.
pub fn today() -> NaiveDate {
    roundtable_store::now().with_timezone(&china()).date_naive()
}

/// A moment as people in China read it: `2026-03-01 09:30`.
pub fn china_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&china())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

macro_rules! embedded {
    ($($name:literal),* $(,)?) => { &[$(($name, include_str!(concat!("../templates/", $name)))),*] };
}

pub const TEMPLATES: &[(&str, &str)] = embedded![
    "base.html",
    "macros.html",
    "error.html",
    "login.html",
    "password.html",
    "home.html",
    "orgs.html",
    "org.html",
    "org_form.html",
    "units.html",
    "unit.html",
    "unit_form.html",
    "people.html",
    "person.html",
    "person_form.html",
    "link_form.html",
    "users.html",
    "user.html",
    "user_form.html",
    "excel.html",
    "portal.html",
    "portal_done.html",
    "track.html",
    "topics.html",
    "topic.html",
    "topic_form.html",
    "poster.html",
    "questionnaires.html",
    "questionnaire_form.html",
    "_questionnaire_header.html",
    "questionnaire.html",
    "questionnaire_results.html",
    "cases.html",
    "case.html",
    "_case_document.html",
    "_case_meeting.html",
    "_case_project.html",
    "case_poster.html",
    "public_case.html",
    "case_timeline.html",
    "_doc_head.html",
    "doc_meeting_notice.html",
    "doc_sign_in.html",
    "doc_minutes.html",
    "doc_notice.html",
    "doc_plan.html",
    "doc_bulletin.html",
    "doc_completion.html",
    "calendar.html",
    "answer.html",
    "obligations.html",
    "dashboard.html",
    "warnings.html",
    "wishes.html",
    "wish.html",
    "wish_wall.html",
    "wish_public.html",
    "account_calendar.html",
    "account_tokens.html",
    "account_second_factor.html",
    "privacy.html",
    "periodic_bulletin.html",
    "notifications.html",
    "jobs.html",
    "six_ones.html",
    "resources.html",
    "resource.html",
    "case_resources.html",
    "verify.html",
    "audit.html",
    "security.html",
    "security_events.html",
    "exchange.html",
    "exchange_target.html",
    "_exchange_target_form.html",
];

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn new(override_dir: Option<PathBuf>) -> Self {
        let mut env = Environment::new();
        env.set_loader(move |name| {
            if let Some(dir) = &override_dir {
                let path = dir.join(name);
                if path.is_file() {
                    return std::fs::read_to_string(&path).map(Some).map_err(|e| {
                        minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            format!("{}: {e}", path.display()),
                        )
                    });
                }
            }
            Ok(TEMPLATES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| s.to_string()))
        });
        env.add_filter("label", label);
        env.add_filter("mask", |s: Option<String>| {
            s.map(|s| roundtable_core::privacy::mask_phone(&s))
                .unwrap_or_default()
        });
        env.add_filter("dt", |s: String| {
            s.parse::<DateTime<Utc>>().map(china_time).unwrap_or(s)
        });
        // Fen as yuan: 1234567 → 12,345.67 (R-SUP-1: money is kept in fen).
        env.add_filter("yuan", |fen: i64| roundtable_core::project::format_fen(fen));
        Templates { env }
    }

    pub fn render(&self, name: &str, ctx: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

/// `{{ code | label("org_kind") }}`: the Chinese name of a stored code.
fn label(code: Option<String>, set: &str) -> String {
    use roundtable_core::{
        access, cases, exchange, links, meeting, obligations, org, people, project, questionnaire,
        resources, topics, wishes,
    };
    let Some(code) = code else {
        return String::new();
    };
    let l = match set {
        "org_kind" => org::OrgKind::parse(&code).map(|v| v.label()),
        "unit_type" => org::UnitType::parse(&code).map(|v| v.label()),
        "person_kind" => people::PersonKind::parse(&code).map(|v| v.label()),
        "deputy_type" => people::DeputyType::parse(&code).map(|v| v.label()),
        "link_kind" => links::LinkKind::parse(&code).map(|v| v.label()),
        "group_role" => links::GroupRole::parse(&code).map(|v| v.label()),
        "role" => access::Role::parse(&code).map(|v| v.label()),
        "topic_category" => topics::Category::parse(&code).map(|v| v.label()),
        "topic_channel" => topics::Channel::parse(&code).map(|v| v.label()),
        "topic_direction" => topics::Direction::parse(&code).map(|v| v.label()),
        "topic_level" => topics::Level::parse(&code).map(|v| v.label()),
        "topic_status" => topics::Status::parse(&code).map(|v| v.label()),
        "question_kind" => questionnaire::QuestionKind::parse(&code).map(|v| v.label()),
        "questionnaire_status" => {
            questionnaire::QuestionnaireStatus::parse(&code).map(|v| v.label())
        }
        "reject_reason" => topics::RejectReason::parse(&code).map(|v| v.label()),
        "case_step" => cases::Step::parse(&code).map(|v| v.label()),
        "doc_kind" => cases::DocKind::parse(&code).map(|v| v.label()),
        "participant_kind" => meeting::ParticipantKind::parse(&code).map(|v| v.label()),
        "minutes_status" => meeting::MinutesStatus::parse(&code).map(|v| v.label()),
        "funding_source" => project::FundingSource::parse(&code).map(|v| v.label()),
        "party_kind" => project::PartyKind::parse(&code).map(|v| v.label()),
        "committee_side" => project::CommitteeSide::parse(&code).map(|v| v.label()),
        "ledger_status" => project::LedgerStatus::parse(&code).map(|v| v.label()),
        "satisfaction" => project::Satisfaction::parse(&code).map(|v| v.label()),
        "wish_status" => wishes::WishStatus::parse(&code).map(|v| v.label()),
        "resource_type" => resources::ResourceType::parse(&code).map(|v| v.label()),
        "six_one" => obligations::SixOne::parse(&code).map(|v| v.label()),
        "holiday_saturday_rule" => {
            obligations::HolidaySaturdayRule::parse(&code).map(|v| v.label())
        }
        "exchange_kind" => exchange::RecordKind::parse(&code).map(|v| v.label()),
        "batch_status" => exchange::BatchStatus::parse(&code).map(|v| v.label()),
        "opinion_source" => Some(crate::services::cases::opinion_source_label(&code)),
        _ => None,
    };
    l.map(str::to_string).unwrap_or(code)
}

/// `[{code, label}]` of a domain enum, for select boxes.
pub fn options<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<Value> {
    all.iter()
        .map(|v| minijinja::context! { code => code(*v), label => label(*v) })
        .collect()
}

/// `[{code, label}]` of (id, name) pairs (organisation nodes, people), for select boxes.
pub fn id_options(outline: Vec<(i64, String)>) -> Vec<Value> {
    outline
        .into_iter()
        .map(|(id, label)| minijinja::context! { code => id.to_string(), label })
        .collect()
}

/// What every page knows: who is signed in, what the menu offers, the CSRF token.
pub fn base(session: Option<&Session>, csrf: &str) -> Value {
    // The consent notice a form asking for a phone number shows (PIPL).
    let consent = minijinja::context! {
        text => roundtable_core::privacy::CONSENT_TEXT,
        version => roundtable_core::privacy::CONSENT_VERSION,
    };
    let Some(s) = session else {
        return minijinja::context! { csrf => csrf, consent => consent };
    };
    let a = &s.actor;
    let roles: Vec<&str> = a.grants.iter().map(|g| g.role.label()).collect();
    minijinja::context! {
        csrf => csrf,
        consent => consent,
        me => minijinja::context! { username => s.user.username, display_name => s.user.display_name, roles => roles, id => s.user.id },
        nav => minijinja::context! {
            orgs => permit_somewhere(a, Action::View, ResourceKind::Org),
            units => permit_somewhere(a, Action::View, ResourceKind::Unit),
            people => permit_somewhere(a, Action::View, ResourceKind::Person),
            users => permit_somewhere(a, Action::View, ResourceKind::User),
            topics => permit_somewhere(a, Action::View, ResourceKind::Topic),
            cases => permit_somewhere(a, Action::View, ResourceKind::Case),
            reports => permit_somewhere(a, Action::View, ResourceKind::Report),
            wishes => permit_somewhere(a, Action::View, ResourceKind::Wish),
            resources => permit_somewhere(a, Action::View, ResourceKind::Resource),
            audit => permit_somewhere(a, Action::View, ResourceKind::Audit),
            security => permit_somewhere(a, Action::View, ResourceKind::Security),
            exchange => permit_somewhere(a, Action::View, ResourceKind::Exchange),
            calendar => crate::services::calendar::may_edit(a),
            excel => crate::services::excel::may_import(a) || crate::services::excel::may_export(a),
            admin => a.has_role(Role::SystemAdmin) || a.has_role(Role::DistrictAdmin),
        },
    }
}

/// A form page shown again with field errors answers 422, else 200.
pub fn form_status(errors: &Value) -> StatusCode {
    if errors.len().unwrap_or(0) > 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

/// Renders a page. A template error is logged and shown as a plain 500 page (a bug, never input).
pub fn page(
    state: &crate::AppState,
    name: &str,
    session: Option<&Session>,
    csrf: &str,
    ctx: Value,
) -> Response {
    page_with_status(state, StatusCode::OK, name, session, csrf, ctx)
}

pub fn page_with_status(
    state: &crate::AppState,
    status: StatusCode,
    name: &str,
    session: Option<&Session>,
    csrf: &str,
    ctx: Value,
) -> Response {
    let ctx = minijinja::context! { ..ctx, ..base(session, csrf) };
    match state.templates.render(name, ctx) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            // MiniJinja puts the failing line of an included template in the error's source.
            let mut causes = String::new();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                causes.push_str(&format!("; {c}"));
                cause = c.source();
            }
            tracing::error!(template = name, error = %e, %causes, "template error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<h1>页面渲染失败</h1>".to_string()),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every embedded template parses and renders for a signed-in user with every menu entry (and
    /// the login and error pages for a visitor) (a syntax error or a broken `extends`/`import` fails here, not
    /// in front of a user).
    #[test]
    fn every_template_renders() {
        let mut t = Templates::new(None);
        // No records here: a detail page's `org.name` is empty rather than an error, so what is
        // checked is syntax, inheritance, imports, filters and the menu.
        t.env
            .set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        let signed_in = minijinja::context! {
            csrf => "token",
            me => minijinja::context! { username => "admin", display_name => "管理员", roles => vec!["系统管理员"], id => 1 },
            nav => minijinja::context! { orgs => true, units => true, people => true, users => true, excel => true, admin => true, topics => true, cases => true, reports => true, wishes => true, resources => true, audit => true, security => true, exchange => true, calendar => true },
        };
        for (name, _) in TEMPLATES {
            // Partials (macros, `_name.html`) are rendered inside pages.
            if *name == "macros.html" || name.starts_with('_') {
                continue;
            }
            // Only these are shown to a visitor who is not signed in.
            let anonymous = matches!(*name, "login.html" | "error.html");
            let mut contexts = vec![signed_in.clone()];
            if anonymous {
                contexts.push(minijinja::context! { csrf => "token" });
            }
            for ctx in contexts {
                let html = t
                    .render(name, ctx)
                    .unwrap_or_else(|e| panic!("{name}: {e:#}"));
                assert!(html.contains("</html>"), "{name} renders a whole page");
            }
        }
    }

    #[test]
    fn labels_name_stored_codes_in_chinese() {
        assert_eq!(label(Some("community".into()), "org_kind"), "社区");
        assert_eq!(
            label(Some("leader_street".into()), "link_kind"),
            "区级领导挂点街道(镇)"
        );
        assert_eq!(label(Some("unknown".into()), "org_kind"), "unknown");
        assert_eq!(label(None, "org_kind"), "");
    }
}

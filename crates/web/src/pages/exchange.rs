//! 数据对接 (`/admin/exchange`) for the administrators (R-INT-1): the delivery targets with
//! their backlog and failures, a form for a new one and for each one's edit, the batches with
//! the dead letters and their replay.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use roundtable_core::exchange::{RecordKind, TargetInput};

use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::HtmlForm;
use crate::render::page_with_status;
use crate::services::exchange::{self as service, BatchQuery};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/exchange", get(targets))
        .route("/admin/exchange/targets", post(create))
        .route("/admin/exchange/targets/{id}", get(edit).post(update))
        .route("/admin/exchange/batches/{id}/replay", post(replay))
        .route("/exchange/export.zip", get(export))
}

/// The file for platforms that take uploads by hand: what the worker may see.
async fn export(
    State(state): State<AppState>,
    session: Session,
    axum::extract::Query(q): axum::extract::Query<service::ExportQuery>,
) -> PageResult {
    let since = q.since()?;
    let bytes = service::export(&state, &session.actor, &[], &session.user.username, since).await?;
    Ok(service::zip_download(bytes))
}

type PageResult = Result<Response, PageError>;

/// What the page says about the last action: its status, field errors, a notice or why it
/// was refused.
struct Shown {
    status: StatusCode,
    errors: Value,
    notice: Option<String>,
    problem: Option<String>,
}

impl Shown {
    fn plain() -> Shown {
        Shown {
            status: StatusCode::OK,
            errors: Value::from_serialize(std::collections::BTreeMap::<String, String>::new()),
            notice: None,
            problem: None,
        }
    }
    fn invalid(e: &roundtable_core::FieldErrors) -> Shown {
        Shown {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors: Value::from_serialize(e),
            ..Shown::plain()
        }
    }
    fn refused(why: String) -> Shown {
        Shown {
            status: StatusCode::BAD_REQUEST,
            problem: Some(why),
            ..Shown::plain()
        }
    }
}

/// The target form as posted: kinds are checkboxes of one name.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
struct TargetForm {
    name: String,
    endpoint: String,
    kinds: Vec<String>,
    org_id: Option<String>,
    secret: Option<String>,
    enabled: Option<String>,
}

impl TargetForm {
    fn input(&self) -> TargetInput {
        TargetInput {
            name: self.name.clone(),
            endpoint: self.endpoint.clone(),
            kinds: self.kinds.clone(),
            secret: self.secret.clone(),
            enabled: Some(self.enabled.clone().unwrap_or_else(|| "0".into())),
        }
    }
}

fn kinds() -> Vec<Value> {
    RecordKind::ALL
        .iter()
        .map(|k| context! { code => k.code(), label => k.label() })
        .collect()
}

/// The nodes a target's subtree can start at: the district and its streets and towns.
async fn subtrees(state: &AppState) -> Result<Vec<Value>, AppError> {
    Ok(roundtable_store::orgs::all(&mut state.db.pool())
        .await?
        .into_iter()
        .filter(|o| !matches!(o.kind.as_str(), "community" | "village"))
        .map(|o| context! { code => o.id, label => o.name })
        .collect())
}

async fn list_with(
    state: &AppState,
    session: &Session,
    csrf: &str,
    shown: Shown,
    form: TargetForm,
) -> PageResult {
    let Shown {
        status,
        errors,
        notice,
        problem,
    } = shown;
    let targets = service::targets(state, &session.actor).await?;
    let dead = service::batches(
        state,
        &session.actor,
        &BatchQuery {
            target_id: None,
            status: Some("dead".into()),
        },
    )
    .await?;
    let recent = service::batches(state, &session.actor, &BatchQuery::default()).await?;
    let names: std::collections::HashMap<i64, String> = targets
        .iter()
        .map(|t| (t.target.id, t.target.name.clone()))
        .collect();
    let name_of = |id: i64| names.get(&id).cloned().unwrap_or_default();
    let dead: Vec<Value> = dead
        .into_iter()
        .map(|b| context! { target => name_of(b.target_id), ..Value::from_serialize(&b) })
        .collect();
    let recent: Vec<Value> = recent
        .into_iter()
        .take(30)
        .map(|b| context! { target => name_of(b.target_id), ..Value::from_serialize(&b) })
        .collect();
    let inbound = roundtable_store::exchange::recent_inbound(&mut state.db.pool(), 30).await?;
    Ok(page_with_status(
        state,
        status,
        "exchange.html",
        Some(session),
        csrf,
        context! {
            targets, dead, recent, inbound, errors, notice, problem,
            form => Value::from_serialize(&form),
            kinds => kinds(),
            subtrees => subtrees(state).await?,
        },
    ))
}

async fn targets(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    let form = TargetForm {
        kinds: vec![
            RecordKind::Case.code().into(),
            RecordKind::LedgerItem.code().into(),
        ],
        enabled: Some("1".into()),
        ..Default::default()
    };
    list_with(&state, &session, &csrf, Shown::plain(), form).await
}

async fn create(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(f): HtmlForm<TargetForm>,
) -> PageResult {
    match service::create(&state, &session.actor, &f.input(), f.org_id.as_deref()).await {
        Ok(_) => Ok(Redirect::to("/admin/exchange").into_response()),
        Err(AppError::Validation(e)) => {
            list_with(&state, &session, &csrf, Shown::invalid(&e), f).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn edit_with(
    state: &AppState,
    session: &Session,
    csrf: &str,
    id: i64,
    shown: Shown,
    typed: Option<TargetForm>,
) -> PageResult {
    let Shown {
        status,
        errors,
        problem,
        ..
    } = shown;
    let t = service::target(state, &session.actor, id).await?;
    let form = typed.unwrap_or_else(|| TargetForm {
        name: t.target.name.clone(),
        endpoint: t.target.endpoint.clone(),
        kinds: t.target.kinds.clone(),
        org_id: t.target.org_id.map(|i| i.to_string()),
        secret: None,
        enabled: Some(if t.target.enabled { "1" } else { "0" }.into()),
    });
    let batches = service::batches(
        state,
        &session.actor,
        &BatchQuery {
            target_id: Some(id),
            status: None,
        },
    )
    .await?;
    Ok(page_with_status(
        state,
        status,
        "exchange_target.html",
        Some(session),
        csrf,
        context! {
            t, batches, errors, problem,
            form => Value::from_serialize(&form),
            kinds => kinds(),
            subtrees => subtrees(state).await?,
        },
    ))
}

async fn edit(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    edit_with(&state, &session, &csrf, id, Shown::plain(), None).await
}

async fn update(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<TargetForm>,
) -> PageResult {
    match service::update(&state, &session.actor, id, &f.input(), f.org_id.as_deref()).await {
        Ok(()) => Ok(Redirect::to("/admin/exchange").into_response()),
        Err(AppError::Validation(e)) => {
            edit_with(&state, &session, &csrf, id, Shown::invalid(&e), Some(f)).await
        }
        Err(AppError::BadRequest(why)) => {
            edit_with(&state, &session, &csrf, id, Shown::refused(why), Some(f)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn replay(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    let shown = match service::replay(&state, &session.actor, id).await {
        Ok(b) => Shown {
            notice: Some(format!("批次 {} 已重新排队，将优先发送", b.batch_key)),
            ..Shown::plain()
        },
        Err(AppError::BadRequest(why)) => Shown::refused(why),
        Err(e) => return Err(e.into()),
    };
    list_with(&state, &session, &csrf, shown, TargetForm::default()).await
}

//! The Excel page: templates to download, the actor's data to export, and the upload form whose
//! result lists every bad cell (nothing is imported then).

use axum::Router;
use axum::extract::{Multipart, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::context;

use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::render::{page, page_with_status};
use crate::services::excel::{self, Sheet};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/excel", get(excel_page).post(import))
        .route("/excel/template.xlsx", get(template))
        .route("/excel/export.xlsx", get(export))
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `?sheet=people` or `?sheet=orgs,people` (codes or Chinese names); none means every sheet.
#[derive(serde::Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
pub struct SheetQuery {
    /// Comma-separated: orgs, units, people, links (or 组织, 单位, 人员, 关联)
    sheet: String,
}

impl SheetQuery {
    pub fn sheets(&self) -> Result<Vec<Sheet>, AppError> {
        self.sheet
            .split([',', '，'])
            .map(str::trim)
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                Sheet::parse(s).ok_or_else(|| {
                    AppError::field(
                        "sheet",
                        format!("未知的工作表「{s}」：应为 组织、单位、人员 或 关联"),
                    )
                })
            })
            .collect()
    }
}

/// An .xlsx download with an ASCII file name (safe in every browser).
pub fn xlsx(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, XLSX.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

pub fn file_name(kind: &str, sheets: &[Sheet]) -> String {
    let part = match sheets {
        [one] => one.code(),
        _ => "all",
    };
    format!(
        "roundtable-{kind}-{part}-{}.xlsx",
        crate::render::today().format("%Y%m%d")
    )
}

fn sheet_links() -> Vec<minijinja::Value> {
    Sheet::ALL
        .iter()
        .map(|s| context! { code => s.code(), name => s.name() })
        .collect()
}

async fn excel_page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> Result<Response, PageError> {
    let a = &session.actor;
    if !excel::may_import(a) && !excel::may_export(a) {
        return Err(AppError::Forbidden.into());
    }
    Ok(page(
        &state,
        "excel.html",
        Some(&session),
        &csrf,
        context! {
            sheets => sheet_links(),
            can_import => excel::may_import(a),
            can_export => excel::may_export(a),
        },
    ))
}

async fn template(_session: Session, Query(q): Query<SheetQuery>) -> Result<Response, PageError> {
    let sheets = q.sheets()?;
    Ok(xlsx(
        excel::template(&sheets)?,
        &file_name("template", &sheets),
    ))
}

async fn export(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<SheetQuery>,
) -> Result<Response, PageError> {
    let sheets = q.sheets()?;
    let bytes = excel::export(&state.db, &session.actor, &sheets).await?;
    Ok(xlsx(bytes, &file_name("export", &sheets)))
}

/// A body cut off by the size limit. axum reports the limit of tower-http's layer (a body
/// without Content-Length) as a failed stream read (500), its own as 413; a client that goes
/// away mid-upload never reads the answer.
fn too_large(e: &axum::extract::multipart::MultipartError) -> bool {
    matches!(
        e.status(),
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::INTERNAL_SERVER_ERROR
    )
}

/// The uploaded file and the "check only" box of the form.
async fn read_upload(mut form: Multipart) -> Result<(Vec<u8>, bool), AppError> {
    let mut file = None;
    let mut dry_run = false;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if too_large(&e) => return Err(AppError::TooLarge),
            Err(_) => return Err(AppError::field("file", "上传未完成，请重新选择文件")),
        };
        match field.name() {
            Some("file") => {
                let bytes = field.bytes().await.map_err(|e| {
                    if too_large(&e) {
                        AppError::TooLarge
                    } else {
                        AppError::field("file", "上传未完成，请重新选择文件")
                    }
                })?;
                file = Some(bytes.to_vec());
            }
            Some("dry_run") => dry_run = true,
            _ => {}
        }
    }
    match file {
        Some(f) if !f.is_empty() => Ok((f, dry_run)),
        _ => Err(AppError::field("file", "请选择要导入的 Excel 文件")),
    }
}

async fn import(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    let a = &session.actor;
    if !excel::may_import(a) {
        return Err(AppError::Forbidden.into());
    }
    let base = context! { sheets => sheet_links(), can_import => true, can_export => excel::may_export(a) };
    let upload = match form {
        Ok(f) => read_upload(f).await,
        Err(_) => Err(AppError::field("file", "请通过页面上的表单上传文件")),
    };
    let result = match upload {
        Ok((bytes, dry_run)) => excel::import(&state.db, a, &bytes, dry_run, &|_, _| {}).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(report) => {
            let status = if report.error_total > 0 {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            Ok(page_with_status(
                &state,
                status,
                "excel.html",
                Some(&session),
                &csrf,
                context! { report, ..base },
            ))
        }
        Err(AppError::Validation(errors)) => Ok(page_with_status(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "excel.html",
            Some(&session),
            &csrf,
            context! { errors, ..base },
        )),
        Err(e) => Err(e.into()),
    }
}

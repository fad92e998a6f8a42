//! One error type for the service layer, shown two ways: the JSON envelope of the API
//! (`{"error":{"code","message","fields"}}`) and a Chinese page.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roundtable_core::FieldErrors;
use roundtable_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("请先登录")]
    Unauthenticated,
    #[error("首次登录或密码已重置，请先修改密码")]
    PasswordChangeRequired,
    #[error("没有权限执行此操作")]
    Forbidden,
    #[error("找不到该记录")]
    NotFound,
    #[error("{}", .0.summary())]
    Validation(FieldErrors),
    /// A request that breaks a rule of DOMAIN.md: the rule id travels to the API envelope.
    #[error("{}", .fields.summary())]
    Rule {
        rule: &'static str,
        fields: FieldErrors,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Locked(String),
    #[error("用户名或密码错误")]
    BadCredentials,
    #[error("本账户已启用双因素认证，请输入验证器中的 6 位动态验证码")]
    SecondFactorRequired,
    /// A wrong, malformed or reused code: the message says which.
    #[error("{0}")]
    SecondFactorWrong(String),
    #[error("本账户须先设置双因素认证（动态验证码）后才能继续使用")]
    SecondFactorEnrolmentRequired,
    #[error("表单已过期，请刷新页面后重试")]
    Csrf,
    #[error("上传内容过大，上限为 20 MB")]
    TooLarge,
    #[error("提交过于频繁，请稍后再试")]
    TooMany,
    /// A partner system's request whose signature, timestamp or name does not check out.
    #[error("{0}")]
    SignatureRefused(String),
    #[error("服务器内部错误")]
    Internal(String),
}

impl AppError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut e = FieldErrors::new();
        e.add(field, message);
        AppError::Validation(e)
    }

    /// A broken rule of DOMAIN.md (core's `RuleError`), shown next to its field.
    pub fn rule(e: roundtable_core::cases::RuleError) -> Self {
        let mut fields = FieldErrors::new();
        fields.add(e.field, e.message);
        AppError::Rule {
            rule: e.rule,
            fields,
        }
    }

    /// A broken rule named directly: its id, the field and the Chinese message.
    pub fn broken(rule: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        Self::rule(roundtable_core::cases::RuleError::new(rule, field, message))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated
            | AppError::BadCredentials
            | AppError::SecondFactorRequired
            | AppError::SecondFactorWrong(_) => StatusCode::UNAUTHORIZED,
            AppError::PasswordChangeRequired
            | AppError::SecondFactorEnrolmentRequired
            | AppError::Forbidden
            | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Validation(_) | AppError::Rule { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Locked(_) => StatusCode::LOCKED,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooMany => StatusCode::TOO_MANY_REQUESTS,
            AppError::SignatureRefused(_) => StatusCode::UNAUTHORIZED,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable codes of the API envelope.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::PasswordChangeRequired => "password_change_required",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Validation(_) => "validation_failed",
            AppError::Rule { .. } => "rule_violated",
            AppError::BadRequest(_) => "bad_request",
            AppError::Locked(_) => "account_locked",
            AppError::BadCredentials => "bad_credentials",
            AppError::SecondFactorRequired => "second_factor_required",
            AppError::SecondFactorWrong(_) => "second_factor_invalid",
            AppError::SecondFactorEnrolmentRequired => "second_factor_enrolment_required",
            AppError::Csrf => "csrf_failed",
            AppError::TooLarge => "payload_too_large",
            AppError::TooMany => "rate_limited",
            AppError::SignatureRefused(_) => "signature_refused",
            AppError::Internal(_) => "internal",
        }
    }

    pub fn fields(&self) -> Option<&FieldErrors> {
        match self {
            AppError::Validation(f) | AppError::Rule { fields: f, .. } => Some(f),
            _ => None,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Invalid(f) => AppError::Validation(f),
            e if e.is_unique_violation() => AppError::BadRequest("记录与已有数据重复".into()),
            e => {
                tracing::error!(error = %e, "storage error");
                AppError::Internal(e.to_string())
            }
        }
    }
}

/// The API rendering of an error.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// The rule of DOMAIN.md the request breaks (code `rule_violated`), e.g. `R-PROC-5`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<FieldErrors>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: e.code().to_string(),
                message: e.to_string(),
                rule: match &e {
                    AppError::Rule { rule, .. } => Some(rule.to_string()),
                    _ => None,
                },
                fields: e.fields().cloned(),
            },
        };
        (e.status(), axum::Json(body)).into_response()
    }
}

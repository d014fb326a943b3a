//! The one error type at the web edge.
//!
//! A handler returns [`Error`]; the response carries the status and an
//! [`ErrorInfo`]. The edge layers then dress it: pages get a friendly HTML
//! page in the visitor's language, the API gets `application/problem+json`
//! (RFC 9457). Rejections from axum and tower-http (404, 405, 413, malformed
//! JSON) pass through the same layers, so every error looks the same.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::store::StoreError;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found")]
    NotFound,
    /// No or wrong API credentials.
    #[error("a valid API token is required: send Authorization: Bearer <token>")]
    Unauthorized,
    /// A page for organisers was opened without a session.
    #[error("login required")]
    LoginRequired { next: String },
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    BadRequest(String),
    /// A value that does not make sense; `field` names it for the form or the API client.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    /// A request axum could not read (malformed JSON, wrong content type); keeps its status.
    #[error("{1}")]
    Rejected(StatusCode, String),
    #[error("the service is temporarily unavailable; try again shortly")]
    Unavailable,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// A field-level validation error.
    pub fn invalid(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::Invalid { field: field.into(), message: message.to_string() }
    }
}

impl From<axum::extract::rejection::JsonRejection> for Error {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        Self::Rejected(e.status(), e.body_text())
    }
}

/// Result type of handlers.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the edge layers need to render an error.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub detail: String,
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(what) => Self::Conflict(format!("already exists ({what})")),
            StoreError::Unavailable(_) => Self::Unavailable,
            other => Self::Internal(other.into()),
        }
    }
}

impl From<crate::forum::ForumError> for Error {
    fn from(e: crate::forum::ForumError) -> Self {
        use crate::forum::{ForumError, Refusal};
        match e {
            // A broken rule is a value that does not make sense: 422 naming the field.
            ForumError::Refused(Refusal::Broken(broken)) => match broken.first() {
                Some((field, rule)) => Self::invalid(field.name(), crate::i18n::Lang::En.broken(*rule)),
                None => Self::BadRequest("the meeting's details break its rules".into()),
            },
            ForumError::Refused(Refusal::WaitlistOrder(why)) => Self::invalid("order", why),
            ForumError::Refused(Refusal::UnknownMaterial(i)) => {
                Self::invalid(format!("sections[{i}].materials"), "no such file of the meeting")
            }
            ForumError::Refused(Refusal::UnknownTrack) => Self::invalid("track", "choose one of the meeting's tracks"),
            ForumError::Refused(Refusal::NameNeeded) => {
                Self::invalid("name", "the address is new to the forum; give the person's name")
            }
            ForumError::Refused(r) => Self::Conflict(r.to_string()),
            ForumError::Store(e) => e.into(),
            ForumError::Busy => Self::Unavailable,
            ForumError::Internal(e) => Self::Internal(e),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::LoginRequired { next } => {
                let target = format!(
                    "/login?next={}",
                    url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                return Redirect::to(&target).into_response();
            }
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Rejected(status, _) => *status,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(e) => {
                // The whole cause chain, once; the visitor sees an apology.
                tracing::error!(error = format!("{e:#}"), "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let detail = match &self {
            Self::Internal(_) => "an internal error occurred; it has been logged".to_owned(),
            other => other.to_string(),
        };
        let mut response = (status, detail.clone()).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response.extensions_mut().insert(ErrorInfo { detail });
        response
    }
}

//! Typed extractors of the web edge: path parameters that answer 404 when
//! they do not parse (a typed id such as `Path<MeetingId>`), the fields of an
//! organiser's form whose CSRF token has already been checked, the meeting an
//! organiser page is about, and a file an organiser uploads.
//!
//! Who may send a form is not decided here: the group of the route
//! ([`crate::web::auth::needs`]) has done that before a handler runs, and the
//! organiser these extractors take is only there once it has.

use std::ops::Deref;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::domain::MeetingId;
use crate::store::meetings::Meeting;
use crate::web::auth::Organiser;
use crate::web::{AppState, Error};

/// A path parameter (or a tuple of them) read into `T`; anything that does
/// not read is a page or resource that does not exist, so the rejection is
/// [`Error::NotFound`] rather than axum's 400.
#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| Self(p.0)).map_err(|_| Error::NotFound)
    }
}

/// The fields of a form body, in order; a field such as `interests` may repeat.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    pairs: Vec<(String, String)>,
    /// The body as sent, for [`Fields::read`].
    raw: Bytes,
}

impl Fields {
    /// Reads an `application/x-www-form-urlencoded` body.
    #[must_use]
    pub fn parse(body: Bytes) -> Self {
        let pairs = url::form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        Self { pairs, raw: body }
    }

    /// The first value of field `name`, or "" when it was not sent.
    #[must_use]
    pub fn get(&self, name: &str) -> &str {
        self.pairs.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// The fields read into a typed form `T` (400 when they do not fit it).
    ///
    /// # Errors
    /// [`Error::BadRequest`] naming what did not fit.
    pub fn read<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_urlencoded::from_bytes(&self.raw).map_err(|e| Error::BadRequest(e.to_string()))
    }

    /// Every value of field `name`, in the order sent.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A public form's fields. Cross-site posts are refused before this (the
/// CSRF layer checks `Origin` and `Sec-Fetch-Site`); a personal link's token
/// is what authorises the change.
impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(req, state).await.map_err(|e| Error::Rejected(e.status(), e.body_text()))?;
        Ok(Self::parse(body))
    }
}

impl Deref for Fields {
    type Target = [(String, String)];

    fn deref(&self) -> &Self::Target {
        &self.pairs
    }
}

/// A form sent by a signed-in organiser: who sent it, and its fields once
/// the CSRF token they carry has matched the session's (else 403). Takes
/// the body, so it comes last among a handler's arguments.
#[derive(Debug, Clone)]
pub struct OrganiserForm {
    pub organiser: Organiser,
    pub fields: Fields,
}

impl FromRequest<AppState> for OrganiserForm {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let organiser = Organiser::from_request_parts(&mut parts, state).await?;
        let fields = Fields::from_request(Request::from_parts(parts, body), state).await?;
        organiser.check_csrf(fields.get("csrf"))?;
        Ok(Self { organiser, fields })
    }
}

/// The `{id}` of a path below `/admin/meetings/{id}`; other parameters of
/// the path are left to the handler.
#[derive(serde::Deserialize)]
struct MeetingParam {
    id: MeetingId,
}

impl MeetingParam {
    async fn meeting(parts: &mut Parts, state: &AppState) -> Result<MeetingId, Error> {
        Path::<Self>::from_request_parts(parts, state).await.map(|Path(p)| p.id)
    }
}

/// An organiser page about the meeting in its path: who asks, and the
/// meeting as stored now (404 when there is none).
#[derive(Debug, Clone)]
pub struct OrganiserMeeting {
    pub organiser: Organiser,
    pub meeting: Meeting,
}

impl FromRequestParts<AppState> for OrganiserMeeting {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let id = MeetingParam::meeting(parts, state).await?;
        let organiser = Organiser::from_request_parts(parts, state).await?;
        Ok(Self { organiser, meeting: state.store.meeting(id).await? })
    }
}

/// An [`OrganiserForm`] about the meeting in its path: the meeting as stored
/// now (404 when there is none), read once the form's CSRF token has matched.
/// Takes the body, so it comes last among a handler's arguments.
#[derive(Debug, Clone)]
pub struct MeetingForm {
    pub meeting: Meeting,
    pub organiser: Organiser,
    pub fields: Fields,
}

impl FromRequest<AppState> for MeetingForm {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let id = MeetingParam::meeting(&mut parts, state).await?;
        let OrganiserForm { organiser, fields } =
            OrganiserForm::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Self { meeting: state.store.meeting(id).await?, organiser, fields })
    }
}

/// What an organiser's upload form brought.
#[derive(Debug)]
pub enum Upload {
    /// A file with its name as the browser sent it.
    File { name: String, data: Bytes },
    /// The body was larger than the route allows.
    TooLarge,
    /// No file was chosen.
    Missing,
}

/// A multipart form with one file, sent by a signed-in organiser. The CSRF
/// token must come as a field before the file (the form puts it first), so
/// no file is read for a form whose token does not match (403).
#[derive(Debug)]
pub struct OrganiserUpload {
    pub organiser: Organiser,
    pub upload: Upload,
}

impl FromRequest<AppState> for OrganiserUpload {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let organiser = Organiser::from_request_parts(&mut parts, state).await?;
        let mut form = Multipart::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| Error::Rejected(e.status(), e.body_text()))?;
        let too_large = |status: StatusCode| status == StatusCode::PAYLOAD_TOO_LARGE;
        let mut checked = false;
        let mut upload = Upload::Missing;
        loop {
            let field = match form.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) if too_large(e.status()) => return Ok(Self { organiser, upload: Upload::TooLarge }),
                Err(e) => return Err(Error::BadRequest(e.body_text())),
            };
            match field.name() {
                Some("csrf") => {
                    let sent = field.text().await.map_err(|e| Error::BadRequest(e.body_text()))?;
                    organiser.check_csrf(&sent)?;
                    checked = true;
                }
                Some("file") if checked => {
                    let name = field.file_name().unwrap_or_default().to_owned();
                    upload = match field.bytes().await {
                        Ok(data) if !name.is_empty() && !data.is_empty() => Upload::File { name, data },
                        Ok(_) => Upload::Missing,
                        Err(e) if too_large(e.status()) => Upload::TooLarge,
                        Err(e) => return Err(Error::BadRequest(e.body_text())),
                    };
                }
                _ => {}
            }
        }
        if !checked {
            return Err(Error::Forbidden("the form has expired; reload the page and try again"));
        }
        Ok(Self { organiser, upload })
    }
}

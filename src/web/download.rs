//! Exports as downloads, for the organiser's export page and the API alike:
//! the options a download takes, who may download personal data, and the
//! streamed response whose audit entry is committed before its last bytes.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use utoipa::IntoParams;

use crate::domain::{FileName, PersonStatus};
use crate::forum;
pub use crate::forum::exports::What;
use crate::i18n::Lang;
use crate::store::audit::Actor;
use crate::transfer::export::{self, Dest, Format, Job, Separator, Spec};
use crate::web::{AppState, Error, Result};

/// Options of a download.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ExportQuery {
    /// CSV only: `semicolon` (default, what a Danish Excel expects) or `comma`.
    sep: Option<String>,
    /// Language of the headers and texts: `da` (default) or `en`.
    lang: Option<String>,
    /// Mailing list only: only people with this status
    /// (`pending`, `confirmed`, `unsubscribed` or `bounced`).
    status: Option<String>,
}

impl ExportQuery {
    /// Options given separately (by the organiser page's form).
    #[must_use]
    pub const fn from_parts(lang: Option<String>, status: Option<String>) -> Self {
        Self { sep: None, lang, status }
    }

    /// The language asked for.
    ///
    /// # Errors
    /// Neither `da` nor `en`.
    pub fn lang(&self) -> Result<Lang> {
        match self.lang.as_deref() {
            None | Some("" | "da") => Ok(Lang::Da),
            Some("en") => Ok(Lang::En),
            Some(_) => Err(Error::invalid("lang", "must be da or en")),
        }
    }

    /// CSV with the separator asked for.
    ///
    /// # Errors
    /// An unknown separator.
    pub fn csv(&self) -> Result<Format> {
        Separator::parse(self.sep.as_deref().unwrap_or_default()).map(Format::Csv).map_err(|e| Error::invalid("sep", e))
    }

    /// The status filter of the mailing list.
    ///
    /// # Errors
    /// An unknown status, or `guest`.
    pub fn status(&self) -> Result<Option<PersonStatus>> {
        match self.status.as_deref() {
            None | Some("") => Ok(None),
            Some(s) => match PersonStatus::parse(s) {
                Ok(PersonStatus::Guest) | Err(_) => {
                    Err(Error::invalid("status", "must be pending, confirmed, unsubscribed or bounced"))
                }
                Ok(st) => Ok(Some(st)),
            },
        }
    }
}

/// Refuses viewers an export of personal data.
///
/// # Errors
/// [`Error::Forbidden`] for a viewer.
pub fn check_role(role: crate::domain::Role, what: &What) -> Result<()> {
    if !what.allowed_for(role) {
        return Err(Error::Forbidden("exporting personal data needs the organiser or admin role"));
    }
    Ok(())
}

/// Answers with the export as a download. The rows are written as they come
/// from the database; personal data leaves an audit entry (who, what, how
/// many rows), committed before the last bytes go out. A download broken off
/// halfway (the client went away) is recorded too, with the rows sent so far.
///
/// # Errors
/// None once the download has started; a failure halfway breaks off the
/// response, so the client sees an incomplete transfer rather than a short file.
pub fn download(state: &AppState, actor: Actor, what: What, format: Format, lang: Lang) -> Result<Response> {
    let (stem, sheet) = what.names(lang);
    let file_name = format!("{stem}.{}", format.extension());
    let disposition = export::content_disposition(&stem, format.extension());
    let (chunks_tx, chunks) = mpsc::channel::<Vec<u8>>(4);
    let (done_tx, done) = oneshot::channel::<bool>();
    let mut job = Job::start(Spec { table: what.table(), lang, format, sheet }, Dest::Chunks(chunks_tx));
    let store = state.store.clone();
    tokio::spawn(async move {
        let outcome = async {
            forum::exports::write(&store, &actor, &what, lang, &mut job, &file_name, |_| {}).await?;
            job.finish().await
        }
        .await;
        if let Err(e) = &outcome {
            tracing::warn!(error = format!("{e:#}"), "export broken off");
        }
        let _ = done_tx.send(outcome.is_ok());
    });
    let body = futures_util::stream::unfold((chunks, Some(done)), |(mut chunks, done)| async move {
        if let Some(chunk) = chunks.recv().await {
            return Some((Ok(Bytes::from(chunk)), (chunks, done)));
        }
        // All bytes are out: end the body, or break it off if the export failed.
        let ok = match done {
            Some(d) => d.await.unwrap_or(false),
            None => return None,
        };
        if ok { None } else { Some((Err(std::io::Error::other("the export failed")), (chunks, None))) }
    });
    let mut res = Response::new(Body::from_stream(body));
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|e| Error::Internal(e.into()))?,
    );
    Ok(res)
}

/// A `Content-Disposition` that downloads an uploaded file under its own
/// name, with an ASCII fallback (see [`export::attachment`]).
#[must_use]
pub fn attachment(name: &FileName) -> String {
    export::attachment(name.as_str(), &name.ascii_fallback())
}

#[cfg(test)]
mod tests {
    use super::attachment;
    use crate::domain::FileName;

    #[test]
    fn a_download_keeps_its_name_with_an_ascii_fallback() {
        let name = FileName::parse("Oplæg – Cybersikkerhed.pdf").unwrap();
        assert_eq!(
            attachment(&name),
            "attachment; filename=\"Oplaeg - Cybersikkerhed.pdf\"; \
             filename*=UTF-8''Opl%C3%A6g%20%E2%80%93%20Cybersikkerhed.pdf"
        );
    }
}

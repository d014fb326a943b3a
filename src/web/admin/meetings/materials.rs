//! Uploading and removing a meeting's materials (PDF, PPTX, DOCX). The type
//! is read from the content's first bytes and must agree with the name; the
//! upload route has its own body limit from `[materials] max_bytes`. A file
//! is removed only once the organiser has confirmed it.

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use uuid::Uuid;

use super::page_for;
use crate::config::Settings;
use crate::domain::{FileName, FileNameError, MeetingId};
use crate::forum;
use crate::i18n::Lang;
use crate::web::admin::confirm::ConfirmStep;
use crate::web::auth::{Need, Organiser, needs};
use crate::web::extract::{OrganiserForm, OrganiserUpload, Path, Upload};
use crate::web::{AppState, Ctx, Error, Result};

/// What a PDF starts with.
const PDF: &[u8] = b"%PDF-";
/// What a ZIP archive (and so an Office Open XML file) starts with.
const ZIP: &[u8] = b"PK\x03\x04";

/// The upload route, with room for the largest file allowed; merged outside
/// the pages' general body limit.
pub fn upload_router(settings: &Settings) -> Router<AppState> {
    // Room for the other fields and the multipart framing.
    let limit = settings.materials.max_bytes + 64 * 1024;
    let timeout = Duration::from_secs(settings.server.request_timeout_secs.max(60));
    needs(Need::Write, Router::new().route("/admin/meetings/{id}/materials", post(upload)))
        .layer(CatchPanicLayer::new())
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(DefaultBodyLimit::max(limit))
}

/// Routes that take ordinary forms.
pub fn router() -> Router<AppState> {
    needs(Need::Write, Router::new().route("/admin/meetings/{id}/materials/{material}/delete", post(remove)))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The MIME type of an accepted file, from its content, provided its name
/// says the same; `None` for anything else.
#[must_use]
pub fn detect(filename: &str, data: &[u8]) -> Option<&'static str> {
    let ext = filename.rsplit_once('.')?.1.to_ascii_lowercase();
    let kind = if data.starts_with(PDF) {
        "pdf"
    } else if data.starts_with(ZIP) && contains(data, b"[Content_Types].xml") {
        // Entry names are stored uncompressed in the archive's headers.
        if contains(data, b"ppt/") {
            "pptx"
        } else if contains(data, b"word/") {
            "docx"
        } else {
            return None;
        }
    } else {
        return None;
    };
    (ext == kind).then_some(match kind {
        "pdf" => "application/pdf",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _ => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    })
}

async fn refuse(
    state: &AppState,
    ctx: &Ctx,
    organiser: &Organiser,
    id: MeetingId,
    message: String,
) -> Result<Response> {
    let m = state.store.meeting(id).await?;
    let mut page = page_for(state, ctx, organiser, &m).await?;
    page.errors = vec![("file".into(), message)];
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// Takes a speaker's file for the meeting's materials, checked by its bytes
/// (PDF, PPTX, DOCX) and its size; a refusal comes back by the file field.
async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<MeetingId>,
    OrganiserUpload { organiser, upload }: OrganiserUpload,
) -> Result<Response> {
    let lang = ctx.lang;
    let max = state.settings.materials.max_bytes;
    let too_large = match lang {
        Lang::Da => format!("Filen er for stor; højst {} MB.", max / (1024 * 1024)),
        Lang::En => format!("The file is too large; at most {} MB.", max / (1024 * 1024)),
    };
    let (name, data) = match upload {
        Upload::File { data, .. } if data.len() > max => return refuse(&state, &ctx, &organiser, id, too_large).await,
        Upload::File { name, data } => (name, data),
        Upload::TooLarge => return refuse(&state, &ctx, &organiser, id, too_large).await,
        Upload::Missing => {
            return refuse(&state, &ctx, &organiser, id, lang.pick("Vælg en fil.", "Choose a file.").into()).await;
        }
    };
    let Some(content_type) = detect(&name, &data) else {
        let msg = lang.pick(
            "Kun PDF-, PPTX- og DOCX-filer kan lægges op, og filens navn skal passe til dens indhold.",
            "Only PDF, PPTX and DOCX files can be uploaded, and the file's name must match its content.",
        );
        return refuse(&state, &ctx, &organiser, id, msg.into()).await;
    };
    let filename = match FileName::parse(&name) {
        Ok(n) => n,
        Err(e) => return refuse(&state, &ctx, &organiser, id, refusal(lang, e).into()).await,
    };
    forum::meetings::add_material(&state.forum, &organiser.actor(), id, filename.as_str(), content_type, &data).await?;
    Ok(Redirect::to(&format!("/admin/meetings/{id}?done=material#materials")).into_response())
}

/// Why a file's name was refused, said by the file field.
const fn refusal(lang: Lang, e: FileNameError) -> &'static str {
    match e {
        FileNameError::Empty => lang.pick("Filen har intet navn.", "The file has no name."),
        FileNameError::TooLong => lang.pick(
            "Filens navn er for langt; højst 150 tegn. Omdøb filen og prøv igen.",
            "The file's name is too long; at most 150 characters. Rename the file and try again.",
        ),
        FileNameError::Hidden => lang.pick(
            "Filens navn indeholder usynlige tegn, kontroltegn eller tegn, der vender skriveretningen. Omdøb filen og prøv igen.",
            "The file's name holds invisible or control characters, or characters that turn the writing direction. Rename the file and try again.",
        ),
    }
}

/// Removes a file once the organiser has confirmed it; the first press shows
/// what will go.
async fn remove(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, material)): Path<(MeetingId, Uuid)>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    if fields.get("confirm") != "yes" {
        let m = state.store.meeting(id).await?;
        let file = state.store.materials(id).await?.into_iter().find(|f| f.id == material).ok_or(Error::NotFound)?;
        let lang = ctx.lang;
        let kb = (file.size + 1023) / 1024;
        let what = vec![match lang {
            Lang::Da => format!(
                "Filen «{}» ({kb} kB) fjernes fra mødets materialer og kan ikke længere hentes, heller ikke fra den offentlige side.",
                file.filename
            ),
            Lang::En => format!(
                "The file «{}» ({kb} kB) is removed from the meeting's materials and can no longer be downloaded, from the public page either.",
                file.filename
            ),
        }];
        let heading = lang.pick("Fjern filen?", "Remove the file?");
        let button = lang.pick("Ja, fjern filen", "Yes, remove the file");
        let mut page = page_for(&state, &ctx, &organiser, &m).await?;
        page.confirm = Some(
            ConfirmStep::new(lang, heading, what, format!("/admin/meetings/{id}/materials/{material}/delete"), button)
                .back_to(format!("/admin/meetings/{id}#materials")),
        );
        return Ok(page.into_response());
    }
    forum::meetings::remove_material(&state.forum, &organiser.actor(), id, material).await?;
    Ok(Redirect::to(&format!("/admin/meetings/{id}?done=material#materials")).into_response())
}

#[cfg(test)]
mod tests {
    use super::detect;

    #[test]
    fn the_content_decides_and_the_name_must_agree() {
        assert_eq!(detect("slides.PDF", b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(detect("slides.pdf", b"<html><script>"), None);
        assert_eq!(detect("slides.docx", b"%PDF-1.7"), None);
        let pptx = b"PK\x03\x04....[Content_Types].xml....ppt/slides/slide1.xml";
        assert!(detect("deck.pptx", pptx).is_some_and(|t| t.contains("presentationml")));
        assert_eq!(detect("deck.docx", pptx), None);
        assert_eq!(detect("noext", b"%PDF-"), None);
    }
}

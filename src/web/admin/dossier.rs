//! A meeting's dossier as one ZIP download, for a request for access to
//! documents: `index.html` listing the meeting's record in date order, and
//! its files. It holds personal data only as counts and as the organisations
//! that agreed to be named (see [`crate::forum::dossier`]), so every
//! organiser role may take it; each download is audited.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::domain::MeetingId;
use crate::forum;
use crate::transfer::dossier::zip;
use crate::transfer::export::content_disposition;
use crate::web::auth::{Need, Organiser, needs};
use crate::web::extract::Path;
use crate::web::{AppState, Ctx, Error, Result};

/// Routes of the dossier.
pub fn router() -> Router<AppState> {
    needs(Need::Read, Router::new().route("/admin/meetings/{id}/dossier.zip", get(download)))
}

async fn download(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Path(id): Path<MeetingId>,
) -> Result<Response> {
    let dossier = forum::dossier::gather(&state.forum, &organiser.actor(), id, ctx.lang).await?;
    let bytes = zip(&dossier, ctx.lang).map_err(Error::Internal)?;
    let mut res = (StatusCode::OK, bytes).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&content_disposition(&dossier.file_stem, "zip"))
            .map_err(|e| Error::Internal(e.into()))?,
    );
    Ok(res)
}

//! `/api/…`: the data of the pages as the CLI's JSON (`app::json`), so a
//! script reads the same fields from `clausewatch history --format json`
//! and from `/api/documents/{id}/history`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::{from_param, load, number, Web, WebError};
use crate::app::json::{self, ClauseEntry, DocumentEntry, HistoryEntry};

/// An API failure: the same reasons as a page's, as JSON.
struct ApiError(WebError);

impl From<WebError> for ApiError {
    fn from(e: WebError) -> ApiError {
        ApiError(e)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> ApiError {
        ApiError(e.into())
    }
}

#[derive(Serialize)]
struct ErrorBody {
    error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Store(e) => {
                tracing::warn!(error = %e, "api answer failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (
            status,
            Json(ErrorBody {
                error: self.0.to_string(),
            }),
        )
            .into_response()
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// `/api/documents`: the documents part of `status --format json`.
#[derive(Serialize)]
struct Documents {
    json_version: u32,
    documents: Vec<DocumentEntry>,
}

pub fn routes() -> Router<Web> {
    Router::new()
        .route("/documents", get(documents))
        .route("/documents/{id}/history", get(history))
        .route("/documents/{id}/versions/{n}", get(version))
        .route("/documents/{id}/changes/{n}", get(change))
}

async fn documents(State(w): State<Web>) -> ApiResult<Documents> {
    let statuses = w.store.statuses().await?;
    Ok(Json(Documents {
        json_version: json::JSON_VERSION,
        documents: statuses.iter().map(Into::into).collect(),
    }))
}

async fn history(State(w): State<Web>, Path(id): Path<String>) -> ApiResult<Vec<HistoryEntry>> {
    // A document that is not watched is a 404, not an empty list.
    load::doc_info(&w, &id).await?;
    let versions = w.store.history(&id, None).await?;
    Ok(Json(versions.iter().map(Into::into).collect()))
}

async fn version(
    State(w): State<Web>,
    Path((id, n)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let view = load::version(&w, &id, number(&n)?).await?;
    let rows: Vec<ClauseEntry> = view.clauses.iter().map(Into::into).collect();
    Ok(Json(rows).into_response())
}

async fn change(
    State(w): State<Web>,
    Path((id, n)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let from = from_param(q.as_deref())?;
    let view = load::change(&w, &id, number(&n)?, from).await?;
    Ok(Json(view.changes).into_response())
}

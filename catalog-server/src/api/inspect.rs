//! Metadata tables over HTTP:
//! `GET /management/v1/warehouses/{warehouse}/namespaces/{namespace}/tables/{table}/{kind}`.
//!
//! Parses the query (`page-size`, `page-token`, one of `snapshot-id` / `ref` / `as-of-ms`,
//! and for `changes` `from-snapshot-id` / `to-snapshot-id`), calls the service and answers
//! `{"rows": [...], "next-page-token": ...}` as JSON, or the same rows as CSV for
//! `Accept: text/csv` or as an Arrow IPC stream for
//! `Accept: application/vnd.apache.arrow.stream` ([`super::inspect_arrow`]). Every form also
//! carries the next page's token in the `next-page-token` response header, so a client can
//! ask for the next page while it still reads this one.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::borrow::Cow;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use serde_json::{Value, json};

use super::inspect_arrow::{ARROW_STREAM, ipc_stream, json_rows};
use super::{Params, QueryMap, SharedState};
use crate::auth::{Caller, Privilege};
use crate::error::{ApiError, ApiResult};
use crate::service::{
    DEFAULT_INSPECT_PAGE, InspectKind, InspectPage, InspectRequest, InspectRows, SnapshotSelector,
};

/// The inspect route.
pub fn routes() -> Router<SharedState> {
    Router::new().route(
        "/management/v1/warehouses/{warehouse}/namespaces/{namespace}/tables/{table}/{kind}",
        get(inspect),
    )
}

/// The response formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Arrow,
}

fn format_of(headers: &HeaderMap) -> ApiResult<Format> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Format::Json);
    };
    let types: Vec<String> = accept
        .split(',')
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .collect();
    for t in &types {
        match t.as_str() {
            "application/json" | "*/*" | "application/*" | "" => return Ok(Format::Json),
            "text/csv" | "text/*" => return Ok(Format::Csv),
            ARROW_STREAM => return Ok(Format::Arrow),
            _ => {}
        }
    }
    Err(ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "NotAcceptableException",
        format!(
            "cannot answer in {accept}; the formats are application/json, text/csv and \
             {ARROW_STREAM}"
        ),
    ))
}

fn int_param(q: &QueryMap, name: &str) -> ApiResult<Option<i64>> {
    q.get(name)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("{name} must be an integer, got '{v}'")))
        })
        .transpose()
}

fn request(kind: InspectKind, q: &QueryMap) -> ApiResult<InspectRequest> {
    let page_size = match q.get("page-size") {
        None => DEFAULT_INSPECT_PAGE,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=kind.max_page()).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "page-size must be an integer from 1 to {}, got '{v}'",
                    kind.max_page()
                )));
            }
        },
    };
    let mut selectors = Vec::new();
    if let Some(id) = int_param(q, "snapshot-id")? {
        selectors.push(SnapshotSelector::Id(id));
    }
    if let Some(r) = q.get("ref") {
        selectors.push(SnapshotSelector::Ref(r.to_string()));
    }
    if let Some(ts) = int_param(q, "as-of-ms")? {
        selectors.push(SnapshotSelector::AsOfMs(ts));
    }
    if selectors.len() > 1 {
        return Err(ApiError::bad_request(
            "give at most one of snapshot-id, ref and as-of-ms",
        ));
    }
    Ok(InspectRequest {
        kind,
        snapshot: selectors.pop().unwrap_or_default(),
        page_size,
        page_token: q.get("page-token").map(str::to_string),
        from_snapshot_id: int_param(q, "from-snapshot-id")?,
        to_snapshot_id: int_param(q, "to-snapshot-id")?,
    })
}

async fn inspect(
    State(state): State<SharedState>,
    caller: Caller,
    p: Params,
    q: QueryMap,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let word = p.get("kind")?;
    let kind = InspectKind::parse(word).ok_or_else(|| {
        let kinds: Vec<&str> = InspectKind::ALL.iter().map(|(w, _)| *w).collect();
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFoundException",
            format!(
                "no metadata table '{word}'; the kinds are {}",
                kinds.join(", ")
            ),
        )
    })?;
    let format = format_of(&headers)?;
    let req = request(kind, &q)?;
    let wh = state.service.warehouse(p.get("warehouse")?).await?;
    let (ns, name) = (p.namespace()?, p.get("table")?);
    state
        .access
        .require_table(&caller, &wh, &ns, name, Privilege::Select)
        .await?;
    let page = state.service.inspect(&wh, &ns, name, req).await?;
    match format {
        Format::Json => json_response(page),
        Format::Csv => csv_response(&page),
        Format::Arrow => {
            let body = ipc_stream(&page)
                .map_err(|e| ApiError::internal(format!("cannot write an Arrow stream: {e}")))?;
            Ok(with_token(body, ARROW_STREAM, &page.next_page_token))
        }
    }
}

/// `{"next-page-token": ..., "rows": [...]}`, keys in the order serde_json writes them.
fn json_response(page: InspectPage) -> ApiResult<Response> {
    let rows = match page.rows {
        InspectRows::Values(rows) => {
            let body = serde_json::to_vec(&json!({
                "rows": rows,
                "next-page-token": page.next_page_token,
            }))
            .map_err(|e| ApiError::internal(format!("cannot write JSON rows: {e}")))?;
            return Ok(with_token(body, "application/json", &page.next_page_token));
        }
        InspectRows::Columns(batch) => batch,
    };
    let fail = |e: String| ApiError::internal(format!("cannot write JSON rows: {e}"));
    let mut body = Vec::with_capacity(64 + rows.get_array_memory_size());
    body.extend_from_slice(b"{\"next-page-token\":");
    serde_json::to_writer(&mut body, &page.next_page_token).map_err(|e| fail(e.to_string()))?;
    body.extend_from_slice(b",\"rows\":");
    json_rows(page.kind, &rows, &mut body).map_err(|e| fail(e.to_string()))?;
    body.push(b'}');
    Ok(with_token(body, "application/json", &page.next_page_token))
}

/// A cell: strings as they are, null empty, nested values as JSON text.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A cell of a typed column: as [`cell`] writes the same value.
fn column_cell(a: &ArrayRef, row: usize) -> Cow<'_, [u8]> {
    if a.is_null(row) {
        return Cow::Borrowed(b"");
    }
    let owned = |s: String| Cow::Owned(s.into_bytes());
    match a.data_type() {
        DataType::Int32 => owned(a.as_primitive::<Int32Type>().value(row).to_string()),
        DataType::Int64 => owned(a.as_primitive::<Int64Type>().value(row).to_string()),
        // Text as it is; nested values are their JSON text already.
        _ => Cow::Borrowed(
            a.as_string_opt::<i32>()
                .map(|s| s.value(row).as_bytes())
                .unwrap_or(b""),
        ),
    }
}

fn csv_response(page: &InspectPage) -> ApiResult<Response> {
    let body = csv_body(page)?;
    Ok(with_token(
        body,
        "text/csv; charset=utf-8",
        &page.next_page_token,
    ))
}

/// The page as CSV: a header line with the kind's columns, then the rows.
pub(crate) fn csv_body(page: &InspectPage) -> ApiResult<Vec<u8>> {
    let columns = page.kind.columns();
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ApiError::internal(format!("cannot write CSV: {e}"));
    w.write_record(columns).map_err(fail)?;
    match &page.rows {
        InspectRows::Values(rows) => {
            for row in rows {
                w.write_record(columns.iter().map(|c| cell(&row[*c])))
                    .map_err(fail)?;
            }
        }
        InspectRows::Columns(batch) => {
            for row in 0..batch.num_rows() {
                w.write_record(batch.columns().iter().map(|a| column_cell(a, row)))
                    .map_err(fail)?;
            }
        }
    }
    w.into_inner()
        .map_err(|e| ApiError::internal(format!("cannot write CSV: {e}")))
}

/// A 200 with `body` of `content_type`, the next page's token in the `next-page-token` header
/// (in every format, so a client can ask for the next page before it has read this one).
fn with_token(body: Vec<u8>, content_type: &'static str, token: &Option<String>) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(t) = token
        && let Ok(v) = HeaderValue::from_str(t)
    {
        resp.headers_mut().insert("next-page-token", v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_format() {
        let mut h = HeaderMap::new();
        assert_eq!(format_of(&h).unwrap(), Format::Json);
        h.insert(header::ACCEPT, HeaderValue::from_static("text/csv"));
        assert_eq!(format_of(&h).unwrap(), Format::Csv);
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json;q=0.9, text/csv"),
        );
        assert_eq!(format_of(&h).unwrap(), Format::Json);
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/vnd.apache.arrow.stream"),
        );
        assert_eq!(format_of(&h).unwrap(), Format::Arrow);
        h.insert(header::ACCEPT, HeaderValue::from_static("image/png"));
        assert_eq!(
            format_of(&h).unwrap_err().status,
            StatusCode::NOT_ACCEPTABLE
        );
    }
}

//! Which pages the control API answers: those the WebSocket endpoints
//! admit ([`Origins`]); any other is refused before its order is carried
//! out, since a cross-origin request is sent (and acts) even when its page
//! may not read the answer.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use crate::hub::Hub;
use crate::origins::Origins;

/// Lets the admitted pages read the answers and send their preflights.
pub fn cors(origins: Origins) -> CorsLayer {
    let admitted = move |origin: &HeaderValue, request: &axum::http::request::Parts| {
        origin
            .to_str()
            .is_ok_and(|origin| origins.admits_origin(origin, &request.headers))
    };
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(admitted))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(AllowHeaders::mirror_request())
}

/// Refuses a request of a page the server does not admit.
pub async fn admitted_only(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    if hub.origins().admit(&headers) {
        next.run(request).await
    } else {
        hub.log(format_args!(
            "refused a control request from origin {:?}",
            headers.get(axum::http::header::ORIGIN)
        ));
        let error = json!({ "error": "this origin may not use the control API" });
        (StatusCode::FORBIDDEN, Json(error)).into_response()
    }
}

//! Static file serving: the wasm-pack output under `/pkg/`, the demo and test
//! pages for everything else.

use std::path::Path;

use axum::http::header::{HeaderValue, CACHE_CONTROL};
use axum::middleware::map_response;
use axum::response::Response;
use axum::Router;
use tower_http::services::ServeDir;

/// Serves `pkg` under `/pkg/` and `www` for every other path (with
/// `index.html` for directories such as `/`).
pub fn routes(www: &Path, pkg: &Path) -> Router {
    Router::new()
        .nest_service("/pkg", ServeDir::new(pkg))
        .fallback_service(ServeDir::new(www))
        .layer(map_response(revalidate))
}

/// This is a development server: a reload must always pick up the latest
/// build, so every response is revalidated (`no-cache`). Not `no-store`,
/// which would keep its pages out of the back/forward cache.
async fn revalidate(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

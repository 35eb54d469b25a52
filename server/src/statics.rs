//! Static file serving: the wasm-pack output under `/pkg/`, the demo and test
//! pages for everything else, and the same pages cross-origin isolated under
//! `/isolated/`.

use std::path::Path;

use axum::http::header::{HeaderName, HeaderValue, CACHE_CONTROL};
use axum::middleware::map_response;
use axum::response::Response;
use axum::Router;
use tower_http::services::ServeDir;

/// Serves `pkg` under `/pkg/` and `www` for every other path (with
/// `index.html` for directories such as `/`); `/isolated/PATH` is `/PATH`
/// with the headers that make a page cross-origin isolated.
pub fn routes(www: &Path, pkg: &Path) -> Router {
    let isolated = Router::new()
        .fallback_service(ServeDir::new(www))
        .layer(map_response(isolate));
    Router::new()
        .nest_service("/pkg", ServeDir::new(pkg))
        .nest_service("/isolated", isolated)
        .fallback_service(ServeDir::new(www))
        .layer(map_response(revalidate))
}

/// `Cross-Origin-Opener-Policy: same-origin` and
/// `Cross-Origin-Embedder-Policy: require-corp`: the page is then
/// cross-origin isolated, and `performance.now()` has a 5 µs resolution
/// instead of 100 µs (the benchmarks use it). Same-origin iframes must be
/// served so too, and cross-origin resources need CORS or CORP headers.
async fn isolate(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-embedder-policy"),
        HeaderValue::from_static("require-corp"),
    );
    response
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

//! Which pages may talk to this server.
//!
//! A browser sends the page's origin with every WebSocket handshake and
//! every cross-origin request, and a page of any site can open a WebSocket
//! to any address: without a check, a page the user visits could open a
//! connection with the user's cookies, or drive the test control API of a
//! server on the developer's own machine. So a page is admitted only when
//! it is served from this server's own origin or its origin is listed with
//! `--allow-origin` (`*`: every origin, for development).
//!
//! A request without `Origin` is admitted: programs other than browsers
//! (Node, native apps, the load generator) need not send one and could send
//! any, so refusing them would protect nothing. Browsers leave `Origin` out
//! of a few cross-site requests (an image's GET), but then say where they
//! come from in `Sec-Fetch-Site`, which this reads too.

use axum::http::header::{HOST, ORIGIN};
use axum::http::HeaderMap;

/// The origins allowed besides the server's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins {
    listed: Vec<String>,
}

/// `--allow-origin` value that admits every origin.
pub const ANY_ORIGIN: &str = "*";

impl Origins {
    /// The server's own origin and `listed` (origins as browsers send them,
    /// or [`ANY_ORIGIN`]).
    pub fn new(listed: Vec<String>) -> Self {
        Self { listed }
    }

    /// Whether every origin is admitted.
    pub fn any(&self) -> bool {
        self.listed.iter().any(|origin| origin == ANY_ORIGIN)
    }

    /// Whether the request with these headers may be answered.
    pub fn admit(&self, headers: &HeaderMap) -> bool {
        if self.any() {
            return true;
        }
        match headers.get(ORIGIN) {
            Some(origin) => origin
                .to_str()
                .is_ok_and(|origin| self.admits_origin(origin, headers)),
            None => !sent_by_a_page_of_another_origin(headers),
        }
    }

    /// Whether a page of `origin` may make the request with these headers.
    pub fn admits_origin(&self, origin: &str, headers: &HeaderMap) -> bool {
        self.any()
            || self.listed.iter().any(|listed| listed == origin)
            || same_origin(origin, headers)
    }
}

/// Whether `origin` names the host the request was sent to (the `Host`
/// header, which a browser sets to the address it connected to), whatever
/// the scheme: behind a proxy that ends TLS, a page of `https://host` talks
/// to a server that sees plain HTTP.
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(authority) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    headers
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .is_some_and(|host| host.eq_ignore_ascii_case(authority))
}

/// Whether a browser says the request comes from a page of another origin
/// (`Sec-Fetch-Site: cross-site` or `same-site`).
fn sent_by_a_page_of_another_origin(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|site| site != "same-origin" && site != "none")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_servers_own_origin_is_admitted_whatever_the_scheme() {
        let origins = Origins::default();
        for origin in ["http://127.0.0.1:8080", "https://127.0.0.1:8080"] {
            let request = headers(&[("host", "127.0.0.1:8080"), ("origin", origin)]);
            assert!(origins.admit(&request), "{origin}");
        }
        let request = headers(&[("host", "App.Example"), ("origin", "https://app.example")]);
        assert!(origins.admit(&request));
    }

    #[test]
    fn another_origin_is_refused_unless_listed() {
        let request = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:5173"),
        ]);
        assert!(!Origins::default().admit(&request));
        assert!(Origins::new(vec!["http://127.0.0.1:5173".to_owned()]).admit(&request));
        assert!(!Origins::new(vec!["http://127.0.0.1:5174".to_owned()]).admit(&request));
        assert!(Origins::new(vec![ANY_ORIGIN.to_owned()]).admit(&request));
        let image = headers(&[("sec-fetch-site", "cross-site")]);
        assert!(Origins::new(vec![ANY_ORIGIN.to_owned()]).admit(&image));
    }

    #[test]
    fn an_origin_that_only_looks_like_the_host_is_refused() {
        for origin in [
            "127.0.0.1:8080",
            "ws://127.0.0.1:8080",
            "null",
            "http://127.0.0.1:80800",
        ] {
            let request = headers(&[("host", "127.0.0.1:8080"), ("origin", origin)]);
            assert!(!Origins::default().admit(&request), "{origin}");
        }
        let no_host = headers(&[("origin", "http://127.0.0.1:8080")]);
        assert!(!Origins::default().admit(&no_host));
    }

    #[test]
    fn requests_without_origin_are_admitted_unless_a_browser_says_they_are_cross_site() {
        let origins = Origins::default();
        assert!(origins.admit(&headers(&[("host", "127.0.0.1:8080")])));
        for site in ["same-origin", "none"] {
            assert!(
                origins.admit(&headers(&[("sec-fetch-site", site)])),
                "{site}"
            );
        }
        for site in ["cross-site", "same-site"] {
            assert!(
                !origins.admit(&headers(&[("sec-fetch-site", site)])),
                "{site}"
            );
        }
    }
}

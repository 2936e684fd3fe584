//! Which requests the live page's server answers, decided from the method and
//! the path alone: GET or HEAD of its own paths. Files come from a fixed list
//! of names in the run directory, so no path a client sends is ever joined to
//! a directory.

/// The longest request target answered; longer ones are refused.
pub const MAX_TARGET: usize = 2048;

/// Files of the run directory the server hands out once they exist: the
/// final report and its charts.
pub const RUN_FILES: &[(&str, &str)] = &[
    ("report.html", "text/html; charset=utf-8"),
    ("report.md", "text/markdown; charset=utf-8"),
    ("report.json", "application/json"),
    ("requests.svg", "image/svg+xml"),
    ("requests-prometheus.svg", "image/svg+xml"),
    ("share.svg", "image/svg+xml"),
    ("errors.svg", "image/svg+xml"),
    ("ready.svg", "image/svg+xml"),
];

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The page (`/`).
    Page,
    /// The part of the page that changes (`/fragment`), fetched every second.
    Fragment,
    /// A file of the run directory, by its index in [`RUN_FILES`].
    RunFile(usize),
    /// No such path (404).
    NotFound,
    /// A method other than GET or HEAD (405).
    MethodNotAllowed,
    /// A request target longer than [`MAX_TARGET`] (414).
    TooLong,
}

/// The route of a request with `method` and request target `target` (a path
/// and maybe a query, which is ignored).
pub fn route(method: &str, target: &str) -> Route {
    if method != "GET" && method != "HEAD" {
        return Route::MethodNotAllowed;
    }
    if target.len() > MAX_TARGET {
        return Route::TooLong;
    }
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    match path {
        "/" | "/index.html" => Route::Page,
        "/fragment" => Route::Fragment,
        _ => path
            .strip_prefix('/')
            .and_then(|name| RUN_FILES.iter().position(|(file, _)| *file == name))
            .map_or(Route::NotFound, Route::RunFile),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_and_head_of_its_own_paths() {
        let check = |method: &str, target: &str, expected: Route| {
            assert_eq!(route(method, target), expected, "{method} {target}");
        };
        check("GET", "/", Route::Page);
        check("HEAD", "/", Route::Page);
        check("GET", "/?lang=ko", Route::Page);
        check("GET", "/fragment", Route::Fragment);
        check("GET", "/report.html", Route::RunFile(0));
        check("GET", "/share.svg", Route::RunFile(5));
        for method in [
            "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
        ] {
            check(method, "/", Route::MethodNotAllowed);
        }
        for target in [
            "/events.jsonl",
            "/../report.html",
            "/%2e%2e/report.html",
            "/platform/prometheus.log",
            "//report.html",
            "/report.html/",
            "/fragment/x",
            "report.html",
            "*",
        ] {
            check("GET", target, Route::NotFound);
        }
        check(
            "GET",
            &format!("/{}", "a".repeat(MAX_TARGET)),
            Route::TooLong,
        );
    }
}

//! Answers that are not the protocol's own ([`Hostile`]): what a gateway meets when a proxy,
//! a login page or a broken provider sits behind an account. Each is a real wire format:
//! HTML pages with `text/html`, a redirect with `Location`, SSE framing around non-JSON data,
//! a gzip body without its `Content-Encoding`, the protocol's own in-stream error event, and
//! a huge JSON answer streamed in chunks without ever being held whole.

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use std::io::Write;

use crate::reply::Reply;
use crate::script::Hostile;
use crate::server::{self, Ctx, Dialect};

/// The page a captive portal or a login wall answers 200 with.
const LOGIN_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
<title>Sign in</title></head>\n<body>\n<h1>Please sign in to continue</h1>\n\
<form method=\"post\" action=\"/login\"><input name=\"user\"><input name=\"password\" \
type=\"password\"><button>Sign in</button></form>\n</body>\n</html>\n";

/// Where [`Hostile::Redirect`] points.
pub(crate) const REDIRECT_TO: &str = "https://login.fake-upstream.invalid/sso?return_to=%2Fv1";

/// Size of each chunk of a [`Hostile::HugeBody`] answer.
const FILL_CHUNK: usize = 64 * 1024;

/// The padding every chunk of a huge body is cut from (lives in the binary, never copied).
static FILL: [u8; FILL_CHUNK] = [b'a'; FILL_CHUNK];

/// Stands for the padded text while the reply is serialised; split out around it.
const FILL_MARKER: &str = "@@fake-huge-body-fill@@";

/// The response for `hostile`, or `None` to answer normally (an error-first stream asked
/// for without a stream).
pub(crate) fn respond<D: Dialect>(
    dialect: &D,
    ctx: &Ctx,
    reply: &Reply,
    stream: bool,
    hostile: Hostile,
) -> Option<Response> {
    let resp = match hostile {
        Hostile::Html200 => html(ctx, StatusCode::OK, LOGIN_PAGE.to_owned()),
        Hostile::HtmlStatus(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND);
            html(ctx, status, nginx_page(status))
        }
        Hostile::Redirect => {
            let mut resp = html(ctx, StatusCode::FOUND, nginx_page(StatusCode::FOUND));
            resp.headers_mut()
                .insert(LOCATION, HeaderValue::from_static(REDIRECT_TO));
            resp
        }
        Hostile::GarbageSse => {
            let events = vec![
                Bytes::from_static(b"data: <html><body><h1>502 Bad Gateway</h1></body></html>\n\n"),
                Bytes::from_static(b"data: upstream connect error or disconnect/reset\n\n"),
            ];
            sse(ctx, events)
        }
        Hostile::GzipWithoutEncoding => {
            let json = dialect.json_body(ctx, reply).to_string();
            let mut resp = Response::new(Body::from(gzip(json.as_bytes())));
            resp.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            server::finish_headers(dialect, ctx, false, &mut resp);
            resp
        }
        Hostile::StreamOpensWithError => {
            if !stream {
                return None;
            }
            let mut resp = sse(ctx, vec![dialect.stream_error_event(ctx)]);
            resp.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(dialect.stream_content_type()),
            );
            server::finish_headers(dialect, ctx, false, &mut resp);
            resp
        }
        Hostile::HugeBody { bytes } => huge(dialect, ctx, reply, bytes),
    };
    Some(resp)
}

/// An HTML page with `status` (only `x-fake-key`: the page is not the provider's).
fn html(ctx: &Ctx, status: StatusCode, page: String) -> Response {
    let mut resp = Response::new(Body::from(page));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    fake_key(ctx, &mut resp);
    resp
}

fn fake_key(ctx: &Ctx, resp: &mut Response) {
    if let Ok(v) = HeaderValue::from_str(&ctx.key) {
        resp.headers_mut().insert("x-fake-key", v);
    }
}

/// nginx's error page for `status`.
pub(crate) fn nginx_page(status: StatusCode) -> String {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1>\
         </center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
}

/// A 200 SSE response of `events`.
fn sse(ctx: &Ctx, events: Vec<Bytes>) -> Response {
    let body = Body::from_stream(stream::iter(
        events.into_iter().map(Ok::<_, std::convert::Infallible>),
    ));
    let mut resp = Response::new(body);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    fake_key(ctx, &mut resp);
    resp
}

/// `bytes` gzip-compressed.
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a `Vec` cannot fail.
    let _written = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The normal JSON reply with its text padded to make the body `bytes` long, streamed as
/// prefix, padding in [`FILL_CHUNK`] pieces, suffix, with its `Content-Length`.
fn huge<D: Dialect>(dialect: &D, ctx: &Ctx, reply: &Reply, bytes: usize) -> Response {
    let mut marked = reply.clone();
    marked.text = Some(FILL_MARKER.to_owned());
    marked.calls.clear();
    let json = dialect.json_body(ctx, &marked).to_string();
    let (prefix, suffix) = json
        .split_once(FILL_MARKER)
        .map_or((json.as_str(), ""), |(p, s)| (p, s));
    let fill = bytes.saturating_sub(prefix.len() + suffix.len());
    let total = prefix.len() + fill + suffix.len();
    let head = Bytes::from(prefix.to_owned());
    let tail = Bytes::from(suffix.to_owned());
    let pieces = stream::iter([head])
        .chain(stream::unfold(fill, |left| async move {
            (left > 0).then(|| {
                let n = left.min(FILL_CHUNK);
                (Bytes::from_static(&FILL[..n]), left - n)
            })
        }))
        .chain(stream::iter([tail]))
        .map(Ok::<_, std::convert::Infallible>);
    let mut resp = Response::new(Body::from_stream(pieces));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(total));
    server::finish_headers(dialect, ctx, false, &mut resp);
    resp
}

//! Real servers on 127.0.0.1 for the probe tests, each on a port chosen by binding port 0: a
//! tiny HTTP/1.1 server, a backend that answers like self-hosted Convex (`/version` on the API
//! port, a site port that rewrites `/x` to the API's `/http/x`), a port that accepts and resets
//! like docker's proxy with nothing inside, a server that hangs, a closed port, and a stand-in for
//! Coder's proxy that answers 502 when its upstream is down and redirects to a login page for apps
//! that are not public.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use portolan::probe::Share;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 server: one request per connection, `Connection: close`.

#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub type Reply = Pin<Box<dyn Future<Output = Vec<u8>> + Send>>;
pub type Handler = Arc<dyn Fn(Request) -> Reply + Send + Sync>;

pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<u8>> + Send + 'static,
{
    Arc::new(move |r| Box::pin(f(r)))
}

pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

pub async fn bind() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

pub fn serve(listener: TcpListener, handler: Handler) {
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, handler.clone()));
        }
    });
}

pub fn serve_tls(listener: TcpListener, acceptor: tokio_rustls::TlsAcceptor, handler: Handler) {
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, handler) = (acceptor.clone(), handler.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    answer(tls, handler).await;
                }
            });
        }
    });
}

pub async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, handler: Handler) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let mut lines = text.split("\r\n");
    let path = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("/")
        .to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let reply = handler(Request { path, headers }).await;
    let _ = stream.write_all(&reply).await;
    let _ = stream.shutdown().await;
}

/// Sends `GET path` to 127.0.0.1:port and returns the raw response; `None` when the upstream
/// refuses, resets, or closes without answering.
pub async fn forward(port: u16, path: &str) -> Option<Vec<u8>> {
    let mut upstream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    upstream.write_all(request.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    upstream.read_to_end(&mut raw).await.ok()?;
    (!raw.is_empty()).then_some(raw)
}

// ---------------------------------------------------------------------------------------------
// The servers of a workspace.

/// The Convex backend's API port: serves `/version`, and HTTP actions under `/http/`, where auth
/// publishes its OpenID discovery document with the configured site origin as issuer. Without an
/// issuer, no auth routes are deployed: the discovery document is a 404 like any unknown route.
pub fn convex_api(listener: TcpListener, issuer: Option<String>) {
    serve(
        listener,
        handler(move |req: Request| {
            let issuer = issuer.clone();
            async move {
                match (req.path.as_str(), issuer) {
                    ("/", _) => response(200, &[], "This Convex deployment is running."),
                    // As the backend's meta route does: the version string, as plain text.
                    ("/version", _) => response(
                        200,
                        &[("Content-Type", "text/plain; charset=utf-8")],
                        "1.0.0",
                    ),
                    ("/http/.well-known/openid-configuration", Some(issuer)) => response(
                        200,
                        &[("Content-Type", "application/json")],
                        &format!(
                            r#"{{"issuer":"{issuer}","jwks_uri":"{issuer}/.well-known/jwks.json"}}"#
                        ),
                    ),
                    _ => response(404, &[], "No matching routes found"),
                }
            }
        }),
    );
}

/// A plain file server, as `python3 -m http.server` is: a folder listing at `/`, and an HTML
/// error page with 404 for a file it does not have, such as `/version`.
pub fn file_server(listener: TcpListener) {
    serve(
        listener,
        handler(|req: Request| async move {
            let html = [("Content-Type", "text/html;charset=utf-8")];
            match req.path.as_str() {
                "/" => response(
                    200,
                    &html,
                    "<!DOCTYPE HTML>\n<html lang=\"en\">\n<head><title>Directory listing for /</title></head>\n<body><ul><li><a href=\"notes.txt\">notes.txt</a></li></ul></body>\n</html>\n",
                ),
                _ => response(
                    404,
                    &html,
                    "<!DOCTYPE HTML>\n<html lang=\"en\">\n<head><title>Error response</title></head>\n<body><h1>Error response</h1><p>Error code: 404</p><p>Message: File not found.</p></body>\n</html>\n",
                ),
            }
        }),
    );
}

/// A single-page app's dev server: its `index.html`, with 200, for every path.
pub fn spa_dev_server(listener: TcpListener) {
    serve(
        listener,
        handler(|_| async {
            response(
                200,
                &[("Content-Type", "text/html")],
                "<!doctype html>\n<html lang=\"en\">\n  <head><script type=\"module\" src=\"/@vite/client\"></script></head>\n  <body><div id=\"root\"></div></body>\n</html>\n",
            )
        }),
    );
}

/// The Convex backend's site proxy port: `/x` becomes the API port's `/http/x`.
pub fn convex_site(listener: TcpListener, api_port: u16) {
    serve(
        listener,
        handler(move |req: Request| async move {
            match forward(api_port, &format!("/http{}", req.path)).await {
                Some(raw) => raw,
                None => response(502, &[], "site proxy: API unreachable"),
            }
        }),
    );
}

/// Docker's proxy with nothing listening inside: accepts, then resets.
pub fn accept_then_reset(listener: TcpListener) {
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_zero_linger();
            drop(stream);
        }
    });
}

/// Accepts and never answers.
pub fn hang(listener: TcpListener) {
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
}

/// A port nothing listens on.
pub async fn closed_port() -> u16 {
    let (listener, port) = bind().await;
    drop(listener);
    port
}

/// Stand-in for Coder's proxy: `{slug}--ws--me.coder.test` forwards to the app's port; 502 when
/// the upstream does not answer; a redirect to Coder's login for apps that are not public.
pub fn coder_proxy(listener: TcpListener, apps: HashMap<&'static str, (u16, Share)>) {
    serve(
        listener,
        handler(move |req: Request| {
            let apps = apps.clone();
            async move {
                let host = req.header("host").unwrap_or("").to_string();
                let slug = host.split("--").next().unwrap_or("");
                let Some((port, share)) = apps.get(slug).copied() else {
                    return response(404, &[], "Application Not Found");
                };
                if share != Share::Public && req.header("coder-session-token") != Some("tok") {
                    let login = format!(
                        "http://coder.test/api/v2/applications/auth-redirect?redirect_uri=http://{host}{}",
                        req.path
                    );
                    return response(307, &[("Location", &login)], "");
                }
                match forward(port, &req.path).await {
                    Some(raw) => raw,
                    None => response(502, &[], "Bad Gateway"),
                }
            }
        }),
    );
}

/// The origin of an app behind [`coder_proxy`]: wildcard domain `coder.test:{proxy_port}`.
pub fn origin(slug: &str, proxy_port: u16) -> String {
    format!("http://{slug}--ws--me.coder.test:{proxy_port}")
}

/// `--resolve` entries sending each host to 127.0.0.1.
pub fn resolve_to_localhost(hosts: &[&str]) -> Vec<(String, SocketAddr)> {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    hosts.iter().map(|h| (h.to_string(), addr)).collect()
}

//! A scriptable HTTP/1.1 test server on 127.0.0.1.
//!
//! It runs on its own thread with its own Tokio runtime, so it works the same from
//! `#[tokio::test]` functions and from plain `#[test]` functions that spawn the
//! `clausewatch` binary. Dropping the [`TestServer`] stops it.
//!
//! Each path has a *script*: a list of [`Reply`]s served in order, the last one repeating.
//! Routes match on the path without the query string; unknown paths get a 404. Every
//! request is logged with its headers, body and server-side timing. Connections are
//! closed after each response (`Connection: close`), which keeps the server simple and
//! makes a body without `Content-Length` legal (delimited by the close).
//!
//! ```ignore
//! let server = TestServer::start();
//! server.set_route("/privacy", vec![Reply::status(503), Reply::html("<p>ok</p>").etag("\"v1\"")]);
//! let url = server.url("/privacy");
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Request heads larger than this are answered with 431 and logged anyway.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// One scripted response.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait before sending the status line and headers.
    pub delay: Duration,
    /// Send the body in chunks of `.0` bytes with `.1` between chunks.
    pub slow_body: Option<(usize, Duration)>,
    /// Sent as `ETag`; a request whose `If-None-Match` matches gets a 304 instead.
    pub etag: Option<String>,
    /// Sent as `Last-Modified`; a request whose `If-Modified-Since` is exactly this string
    /// gets a 304 instead (string equality is enough for tests).
    pub last_modified: Option<String>,
    /// When false, no `Content-Length` is sent and the body ends with the connection.
    pub content_length: bool,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
            slow_body: None,
            etag: None,
            last_modified: None,
            content_length: true,
        }
    }

    /// 200 with the given body and no `Content-Type`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Reply::status(200).body(body)
    }

    /// 200 `text/html; charset=utf-8`.
    pub fn html(body: &str) -> Self {
        Reply::ok(body).header("Content-Type", "text/html; charset=utf-8")
    }

    /// A redirect (301, 302, 307, 308...) to `location` (absolute or relative).
    pub fn redirect(status: u16, location: &str) -> Self {
        Reply::status(status).header("Location", location)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn slow_body(mut self, chunk_size: usize, interval: Duration) -> Self {
        self.slow_body = Some((chunk_size.max(1), interval));
        self
    }

    pub fn etag(mut self, etag: &str) -> Self {
        self.etag = Some(etag.to_string());
        self
    }

    pub fn last_modified(mut self, date: &str) -> Self {
        self.last_modified = Some(date.to_string());
        self
    }

    pub fn without_content_length(mut self) -> Self {
        self.content_length = false;
        self
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// Request target as sent: path plus query.
    pub target: String,
    /// Path without the query string (the routing key).
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// Request body (only `Content-Length` bodies are read).
    pub body: Vec<u8>,
    /// When the request head had been read.
    pub received: Instant,
    /// When the response had been written completely; `None` while in progress or if
    /// the client went away first.
    pub finished: Option<Instant>,
}

impl RecordedRequest {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Route {
    script: Vec<Reply>,
    served: usize,
}

#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, Route>>,
    log: Mutex<Vec<RecordedRequest>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not hide the log from the other assertions.
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Binds 127.0.0.1 on a random port and serves on a dedicated thread.
    pub fn start() -> Self {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind test server on 127.0.0.1");
        listener
            .set_nonblocking(true)
            .expect("make test listener non-blocking");
        let addr = listener.local_addr().expect("test server address");
        let shared = Arc::new(Shared::default());
        let (shutdown, stop) = oneshot::channel();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("test-http-{}", addr.port()))
            .spawn(move || serve(listener, thread_shared, stop))
            .expect("spawn test server thread");
        TestServer {
            addr,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `path` must start with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// Same server reached through another host name (e.g. `localhost`), for tests
    /// that need two "different" hosts.
    pub fn url_with_host(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.addr.port())
    }

    /// Installs or replaces the script for `path` and restarts it from its first reply.
    pub fn set_route(&self, path: &str, script: Vec<Reply>) {
        assert!(!script.is_empty(), "a route needs at least one reply");
        lock(&self.shared.routes).insert(path.to_string(), Route { script, served: 0 });
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Number of requests received for `path` (any method).
    pub fn hits(&self, path: &str) -> usize {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    pub fn clear_log(&self) {
        lock(&self.shared.log).clear();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(listener: std::net::TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("test server runtime");
    runtime.block_on(async move {
        let listener = TcpListener::from_std(listener).expect("register test listener");
        loop {
            tokio::select! {
                _ = &mut stop => break,
                accepted = listener.accept() => {
                    if let Ok((stream, _)) = accepted {
                        tokio::spawn(handle(stream, Arc::clone(&shared)));
                    }
                }
            }
        }
    });
    // Dropping the runtime cancels connections still sleeping in a delay.
    drop(runtime);
}

async fn handle(mut stream: TcpStream, shared: Arc<Shared>) {
    let Some((head, mut rest)) = read_head(&mut stream).await else {
        return;
    };
    let Some(mut request) = parse_head(&head) else {
        let _ = stream
            .write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await;
        return;
    };
    let body_len = request
        .header("content-length")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_HEAD_BYTES * 16);
    while rest.len() < body_len {
        let mut buf = [0u8; 8192];
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => rest.extend_from_slice(&buf[..n]),
        }
    }
    rest.truncate(body_len);
    request.body = rest;

    let reply = next_reply(&shared, &request.path);
    let index = {
        let mut log = lock(&shared.log);
        log.push(request.clone());
        log.len() - 1
    };
    if write_reply(&mut stream, &request, reply).await.is_ok() {
        if let Some(entry) = lock(&shared.log).get_mut(index) {
            entry.finished = Some(Instant::now());
        }
    }
}

fn next_reply(shared: &Shared, path: &str) -> Reply {
    let mut routes = lock(&shared.routes);
    match routes.get_mut(path) {
        Some(route) => {
            let reply = route.script[route.served.min(route.script.len() - 1)].clone();
            route.served += 1;
            reply
        }
        None => Reply::status(404).body("no route"),
    }
}

/// Reads until the blank line ending the head; returns the head and any bytes after it.
async fn read_head(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = data.split_off(end + 4);
            return Some((String::from_utf8_lossy(&data).into_owned(), rest));
        }
        if data.len() > MAX_HEAD_BYTES {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n",
                )
                .await;
            return None;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

fn parse_head(head: &str) -> Option<RecordedRequest> {
    let mut lines = head.split("\r\n");
    let mut parts = lines.next()?.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let path = target.split('?').next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect();
    Some(RecordedRequest {
        method,
        target,
        path,
        headers,
        body: Vec::new(),
        received: Instant::now(),
        finished: None,
    })
}

fn not_modified(request: &RecordedRequest, reply: &Reply) -> bool {
    let etag_matches = match (&reply.etag, request.header("if-none-match")) {
        (Some(etag), Some(candidates)) => candidates
            .split(',')
            .map(str::trim)
            .any(|c| c == "*" || c == etag),
        _ => false,
    };
    let date_matches = matches!(
        (&reply.last_modified, request.header("if-modified-since")),
        (Some(date), Some(since)) if date == since
    );
    etag_matches || date_matches
}

async fn write_reply(
    stream: &mut TcpStream,
    request: &RecordedRequest,
    reply: Reply,
) -> std::io::Result<()> {
    tokio::time::sleep(reply.delay).await;
    let unchanged = not_modified(request, &reply);
    let status = if unchanged { 304 } else { reply.status };
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    let mut headers = reply.headers.clone();
    if let Some(etag) = &reply.etag {
        headers.push(("ETag".into(), etag.clone()));
    }
    if let Some(date) = &reply.last_modified {
        headers.push(("Last-Modified".into(), date.clone()));
    }
    let has_length = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
    let body: &[u8] = if unchanged || request.method == "HEAD" {
        &[]
    } else {
        &reply.body
    };
    if reply.content_length && !has_length && !unchanged {
        headers.push(("Content-Length".into(), reply.body.len().to_string()));
    }
    headers.push(("Connection".into(), "close".into()));
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    match reply.slow_body {
        Some((size, interval)) => {
            for chunk in body.chunks(size) {
                stream.write_all(chunk).await?;
                stream.flush().await?;
                tokio::time::sleep(interval).await;
            }
        }
        None => stream.write_all(body).await?,
    }
    stream.flush().await?;
    stream.shutdown().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

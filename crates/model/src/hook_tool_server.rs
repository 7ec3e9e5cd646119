//! The hook-tool server: while a process runs hooks, it listens on a Unix socket (in the
//! abstract namespace, as Juju's unit agents do: no path length limit, nothing to clean up) and
//! answers the `juju-tls` shims that charms run under each hook tool's name.
//!
//! Who may talk to it: an abstract socket has no file permissions, so every connection's peer
//! credentials (`SO_PEERCRED`) are checked and only the model owner's uid (this process's
//! effective uid) is served. A request names its hook by `JUJU_CONTEXT_ID`, which carries 128
//! random bits; requests for a context that is not running are refused, so a stray workload
//! cannot write into a later hook. The server never opens a path a caller names: the shim
//! reads `--file`/`key#file=` inputs itself and sends their contents ([`Request::files`]), and
//! writes `-o` outputs itself ([`Reply::write_to`]). Requests are capped at
//! [`MAX_REQUEST_BYTES`] and must arrive within [`READ_TIMEOUT`]; [`WORKERS`] threads serve
//! calls, up to [`QUEUED`] more connections wait, and any beyond are refused with an error.
//!
//! Wire format: the shim writes a [`Request`] as one JSON header line followed by its stdin's
//! bytes as they are ([`encode_request`]), and shuts down its write side; the server answers a
//! [`Reply`](crate::tools::Reply) the same way, a JSON header line and then stdout's bytes.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hook_tools::values::{FileArg, SecretValue};
use hook_tools::{Call, Parsed};

use crate::context::HookContext;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::tools::{self, Reply};

/// The largest request the server reads: far above any legitimate value (the providers' own
/// caps keep certificates and CSRs well under a megabyte), small enough not to exhaust memory.
pub const MAX_REQUEST_BYTES: usize = 64 << 20;
/// The largest file or stdin a call may carry: files travel as base64, 4/3 larger on the wire,
/// and the whole request must stay under [`MAX_REQUEST_BYTES`].
pub const MAX_FILE_BYTES: usize = MAX_REQUEST_BYTES / 4 * 3 - (64 << 10);
/// How long the server waits for a whole request (and for the caller to take the reply).
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Threads serving calls at once.
pub const WORKERS: usize = 16;
/// Accepted connections that may wait for a worker; more are refused.
pub const QUEUED: usize = 1024;

/// One hook-tool call as the shim sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `JUJU_CONTEXT_ID` of the calling hook.
    pub context: String,
    /// The tool's argv, argv\[0\] included (a bare name or a path; the basename counts).
    pub argv: Vec<String>,
    /// stdin, read by the shim only for `--file -` (raw after the header on the wire).
    pub stdin: Option<Vec<u8>>,
    /// The files the call names (`--file PATH`, `key#file=PATH`), read by the shim: by path as
    /// written in argv. The server looks nothing up on disk.
    pub files: BTreeMap<String, CallerFile>,
}

/// A request's header line: everything but stdin, whose length it gives.
#[derive(serde::Serialize, serde::Deserialize)]
struct RequestHeader {
    context: String,
    argv: Vec<String>,
    /// Bytes of stdin after the header line; `None`: the call has no stdin.
    #[serde(default)]
    stdin_bytes: Option<usize>,
    /// Where stdin went before it followed the header: only `null` is accepted, so stdin sent
    /// the old way is refused rather than dropped.
    #[serde(default, skip_serializing)]
    stdin: Option<serde_json::Value>,
    #[serde(default)]
    files: BTreeMap<String, CallerFile>,
}

/// A request on the wire: a JSON header line, then stdin's bytes as they are. A provider's
/// `relation-set --file -` carries megabytes of JSON; as base64 inside the JSON it was encoded
/// by the shim and decoded by the server, two passes over every byte, plus a third scanning the
/// string (docs/performance.md, "Local model at scale").
pub fn encode_request(request: &Request) -> std::io::Result<Vec<u8>> {
    let header = RequestHeader {
        context: request.context.clone(),
        argv: request.argv.clone(),
        stdin_bytes: request.stdin.as_ref().map(Vec::len),
        stdin: None,
        files: request.files.clone(),
    };
    let mut wire = serde_json::to_vec(&header)?;
    wire.push(b'\n');
    if let Some(stdin) = &request.stdin {
        wire.extend_from_slice(stdin);
    }
    Ok(wire)
}

/// Reads what [`encode_request`] wrote. A request with no newline is a header alone (a call
/// without stdin); stdin must be exactly as long as the header says.
pub fn decode_request(wire: &[u8]) -> std::result::Result<Request, String> {
    let (header, rest) = match wire.iter().position(|b| *b == b'\n') {
        Some(end) => (&wire[..end], &wire[end + 1..]),
        None => (wire, &[][..]),
    };
    let header: RequestHeader = serde_json::from_slice(header).map_err(|e| e.to_string())?;
    if header.stdin.is_some() {
        return Err("stdin follows the header line (stdin_bytes), it is not a header field".into());
    }
    let stdin = match header.stdin_bytes {
        Some(n) if n == rest.len() => Some(rest.to_vec()),
        Some(n) => {
            return Err(format!(
                "the header announces {n} bytes of stdin, {} followed",
                rest.len()
            ));
        }
        None if rest.is_empty() => None,
        None => {
            return Err(format!(
                "{} bytes follow a header that announces no stdin",
                rest.len()
            ));
        }
    };
    Ok(Request {
        context: header.context,
        argv: header.argv,
        stdin,
        files: header.files,
    })
}

/// A file named in a call, as the calling process could read it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CallerFile {
    /// Its contents (base64 on the wire: a JSON array of numbers would take 3.5 bytes a byte).
    Contents(#[serde(with = "base64_bytes")] Vec<u8>),
    /// Why it could not be read (the OS error text).
    Unreadable(String),
}

impl Request {
    /// The request for `argv` as the calling process sees it: reads `stdin` for `--file -`
    /// and every file the call names (relative to the current directory).
    pub fn prepare(context: String, argv: Vec<String>) -> std::io::Result<Self> {
        let stdin = if wants_stdin(&argv) {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(MAX_FILE_BYTES as u64 + 1)
                .read_to_end(&mut buf)?;
            if buf.len() > MAX_FILE_BYTES {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "stdin is larger than the {} MiB a hook-tool call may carry: nothing sent",
                        MAX_FILE_BYTES >> 20
                    ),
                ));
            }
            Some(buf)
        } else {
            None
        };
        let files = named_files(&argv)
            .into_iter()
            .map(|p| {
                let f = read_caller_file(Path::new(&p));
                (p, f)
            })
            .collect();
        Ok(Self {
            context,
            argv,
            stdin,
            files,
        })
    }
}

fn read_caller_file(path: &Path) -> CallerFile {
    let read = || -> std::io::Result<Vec<u8>> {
        let f = std::fs::File::open(path)?;
        let mut buf = Vec::new();
        f.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut buf)?;
        Ok(buf)
    };
    match read() {
        Ok(b) if b.len() > MAX_FILE_BYTES => CallerFile::Unreadable(format!(
            "file is larger than the {} MiB a hook-tool call may carry",
            MAX_FILE_BYTES >> 20
        )),
        Ok(b) => CallerFile::Contents(b),
        Err(e) => CallerFile::Unreadable(e.to_string()),
    }
}

/// The paths a call reads (`--file PATH`, `key#file=PATH`); none when argv does not parse (the
/// server then reports the usage error).
pub fn named_files(argv: &[String]) -> Vec<String> {
    let Ok(Parsed::Run(inv)) = hook_tools::parse_argv(argv) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut file_arg = |f: &Option<FileArg>| {
        if let Some(FileArg::Path(p)) = f {
            out.push(p.clone());
        }
    };
    match &inv.call {
        Call::RelationSet { file, .. } | Call::StateSet { file, .. } => file_arg(file),
        Call::SecretAdd { file, content, .. } | Call::SecretSet { file, content, .. } => {
            out.extend(file.iter().cloned());
            out.extend(content.iter().filter_map(|a| match &a.value {
                SecretValue::File(p) => Some(p.clone()),
                _ => None,
            }));
        }
        _ => {}
    }
    out
}

/// Whether a tool call takes its input from stdin: only `--file -` (D19: tools must not read
/// stdin otherwise, or they can hang on the hook's stdin).
pub fn wants_stdin(argv: &[String]) -> bool {
    argv.windows(2).any(|w| w[0] == "--file" && w[1] == "-") || argv.iter().any(|a| a == "--file=-")
}

/// Why a call did not complete.
#[derive(Debug)]
pub enum CallError {
    /// The request could not be sent, or no reply came back.
    Unreachable(std::io::Error),
    /// The reply's stdout could not be written where it goes.
    Output(std::io::Error),
}

/// Sends one request to the server at `address` (the shim side). The reply's stdout is copied,
/// as it arrives, to the writer `sink` opens for the reply's header (which says where it goes:
/// [`Reply::write_to`]); the returned reply's `stdout` is empty. A `relation-get` of a
/// provider's bag is megabytes: the shim never holds it whole.
pub fn call_streaming<W: Write>(
    address: &str,
    request: &Request,
    sink: impl FnOnce(&Reply) -> std::io::Result<W>,
) -> std::result::Result<Reply, CallError> {
    let unreachable = CallError::Unreachable;
    let name = address.strip_prefix('@').unwrap_or(address);
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).map_err(unreachable)?;
    let body = encode_request(request).map_err(unreachable)?;
    if body.len() > MAX_REQUEST_BYTES {
        return Err(unreachable(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "the call is {} MiB, over the {} MiB a hook-tool call may carry (stdin or files: at most {} MiB)",
                body.len() >> 20,
                MAX_REQUEST_BYTES >> 20,
                MAX_FILE_BYTES >> 20
            ),
        )));
    }
    let mut stream = UnixStream::connect_addr(&addr).map_err(unreachable)?;
    // Only our own uid's server gets what the call carries (secret contents, files).
    let server = rustix::net::sockopt::socket_peercred(&stream)
        .map_err(|e| unreachable(e.into()))?
        .uid
        .as_raw();
    let me = rustix::process::geteuid().as_raw();
    if server != me {
        return Err(unreachable(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "the socket is served by uid {server}, not by this user (uid {me}): nothing sent"
            ),
        )));
    }
    // The server may refuse before reading everything (too large, wrong uid): its reply
    // still counts, so a failed write is not the end.
    let sent = stream
        .write_all(&body)
        .and_then(|()| stream.shutdown(std::net::Shutdown::Write));
    drop(body);
    // The header line, and whatever of stdout came with it. A refusing server closes with our
    // request unread, so a read may end in a reset after the reply: what arrived counts.
    let mut head = Vec::new();
    let mut chunk = [0u8; 8 << 10];
    let end = loop {
        if let Some(end) = head.iter().position(|b| *b == b'\n') {
            break end;
        }
        match stream.read(&mut chunk) {
            Ok(0) => {
                let e = std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the model's reply has no header",
                );
                return Err(unreachable(sent.err().unwrap_or(e)));
            }
            Ok(n) => head.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(unreachable(sent.err().unwrap_or(e))),
        }
    };
    let header: ReplyHeader = serde_json::from_slice(&head[..end]).map_err(|e| {
        unreachable(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the model's reply header does not decode: {e}"),
        ))
    })?;
    let arrived = &head[end + 1..];
    if arrived.len() > header.stdout_bytes {
        return Err(unreachable(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the model's reply announces {} bytes of stdout, more followed",
                header.stdout_bytes
            ),
        )));
    }
    let mut out = sink(&header.reply).map_err(CallError::Output)?;
    out.write_all(arrived).map_err(CallError::Output)?;
    // Exactly the announced bytes: a refusing server may reset the connection after its reply,
    // which must not turn a complete reply into an error.
    copy_exactly(&mut stream, &mut out, header.stdout_bytes - arrived.len())?;
    out.flush().map_err(CallError::Output)?;
    Ok(header.reply)
}

/// Copies `left` more bytes of the reply to `out`, telling a failed read from a failed write.
fn copy_exactly(
    stream: &mut UnixStream,
    out: &mut impl Write,
    mut left: usize,
) -> std::result::Result<(), CallError> {
    let mut chunk = vec![0u8; (64 << 10).min(left)];
    while left > 0 {
        let want = chunk.len().min(left);
        match stream.read(&mut chunk[..want]) {
            Ok(0) => {
                return Err(CallError::Unreachable(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("the model's reply ended {left} bytes short"),
                )));
            }
            Ok(n) => {
                out.write_all(&chunk[..n]).map_err(CallError::Output)?;
                left -= n;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(CallError::Unreachable(e)),
        }
    }
    Ok(())
}

/// A reply's header line: the reply without its stdout, and how many bytes of stdout follow
/// (a reply cut short is an error, not a shorter answer).
#[derive(serde::Serialize, serde::Deserialize)]
struct ReplyHeader {
    #[serde(flatten)]
    reply: Reply,
    stdout_bytes: usize,
}

/// Writes a reply as it goes on the wire: the reply without its stdout as one JSON line, then
/// stdout's bytes as they are (serde_json's compact form has no raw newline, so the first one
/// ends the header). A `relation-get` of a provider's bag carries megabytes of JSON full of
/// escapes; inside a JSON string they would be escaped, and unescaped by the shim, once more.
/// Header and stdout are written one after the other, not copied into one buffer first.
fn write_reply(conn: &mut UnixStream, mut reply: Reply) {
    let stdout = std::mem::take(&mut reply.stdout);
    let header = ReplyHeader {
        stdout_bytes: stdout.len(),
        reply,
    };
    let mut header = serde_json::to_vec(&header).unwrap_or_default();
    header.push(b'\n');
    let _ = conn
        .write_all(&header)
        .and_then(|()| conn.write_all(stdout.as_bytes()));
}

/// How much the server takes on: [`WORKERS`], [`QUEUED`], [`READ_TIMEOUT`] (tests use less).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) workers: usize,
    pub(crate) queued: usize,
    pub(crate) read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            workers: WORKERS,
            queued: QUEUED,
            read_timeout: READ_TIMEOUT,
        }
    }
}

/// The running hook contexts, by id.
pub(crate) type Contexts = Arc<Mutex<HashMap<String, Arc<HookContext>>>>;

/// A listening server; stops when dropped.
pub(crate) struct Server {
    address: String,
    contexts: Contexts,
    stop: Arc<AtomicBool>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts serving `model`'s hooks.
    pub(crate) fn start(model: Arc<Model>) -> Result<Self> {
        Self::start_with(model, Limits::default())
    }

    /// Starts serving `model`'s hooks within `limits`.
    pub(crate) fn start_with(model: Arc<Model>, limits: Limits) -> Result<Self> {
        // Unique per server (one process may settle several times, and several models), and
        // unguessable: /proc/net/unix shows abstract names to every user, and one who bound our
        // next name first would stop the settle or receive what a late tool call sends.
        let name = format!(
            "juju-tls/{}/{}/agent.socket",
            model.uuid(),
            crate::context::random_hex()?
        );
        let addr = SocketAddr::from_abstract_name(name.as_bytes())
            .map_err(|e| Error::io("naming socket", &name, e))?;
        let listener =
            UnixListener::bind_addr(&addr).map_err(|e| Error::io("listening on", &name, e))?;
        let contexts: Contexts = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let owner = rustix::process::geteuid().as_raw();
        let (queue, waiting) = std::sync::mpsc::sync_channel::<UnixStream>(limits.queued);
        let waiting = Arc::new(Mutex::new(waiting));
        // Workers are not joined: one held by a caller that never finishes its request must not
        // hold up the end of a settle; each ends once the queue is closed and drained.
        for _ in 0..limits.workers {
            let (model, contexts, waiting) = (model.clone(), contexts.clone(), waiting.clone());
            std::thread::spawn(move || work(&model, &contexts, &waiting, limits.read_timeout));
        }
        let acceptor = {
            let stop = stop.clone();
            std::thread::spawn(move || accept(&listener, &stop, owner, queue, limits))
        };
        Ok(Self {
            address: format!("@{name}"),
            contexts,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// `JUJU_AGENT_SOCKET_ADDRESS` for hooks: `@` + the abstract name.
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// Makes a hook's context reachable by its tools.
    pub(crate) fn register(&self, ctx: Arc<HookContext>) {
        self.contexts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(ctx.id.clone(), ctx);
    }

    /// Ends a hook's context.
    pub(crate) fn unregister(&self, id: &str) {
        self.contexts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag; it then closes the queue (and the socket),
        // which ends the workers once they are idle.
        let name = self.address.trim_start_matches('@');
        if let Ok(addr) = SocketAddr::from_abstract_name(name.as_bytes()) {
            let _ = UnixStream::connect_addr(&addr);
        }
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

fn refuse(conn: &mut UnixStream, message: &str) {
    let reply = Reply {
        stderr: format!("ERROR {message}\n"),
        code: 1,
        ..Reply::default()
    };
    // Short: a refusal must not hold up the accept loop behind a caller that does not read.
    let _ = conn.set_write_timeout(Some(Duration::from_secs(1)));
    write_reply(conn, reply);
}

/// Accepts connections: checks the peer's uid, then queues them for a worker.
fn accept(
    listener: &UnixListener,
    stop: &AtomicBool,
    owner: u32,
    queue: SyncSender<UnixStream>,
    limits: Limits,
) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(mut conn) = conn else { continue };
        match rustix::net::sockopt::socket_peercred(&conn) {
            Ok(cred) if cred.uid.as_raw() == owner => {}
            Ok(cred) => {
                // Nothing about the model: not even whether a context exists.
                refuse(
                    &mut conn,
                    &format!(
                        "permission denied: the juju-tls model serves hook tools only to uid {owner}, not uid {}",
                        cred.uid.as_raw()
                    ),
                );
                continue;
            }
            Err(e) => {
                refuse(
                    &mut conn,
                    &format!("permission denied: no peer credentials: {e}"),
                );
                continue;
            }
        }
        match queue.try_send(conn) {
            Ok(()) => {}
            Err(TrySendError::Full(mut conn)) => refuse(
                &mut conn,
                &format!(
                    "the juju-tls hook-tool server is busy ({} calls running, {} waiting): call refused",
                    limits.workers, limits.queued
                ),
            ),
            Err(TrySendError::Disconnected(_)) => break,
        }
    }
}

fn work(
    model: &Model,
    contexts: &Contexts,
    waiting: &Mutex<Receiver<UnixStream>>,
    timeout: Duration,
) {
    loop {
        let next = waiting.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(conn) = next else { return };
        serve(model, contexts, conn, timeout);
    }
}

/// Reads one request: at most [`MAX_REQUEST_BYTES`], within `timeout` in all.
fn read_request(conn: &mut UnixStream, timeout: Duration) -> std::result::Result<Vec<u8>, String> {
    let deadline = std::time::Instant::now() + timeout;
    let late = || {
        format!(
            "bad request: not received within {} ms",
            timeout.as_millis()
        )
    };
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(late());
        }
        let _ = conn.set_read_timeout(Some(left));
        match conn.read(&mut chunk) {
            Ok(0) => return Ok(buf),
            Ok(n) => {
                if buf.len() + n > MAX_REQUEST_BYTES {
                    return Err(format!(
                        "bad request: larger than {} MiB: refused",
                        MAX_REQUEST_BYTES >> 20
                    ));
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(late());
            }
            Err(e) => return Err(format!("bad request: {e}")),
        }
    }
}

fn serve(model: &Model, contexts: &Contexts, mut conn: UnixStream, timeout: Duration) {
    let buf = match read_request(&mut conn, timeout) {
        Ok(b) => b,
        Err(message) => return refuse(&mut conn, &message),
    };
    let reply = match decode_request(&buf) {
        Err(e) => Reply {
            stderr: format!("ERROR bad request: {e}\n"),
            code: 1,
            ..Reply::default()
        },
        Ok(req) if req.argv.is_empty() => Reply::default(),
        Ok(req) => {
            let ctx = contexts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&req.context)
                .cloned();
            match ctx {
                None => Reply {
                    stderr: "ERROR bad request: unknown context: no hook of this model is running with that JUJU_CONTEXT_ID\n".into(),
                    code: 1,
                    ..Reply::default()
                },
                Some(ctx) => tools::execute(model, &ctx, &req.argv, req.stdin.as_deref(), &req.files),
            }
        }
    };
    let _ = conn.set_write_timeout(Some(timeout));
    write_reply(&mut conn, reply);
}

/// `Vec<u8>` as a base64 string.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    pub(super) fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn stdin_travels_raw_and_files_as_base64() {
        let bytes: Vec<u8> = (0..=255).collect();
        let request = Request {
            context: "c".into(),
            argv: argv(&["relation-set", "--file", "-"]),
            stdin: Some(bytes.clone()),
            files: BTreeMap::from([("f".to_owned(), CallerFile::Contents(bytes.clone()))]),
        };
        let wire = encode_request(&request).unwrap();
        assert!(wire.ends_with(&bytes), "stdin is raw after the header");
        assert!(
            wire.len() < 2 * 2 * 256,
            "files not base64: {} bytes",
            wire.len()
        );
        assert_eq!(decode_request(&wire).unwrap(), request);
        let none = decode_request(br#"{"context":"c","argv":["is-leader"],"stdin":null}"#).unwrap();
        assert_eq!(none.stdin, None);
        let empty = Request {
            stdin: Some(Vec::new()),
            ..none.clone()
        };
        assert_eq!(
            decode_request(&encode_request(&empty).unwrap()).unwrap(),
            empty
        );
        for (bad, why) in [
            (
                &br#"{"context":"c","argv":[],"stdin_bytes":3}
ab"#[..],
                "announces 3 bytes of stdin, 2 followed",
            ),
            (
                &b"{\"context\":\"c\",\"argv\":[]}\nxyz"[..],
                "3 bytes follow a header that announces no stdin",
            ),
            (
                &br#"{"context":"c","argv":[],"files":{"f":{"Contents":"%%"}}}"#[..],
                "Invalid",
            ),
            (&b"not json"[..], "expected"),
            (
                &br#"{"context":"c","argv":["relation-set","--file","-"],"stdin":"azE6IHYK"}"#[..],
                "not a header field",
            ),
        ] {
            let err = decode_request(bad).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
    }

    #[test]
    fn a_call_over_the_cap_is_refused_before_it_is_sent() {
        let request = Request {
            context: "c".into(),
            argv: argv(&["relation-set", "--file", "-"]),
            stdin: Some(vec![b'x'; MAX_REQUEST_BYTES]),
            files: BTreeMap::new(),
        };
        // No server at this address: the refusal comes before any connection.
        let err = call("@juju-tls-test/none", &request).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("over the 64 MiB"), "{err}");
    }

    #[test]
    fn named_files_are_the_paths_a_call_reads() {
        assert_eq!(
            named_files(&argv(&[
                "secret-add",
                "key-a#file=/x/a",
                "key-b=1",
                "key-c#file=rel/c"
            ])),
            ["/x/a", "rel/c"]
        );
        assert_eq!(
            named_files(&argv(&["relation-set", "-r", "db:1", "--file", "f.yaml"])),
            ["f.yaml"]
        );
        assert_eq!(
            named_files(&argv(&["relation-set", "-r", "db:1", "--file", "-"])),
            Vec::<String>::new()
        );
        assert_eq!(
            named_files(&argv(&["config-get", "-o", "/etc/out"])),
            Vec::<String>::new()
        );
        assert_eq!(
            named_files(&argv(&["secret-add", "--bogus"])),
            Vec::<String>::new()
        );
    }

    /// One call with its whole reply, stdout included, as a test wants it.
    fn call(address: &str, request: &Request) -> std::io::Result<Reply> {
        let mut stdout = Vec::new();
        let mut reply = match call_streaming(address, request, |_| Ok(&mut stdout)) {
            Ok(r) => r,
            Err(CallError::Unreachable(e) | CallError::Output(e)) => return Err(e),
        };
        reply.stdout = String::from_utf8(stdout)
            .map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("the model's reply is not UTF-8: {e}"),
                )
            })?
            .into();
        Ok(reply)
    }

    /// Reads a whole reply as a caller does.
    fn decode_reply(wire: &[u8]) -> std::io::Result<Reply> {
        let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
        let end = wire
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| bad("the model's reply has no header".into()))?;
        let header: ReplyHeader = serde_json::from_slice(&wire[..end])
            .map_err(|e| bad(format!("the model's reply header does not decode: {e}")))?;
        assert_eq!(header.stdout_bytes, wire.len() - end - 1);
        let mut reply = header.reply;
        reply.stdout = String::from_utf8(wire[end + 1..].to_vec())
            .map_err(|e| bad(format!("the model's reply is not UTF-8: {e}")))?
            .into();
        Ok(reply)
    }

    #[test]
    fn replies_carry_stdout_raw_after_a_header_line() {
        let reply = Reply {
            stdout: "{\"k\":\"line\\nwith \\\"escapes\\\"\"}\n\u{e9}".into(),
            stderr: "warn\n".into(),
            code: 2,
            write_to: Some("out.json".into()),
        };
        let (mut a, mut b) = UnixStream::pair().expect("pair");
        write_reply(&mut a, reply.clone());
        drop(a);
        let mut wire = Vec::new();
        b.read_to_end(&mut wire).expect("read");
        let header_end = wire.iter().position(|b| *b == b'\n').expect("header");
        assert_eq!(
            &wire[header_end + 1..],
            reply.stdout.as_bytes(),
            "stdout is raw"
        );
        assert_eq!(decode_reply(&wire).expect("decodes"), reply);
    }

    /// A server that reads one request and answers `wire`; returns its address.
    fn answering(name: &str, wire: Vec<u8>) -> String {
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("address");
        let listener = UnixListener::bind_addr(&addr).expect("bind");
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().expect("accept");
            let mut request = Vec::new();
            conn.read_to_end(&mut request).expect("request");
            assert!(decode_request(&request).is_ok());
            conn.write_all(&wire).expect("reply");
        });
        format!("@{name}")
    }

    #[test]
    fn a_reply_streams_to_the_sink_its_header_chooses() {
        let request = Request {
            context: "c".into(),
            argv: argv(&["relation-get", "-", "ca"]),
            stdin: None,
            files: BTreeMap::new(),
        };
        let body: Vec<u8> = (0..5_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut wire =
            br#"{"stdout":"","stderr":"","code":0,"write_to":"out.json","stdout_bytes":5000000}"#
                .to_vec();
        wire.push(b'\n');
        wire.extend_from_slice(&body);
        let name = format!("juju-tls-test/stream-{}", std::process::id());
        let address = answering(&name, wire);
        let mut got = Vec::new();
        let mut chosen = None;
        let reply = call_streaming(&address, &request, |r| {
            chosen = r.write_to.clone();
            Ok(&mut got)
        })
        .expect("call");
        assert_eq!(chosen.as_deref(), Some("out.json"));
        assert_eq!(&*reply.stdout, "", "stdout went to the sink");
        assert!(
            got == body,
            "{} bytes streamed of {}",
            got.len(),
            body.len()
        );

        for (i, (wire, why)) in [
            (&b"not json\nout"[..], "does not decode"),
            (&br#"{"code":0}"#[..], "has no header"),
            (
                &b"{\"stdout\":\"\",\"stderr\":\"\",\"code\":0,\"stdout_bytes\":9}\nshort"[..],
                "ended 4 bytes short",
            ),
            (
                &b"{\"stdout\":\"\",\"stderr\":\"\",\"code\":0,\"stdout_bytes\":2}\nlong"[..],
                "announces 2 bytes of stdout, more followed",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let address = answering(&format!("{name}-bad-{i}"), wire.to_vec());
            let err = call(&address, &request).expect_err("a bad reply");
            assert!(err.to_string().contains(why), "{err}");
        }
    }

    fn connect(address: &str) -> UnixStream {
        let addr = SocketAddr::from_abstract_name(address.trim_start_matches('@').as_bytes())
            .expect("address");
        UnixStream::connect_addr(&addr).expect("connect")
    }

    fn reply_of(mut conn: UnixStream) -> Reply {
        let mut buf = Vec::new();
        let _ = conn.read_to_end(&mut buf);
        decode_reply(&buf).expect("a reply")
    }

    /// A server with `workers` workers and one queue place, all held by callers that never
    /// finish their request (paced, so that each is taken by an idle worker before the next
    /// arrives); they time out after 1.5 s.
    fn held_server(workers: usize) -> (tempfile::TempDir, Server, Vec<UnixStream>) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let model = Arc::new(
            crate::Registry::at(tmp.path().join("data"))
                .add("m")
                .expect("model"),
        );
        let limits = Limits {
            workers,
            queued: 1,
            read_timeout: Duration::from_millis(1500),
        };
        let server = Server::start_with(model, limits).expect("server");
        let silent = (0..=workers)
            .map(|_| {
                std::thread::sleep(Duration::from_millis(150));
                connect(server.address())
            })
            .collect();
        std::thread::sleep(Duration::from_millis(150));
        (tmp, server, silent)
    }

    #[test]
    fn a_refusal_reaches_a_caller_whose_large_request_was_not_read() {
        let (_tmp, server, _silent) = held_server(1);
        // Refused unread: the server closes on 8 MiB it never read, and the caller still gets
        // the refusal, not a reset.
        let request = Request {
            context: "c".into(),
            argv: argv(&["relation-set", "--file", "-"]),
            stdin: Some(vec![b'x'; 8 << 20]),
            files: BTreeMap::new(),
        };
        let reply = call(server.address(), &request).expect("a reply");
        assert_eq!(reply.code, 1);
        assert!(reply.stderr.contains("call refused"), "{}", reply.stderr);
    }

    #[test]
    fn connections_are_bounded_and_silent_callers_time_out() {
        // Two callers that never finish their request hold both workers, a third waits.
        let (_tmp, server, silent) = held_server(2);
        // One more is refused at once, with a clear error.
        let busy = reply_of(connect(server.address()));
        assert_eq!(busy.code, 1);
        assert!(
            busy.stderr
                .contains("busy (2 calls running, 1 waiting): call refused"),
            "{}",
            busy.stderr
        );
        // The silent ones are let go at the timeout; the waiting one is then served.
        for conn in silent {
            let r = reply_of(conn);
            assert!(
                r.stderr.contains("not received within 1500 ms"),
                "{}",
                r.stderr
            );
        }
        let mut late = connect(server.address());
        late.write_all(br#"{"context":"nope","argv":["config-get"],"stdin":null}"#)
            .expect("write");
        late.shutdown(std::net::Shutdown::Write).expect("shutdown");
        let r = reply_of(late);
        assert!(r.stderr.contains("unknown context"), "{}", r.stderr);
    }

    #[test]
    fn an_unreadable_file_is_reported_not_sent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = read_caller_file(&dir.path().join("nope"));
        assert!(matches!(missing, CallerFile::Unreadable(e) if e.contains("No such file")));
        let f = dir.path().join("f");
        std::fs::write(&f, b"k: v\n").expect("write");
        assert_eq!(
            read_caller_file(&f),
            CallerFile::Contents(b"k: v\n".to_vec())
        );
    }
}

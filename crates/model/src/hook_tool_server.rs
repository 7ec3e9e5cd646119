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
//! Wire format: the shim writes one JSON [`Request`] and shuts down its write side; the server
//! answers one JSON [`Reply`](crate::tools::Reply).

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
/// The largest file or stdin a call may carry: base64 makes it 4/3 larger on the wire, and the
/// whole request must stay under [`MAX_REQUEST_BYTES`].
pub const MAX_FILE_BYTES: usize = MAX_REQUEST_BYTES / 4 * 3 - (64 << 10);
/// How long the server waits for a whole request (and for the caller to take the reply).
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Threads serving calls at once.
pub const WORKERS: usize = 16;
/// Accepted connections that may wait for a worker; more are refused.
pub const QUEUED: usize = 1024;

/// One hook-tool call as the shim sends it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Request {
    /// `JUJU_CONTEXT_ID` of the calling hook.
    pub context: String,
    /// The tool's argv, argv\[0\] included (a bare name or a path; the basename counts).
    pub argv: Vec<String>,
    /// stdin, read by the shim only for `--file -` (base64 on the wire).
    #[serde(with = "base64_opt")]
    pub stdin: Option<Vec<u8>>,
    /// The files the call names (`--file PATH`, `key#file=PATH`), read by the shim: by path as
    /// written in argv. The server looks nothing up on disk.
    #[serde(default)]
    pub files: BTreeMap<String, CallerFile>,
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

/// Sends one request to the server at `address` (the shim side).
pub fn call(address: &str, request: &Request) -> std::io::Result<Reply> {
    let name = address.strip_prefix('@').unwrap_or(address);
    let addr = SocketAddr::from_abstract_name(name.as_bytes())?;
    let body = serde_json::to_vec(request)?;
    if body.len() > MAX_REQUEST_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "the call is {} MiB, over the {} MiB a hook-tool call may carry (stdin or files: at most {} MiB)",
                body.len() >> 20,
                MAX_REQUEST_BYTES >> 20,
                MAX_FILE_BYTES >> 20
            ),
        ));
    }
    let mut stream = UnixStream::connect_addr(&addr)?;
    // Only our own uid's server gets what the call carries (secret contents, files).
    let server = rustix::net::sockopt::socket_peercred(&stream)?.uid.as_raw();
    let me = rustix::process::geteuid().as_raw();
    if server != me {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "the socket is served by uid {server}, not by this user (uid {me}): nothing sent"
            ),
        ));
    }
    // The server may refuse before reading everything (too large, wrong uid): its reply
    // still counts, so a failed write is not the end.
    let sent = stream
        .write_all(&body)
        .and_then(|()| stream.shutdown(std::net::Shutdown::Write));
    // A refusing server closes with our request unread, so the read may end in a reset after
    // the reply: what arrived counts.
    let mut buf = Vec::new();
    let received = stream.read_to_end(&mut buf);
    if buf.is_empty() {
        received?;
    }
    match decode_reply(&buf) {
        Ok(reply) => Ok(reply),
        Err(e) => Err(sent.err().unwrap_or(e)),
    }
}

/// A reply on the wire: the reply without its stdout as one JSON line, then stdout's bytes as
/// they are. A `relation-get` of a provider's bag carries megabytes of JSON full of escapes;
/// inside a JSON string they would be escaped, and unescaped by the shim, once more.
pub(crate) fn encode_reply(mut reply: Reply) -> Vec<u8> {
    let stdout = std::mem::take(&mut reply.stdout);
    let mut wire = serde_json::to_vec(&reply).unwrap_or_default();
    wire.push(b'\n');
    wire.extend_from_slice(stdout.as_bytes());
    wire
}

/// Reads what [`encode_reply`] wrote (serde_json's compact form has no raw newline, so the
/// first one ends the header).
pub(crate) fn decode_reply(wire: &[u8]) -> std::io::Result<Reply> {
    let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let end = wire
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| bad("the model's reply has no header".into()))?;
    let mut reply: Reply = serde_json::from_slice(&wire[..end])
        .map_err(|e| bad(format!("the model's reply header does not decode: {e}")))?;
    reply.stdout = String::from_utf8(wire[end + 1..].to_vec())
        .map_err(|e| bad(format!("the model's reply is not UTF-8: {e}")))?;
    Ok(reply)
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
    let _ = conn.write_all(&encode_reply(reply));
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
    let reply = match serde_json::from_slice::<Request>(&buf) {
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
    let _ = conn.write_all(&encode_reply(reply));
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

/// `Option<Vec<u8>>` as an optional base64 string.
mod base64_opt {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    pub(super) fn serialize<S: serde::Serializer>(
        v: &Option<Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_some(&STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = serde::Deserialize::deserialize(d)?;
        text.map(|t| STANDARD.decode(t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn bytes_travel_as_base64_and_round_trip() {
        let bytes: Vec<u8> = (0..=255).collect();
        let request = Request {
            context: "c".into(),
            argv: argv(&["relation-set", "--file", "-"]),
            stdin: Some(bytes.clone()),
            files: BTreeMap::from([("f".to_owned(), CallerFile::Contents(bytes.clone()))]),
        };
        let wire = serde_json::to_string(&request).unwrap();
        assert!(wire.len() < 2 * 2 * 256, "not base64: {} bytes", wire.len());
        let back: Request = serde_json::from_str(&wire).unwrap();
        assert_eq!(back.stdin.as_deref(), Some(&bytes[..]));
        assert_eq!(back.files["f"], CallerFile::Contents(bytes));
        let none: Request =
            serde_json::from_str(r#"{"context":"c","argv":["is-leader"],"stdin":null}"#).unwrap();
        assert_eq!(none.stdin, None);
        assert!(
            serde_json::from_str::<Request>(r#"{"context":"c","argv":[],"stdin":"%%"}"#).is_err(),
            "bad base64 is an error, not empty input"
        );
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

    #[test]
    fn replies_carry_stdout_raw_after_a_header_line() {
        let reply = Reply {
            stdout: "{\"k\":\"line\\nwith \\\"escapes\\\"\"}\n\u{e9}".into(),
            stderr: "warn\n".into(),
            code: 2,
            write_to: Some("out.json".into()),
        };
        let wire = encode_reply(reply.clone());
        let header_end = wire.iter().position(|b| *b == b'\n').expect("header");
        assert_eq!(
            &wire[header_end + 1..],
            reply.stdout.as_bytes(),
            "stdout is raw"
        );
        assert_eq!(decode_reply(&wire).expect("decodes"), reply);
        assert!(decode_reply(b"{\"code\":0}").is_err(), "no header line");
        assert!(decode_reply(b"not json\nout").is_err());
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

    #[test]
    fn connections_are_bounded_and_silent_callers_time_out() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let model = Arc::new(
            crate::Registry::at(tmp.path().join("data"))
                .add("m")
                .expect("model"),
        );
        let limits = Limits {
            workers: 2,
            queued: 1,
            read_timeout: Duration::from_millis(1500),
        };
        let server = Server::start_with(model, limits).expect("server");
        // Two callers that never finish their request hold both workers, a third waits.
        // (Paced, so that each is taken by an idle worker before the next arrives.)
        let silent: Vec<UnixStream> = (0..3)
            .map(|_| {
                std::thread::sleep(Duration::from_millis(150));
                connect(server.address())
            })
            .collect();
        std::thread::sleep(Duration::from_millis(150));
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

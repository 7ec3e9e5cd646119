//! The hook-tool server: while a process runs hooks, it listens on a Unix socket (in the
//! abstract namespace, as Juju's unit agents do: no path length limit, nothing to clean up) and
//! answers the `juju-tls` shims that charms run under each hook tool's name. A request names
//! its hook by `JUJU_CONTEXT_ID`; requests for a context that is not running are refused, so a
//! stray workload cannot write into a later hook.
//!
//! Wire format: the shim writes one JSON [`Request`] and shuts down its write side; the server
//! answers one JSON [`Reply`](crate::tools::Reply).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::context::HookContext;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::tools::{self, Reply};

/// One hook-tool call as the shim sends it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Request {
    /// `JUJU_CONTEXT_ID` of the calling hook.
    pub context: String,
    /// The tool's argv, argv\[0\] included (a bare name or a path; the basename counts).
    pub argv: Vec<String>,
    /// stdin, read by the shim only for `--file -`.
    pub stdin: Option<Vec<u8>>,
    /// The caller's working directory, for relative `key#file=` paths.
    pub cwd: PathBuf,
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
    let mut stream = UnixStream::connect_addr(&addr)?;
    stream.write_all(&serde_json::to_vec(request)?)?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf)?;
    Ok(serde_json::from_slice(&buf)?)
}

/// The running hook contexts, by id.
pub(crate) type Contexts = Arc<Mutex<HashMap<String, Arc<HookContext>>>>;

/// A listening server; stops when dropped.
pub(crate) struct Server {
    address: String,
    contexts: Contexts,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts serving `model`'s hooks.
    pub(crate) fn start(model: Arc<Model>) -> Result<Self> {
        // One name per server: a process may settle several times (the demo does).
        static SERVERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let name = format!(
            "juju-tls/{}/{}-{}/agent.socket",
            model.uuid(),
            std::process::id(),
            SERVERS.fetch_add(1, Ordering::SeqCst)
        );
        let addr = SocketAddr::from_abstract_name(name.as_bytes())
            .map_err(|e| Error::io("naming socket", &name, e))?;
        let listener =
            UnixListener::bind_addr(&addr).map_err(|e| Error::io("listening on", &name, e))?;
        let contexts: Contexts = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let contexts = contexts.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let model = model.clone();
                    let contexts = contexts.clone();
                    std::thread::spawn(move || serve(&model, &contexts, conn));
                }
            })
        };
        Ok(Self {
            address: format!("@{name}"),
            contexts,
            stop,
            thread: Some(thread),
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
        // Wake the accept loop so it sees the flag.
        let _ = call(
            &self.address,
            &Request {
                context: String::new(),
                argv: Vec::new(),
                stdin: None,
                cwd: PathBuf::new(),
            },
        );
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(model: &Model, contexts: &Contexts, mut conn: UnixStream) {
    let mut buf = Vec::new();
    if conn.read_to_end(&mut buf).is_err() {
        return;
    }
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
                    stderr: format!(
                        "ERROR bad request: unknown context {:?}: no hook of this model is running\n",
                        req.context
                    ),
                    code: 1,
                    ..Reply::default()
                },
                Some(ctx) => tools::execute(model, &ctx, &req.argv, req.stdin.as_deref(), &req.cwd),
            }
        }
    };
    let _ = conn.write_all(&serde_json::to_vec(&reply).unwrap_or_default());
}

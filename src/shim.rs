//! The hook-tool shim: when this binary runs under a hook tool's name (`relation-get`,
//! `secret-add`, …; a symlink in the unit's tool directory), it forwards argv to the local
//! model's hook-tool server over the socket Juju names in `JUJU_AGENT_SOCKET_ADDRESS`, and
//! prints the answer. It reads stdin only for `--file -` (a tool must not block on the hook's
//! stdin otherwise), reads the files the call names and writes `-o` outputs itself, with the
//! caller's own permissions: the server never opens a path a caller names. Kept small: ops
//! calls tools tens of times per hook.

use std::io::Write;
use std::process::ExitCode;

use model::hook_tool_server::{self, CallError, Request};

/// The tool name this process was started as, if argv\[0\]'s basename is one (ops ≤ 3.3 runs
/// tools by absolute path, newer ops by bare name).
pub(crate) fn tool_name(argv0: &str) -> Option<&'static str> {
    let base = argv0.rsplit('/').next().unwrap_or(argv0);
    model::TOOL_NAMES.iter().copied().find(|t| *t == base)
}

/// Runs as the hook tool and returns its exit code.
pub(crate) fn run(argv: Vec<String>) -> ExitCode {
    let fail = |msg: &str| {
        let _ = std::io::stderr().write_all(format!("ERROR {msg}\n").as_bytes());
        ExitCode::from(1)
    };
    let (Ok(socket), Ok(context)) = (
        std::env::var("JUJU_AGENT_SOCKET_ADDRESS"),
        std::env::var("JUJU_CONTEXT_ID"),
    ) else {
        return fail(
            "JUJU_CONTEXT_ID not set: hook tools only work inside a hook run by the juju-tls local model",
        );
    };
    let request = match Request::prepare(context, argv) {
        Ok(r) => r,
        Err(e) => return fail(&format!("reading stdin: {e}")),
    };
    // stdout, or the `-o` file: written here, by the caller, relative to its directory.
    let mut output_path = None;
    let sink = |reply: &model::Reply| -> std::io::Result<Box<dyn Write>> {
        match &reply.write_to {
            Some(path) => {
                output_path = Some(path.clone());
                Ok(Box::new(std::fs::File::create(path)?))
            }
            None => Ok(Box::new(std::io::stdout().lock())),
        }
    };
    match hook_tool_server::call_streaming(&socket, &request, sink) {
        Ok(reply) => {
            let _ = std::io::stderr().write_all(reply.stderr.as_bytes());
            ExitCode::from(u8::try_from(reply.code).unwrap_or(1))
        }
        Err(CallError::Output(e)) => match output_path {
            Some(path) => fail(&format!("cannot write {path}: {e}")),
            // The caller stopped reading stdout.
            None => ExitCode::from(1),
        },
        Err(CallError::Unreachable(e)) => {
            fail(&format!("cannot reach the juju-tls model at {socket}: {e}"))
        }
    }
}

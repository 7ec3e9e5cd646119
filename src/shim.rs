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
    // stdout, or the `-o` file: written here, by the caller, relative to its directory. The
    // file is written beside its place and renamed there only once the whole reply is in, so a
    // failed call never leaves it empty or half written.
    let mut output: Option<(String, String)> = None;
    let sink = |reply: &model::Reply| -> std::io::Result<Box<dyn Write>> {
        match &reply.write_to {
            Some(path) => {
                let partial = format!("{path}.juju-tls-{}.partial", std::process::id());
                let file = std::fs::File::create(&partial);
                output = Some((path.clone(), partial));
                Ok(Box::new(file?))
            }
            None => Ok(Box::new(std::io::stdout().lock())),
        }
    };
    let result = hook_tool_server::call_streaming(&socket, &request, sink);
    let written = match (&result, &output) {
        (Ok(_), Some((path, partial))) => std::fs::rename(partial, path).map_err(CallError::Output),
        (Err(_), Some((_, partial))) => {
            let _ = std::fs::remove_file(partial);
            Ok(())
        }
        (_, None) => Ok(()),
    };
    match result.and_then(|reply| written.map(|()| reply)) {
        Ok(reply) => {
            let _ = std::io::stderr().write_all(reply.stderr.as_bytes());
            ExitCode::from(u8::try_from(reply.code).unwrap_or(1))
        }
        Err(CallError::Output(e)) => match output {
            Some((path, _)) => fail(&format!("cannot write {path}: {e}")),
            // The caller stopped reading stdout.
            None => ExitCode::from(1),
        },
        Err(CallError::Unreachable(e)) => {
            fail(&format!("cannot reach the juju-tls model at {socket}: {e}"))
        }
    }
}

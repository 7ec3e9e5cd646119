//! The flags each tool accepts, from juju/juju `internal/worker/uniter/runner/jujuc/*.go`.

use crate::flags::Flag;
use crate::tool::Tool;

const OUTPUT_FLAGS: &[Flag] = &[Flag::value(&["format"]), Flag::value(&["o", "output"])];
const REL: Flag = Flag::value(&["r", "relation"]);
const APP: Flag = Flag::boolean(&["app"]);
const SECRET_META: &[Flag] = &[
    Flag::value(&["label"]),
    Flag::value(&["description"]),
    Flag::value(&["expire"]),
    Flag::value(&["rotate"]),
    Flag::value(&["owner"]),
    Flag::value(&["file"]),
];

/// The flags each tool accepts (besides `--format`/`-o` for printing tools), from juju/juju
/// `internal/worker/uniter/runner/jujuc/*.go` as summarised in §5.5 and §6.
pub(super) fn flags_of(tool: Tool) -> Vec<Flag> {
    let own: &[Flag] = match tool {
        Tool::RelationList | Tool::RelationGet => &[REL, APP],
        Tool::RelationSet => &[REL, APP, Flag::value(&["file"]), Flag::value(&["format"])],
        Tool::RelationModelGet => &[REL],
        Tool::ConfigGet => &[Flag::boolean(&["a", "all"])],
        Tool::StatusGet => &[
            Flag::boolean(&["include-data"]),
            Flag::boolean(&["application"]),
        ],
        Tool::StatusSet => &[Flag::boolean(&["application"])],
        Tool::JujuLog => &[Flag::value(&["l", "log-level"]), Flag::boolean(&["debug"])],
        Tool::SecretAdd | Tool::SecretSet => SECRET_META,
        Tool::SecretGet => &[
            Flag::value(&["label"]),
            Flag::boolean(&["refresh"]),
            Flag::boolean(&["peek"]),
        ],
        Tool::SecretInfoGet => &[Flag::value(&["label"])],
        Tool::SecretGrant => &[REL, Flag::value(&["unit"])],
        Tool::SecretRevoke => &[REL, Flag::value(&["unit"]), Flag::value(&["app"])],
        Tool::SecretRemove => &[Flag::value(&["revision"])],
        Tool::OpenPort | Tool::ClosePort => &[Flag::value(&["endpoints"])],
        Tool::OpenedPorts => &[Flag::boolean(&["endpoints"])],
        Tool::NetworkGet => &[
            REL,
            Flag::boolean(&["ingress-address"]),
            Flag::boolean(&["bind-address"]),
            Flag::boolean(&["egress-subnets"]),
        ],
        Tool::StateGet => &[Flag::boolean(&["strict"])],
        Tool::StateSet => &[Flag::value(&["file"])],
        Tool::StorageGet => &[Flag::value(&["s"])],
        Tool::JujuReboot => &[Flag::boolean(&["now"])],
        _ => &[],
    };
    let mut all = own.to_vec();
    if tool.prints() {
        all.extend_from_slice(OUTPUT_FLAGS);
    }
    all
}

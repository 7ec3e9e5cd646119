use super::render::Rendered;
use super::*;
use serde_json::json;

const CHARMCRAFT: &str = r#"
name: web
type: charm
title: Web
summary: s
description: d
links:
  documentation: https://example.com/docs
  contact: Someone <someone@example.com>
  source: https://example.com/src
requires:
  zeta: {interface: z}
  certificates:
    interface: tls-certificates
    limit: 1
peers:
  cluster:
    interface: web-peers
provides:
  website: {interface: http, optional: true}
extra-bindings: {public: null}
config:
  options:
    common_name:
      type: string
      default: banana
    port:
      type: int
      default: 8443
    untyped: {default: x}
    unset:
      type: string
actions:
  get-certificate:
    description: Print the certificate.
    params:
      format: {type: string, default: pem}
    required: [format]
bases: [{name: ubuntu, channel: "24.04"}]
parts: {charm: {plugin: nil}}
charmhub: {api-url: https://example.com}
"#;

fn yaml(text: &str) -> Value {
    parse_yaml(Path::new("t.yaml"), text).unwrap()
}

#[test]
fn charmcraft_yaml() {
    let m = CharmMeta::from_charmcraft_yaml(CHARMCRAFT).unwrap();
    assert_eq!(m.name, "web");
    assert_eq!(m.role("certificates"), Some(Role::Requires));
    assert_eq!(m.endpoint("certificates").unwrap().limit, Some(1));
    assert!(m.endpoint("website").unwrap().optional);
    assert!(m.is_peer("cluster"));
    assert_eq!(m.config_defaults()["port"], 8443);
    assert!(!m.config_defaults().contains_key("unset"));
    assert_eq!(m.options["untyped"].kind, "string");
    assert_eq!(m.actions["get-certificate"].required, ["format"]);
    assert!(m.actions["get-certificate"].params.contains_key("format"));
    assert_eq!(m.extra_bindings, ["public"]);
}

#[test]
fn endpoints_keep_the_order_of_the_file_by_section() {
    let meta = yaml(
        "name: x\nrequires: {b: {interface: i}, a: {interface: i}}\nprovides: {z: {interface: i}}\n",
    );
    let m = CharmMeta::from_documents(Path::new("d"), &meta, &Value::Null, &Value::Null).unwrap();
    let names: Vec<&str> = m.endpoints.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["z", "b", "a"]);
}

#[test]
fn metadata_keeps_only_charmcrafts_keys_renamed_and_sorted() {
    let r = Rendered::from_charmcraft(&yaml(CHARMCRAFT)).unwrap();
    let keys: Vec<&str> = r
        .metadata
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "description",
            "display-name",
            "docs",
            "extra-bindings",
            "maintainers",
            "name",
            "peers",
            "provides",
            "requires",
            "source",
            "summary"
        ]
    );
    assert_eq!(r.metadata["display-name"], "Web");
    assert_eq!(r.metadata["docs"], "https://example.com/docs");
    assert_eq!(
        r.metadata["maintainers"],
        json!(["Someone <someone@example.com>"])
    );
    let requires: Vec<&String> = r.metadata["requires"].as_object().unwrap().keys().collect();
    assert_eq!(requires, ["certificates", "zeta"]);
    let config = r.config.as_ref().unwrap();
    assert_eq!(config["options"]["port"]["default"], 8443);
    let files: Vec<&str> = r.files().unwrap().into_iter().map(|(n, _)| n).collect();
    assert_eq!(files, ["metadata.yaml", "config.yaml", "actions.yaml"]);
}

#[test]
fn empty_sections_are_left_out_and_non_mappings_refused() {
    let r = Rendered::from_charmcraft(&yaml("name: x\nconfig: {}\nactions: null\n")).unwrap();
    assert_eq!((r.config, r.actions), (None, None));
    let e = Rendered::from_charmcraft(&yaml("name: x\nactions: [a]\n")).unwrap_err();
    assert_eq!(e, "`actions` in charmcraft.yaml is not a mapping");
    assert!(Rendered::from_charmcraft(&yaml("- a\n")).is_err());
}

#[test]
fn a_source_tree_and_its_packed_files_read_the_same() {
    let source = tempfile::tempdir().unwrap();
    std::fs::write(source.path().join("charmcraft.yaml"), CHARMCRAFT).unwrap();
    let packed = tempfile::tempdir().unwrap();
    let r = Rendered::from_charmcraft(&yaml(CHARMCRAFT)).unwrap();
    for (name, text) in r.files().unwrap() {
        std::fs::write(packed.path().join(name), text).unwrap();
    }
    let a = CharmMeta::from_charm_dir(source.path()).unwrap();
    let b = CharmMeta::from_charm_dir(packed.path()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, CharmMeta::from_charmcraft_yaml(CHARMCRAFT).unwrap());
}

#[test]
fn packed_layout_wins_over_charmcraft() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("charmcraft.yaml"), CHARMCRAFT).unwrap();
    std::fs::write(
        dir.path().join("metadata.yaml"),
        "name: packed\nprovides: {certificates: {interface: tls-certificates}}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        "options: {a: {type: boolean, default: true}}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("actions.yaml"), "").unwrap();
    let m = CharmMeta::from_charm_dir(dir.path()).unwrap();
    assert_eq!(m.name, "packed");
    assert_eq!(m.role("certificates"), Some(Role::Provides));
    assert_eq!(m.config_defaults()["a"], true);
    assert!(m.actions.is_empty());
}

#[test]
fn errors_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        CharmMeta::from_charm_dir(dir.path()),
        Err(MetadataError::NotFound(_))
    ));
    for (file, text, why) in [
        ("metadata.yaml", "requires: [1, 2]\n", "no `name`"),
        (
            "metadata.yaml",
            "name: x\nrequires: [1, 2]\n",
            "`requires` is not a mapping",
        ),
        (
            "metadata.yaml",
            "name: x\nrequires: {a: {}}\n",
            "endpoint `a` has no interface",
        ),
        (
            "metadata.yaml",
            "name: x\npeers: {a: {interface: i, limit: -1}}\n",
            "`limit`",
        ),
        ("metadata.yaml", "name: [\n", "metadata.yaml"),
        (
            "config.yaml",
            "options: {a: {type: list}}\n",
            "option `a` has unknown type `list`",
        ),
        (
            "actions.yaml",
            "go: {required: [1]}\n",
            "`required` is not a list of names",
        ),
    ] {
        std::fs::write(dir.path().join("metadata.yaml"), "name: x\n").unwrap();
        let _ = std::fs::remove_file(dir.path().join("config.yaml"));
        let _ = std::fs::remove_file(dir.path().join("actions.yaml"));
        std::fs::write(dir.path().join(file), text).unwrap();
        let e = CharmMeta::from_charm_dir(dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains(file) && e.contains(why), "{text:?}: {e}");
    }
}

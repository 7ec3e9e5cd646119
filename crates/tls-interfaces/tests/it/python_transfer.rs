//! Differential tests of `certificate_transfer` against the published Python library (charmlibs
//! certificate-transfer 1.1.0), driven through `ops.testing` by `tests/python/transfer_oracle.py`:
//! on the same relation data, the provider calls write the same bag keys and bytes, and the
//! requirer queries give the same answers. Where ours answers otherwise on purpose, the test
//! states both answers and why.

use std::collections::{BTreeMap, BTreeSet};

use charm::testing::{Relation, State};
use charm::{Databag, RelationId};
use juju_tls_interfaces::to_python_json;
use serde_json::{Value, json};

use crate::python::venv;
use crate::transfer::{ask, pem, provide};

fn oracle(input: &Value) -> Value {
    venv::oracle("transfer_oracle.py", input).unwrap_or_else(|e| panic!("{e}"))
}

/// The keys of the `certificate_transfer` wire; the rest of a bag (Juju's address keys) is
/// compared apart.
const WIRE_KEYS: [&str; 5] = ["certificates", "version", "ca", "certificate", "chain"];

fn wire_keys(bag: &Databag) -> Databag {
    bag.iter()
        .filter(|(k, _)| WIRE_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn bag_of(v: &Value) -> Databag {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn bag(entries: &[(&str, String)]) -> Databag {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// One relation as both harnesses build it: exactly one remote unit, `<remote_app>/0`.
struct Rel {
    id: u32,
    remote_app: String,
    remote_app_data: Databag,
    remote_unit_data: Databag,
    local_app_data: Databag,
    local_unit_data: Option<Databag>,
}

impl Rel {
    fn new(id: u32, remote_app: &str) -> Self {
        Rel {
            id,
            remote_app: remote_app.to_owned(),
            remote_app_data: Databag::new(),
            remote_unit_data: Databag::new(),
            local_app_data: Databag::new(),
            local_unit_data: None,
        }
    }

    fn json(&self) -> Value {
        let mut v = json!({
            "id": self.id, "remote_app": self.remote_app,
            "remote_app_data": self.remote_app_data,
            "remote_units_data": {"0": self.remote_unit_data},
            "local_app_data": self.local_app_data,
        });
        if let Some(unit) = &self.local_unit_data {
            v["local_unit_data"] = json!(unit);
        }
        v
    }

    fn ours(&self, endpoint: &str) -> Relation {
        let app = self.remote_app.parse().unwrap();
        let mut r = Relation::new(endpoint.parse().unwrap(), self.id, app)
            .without_remote_units()
            .with_remote_unit(
                format!("{}/0", self.remote_app).parse().unwrap(),
                self.remote_unit_data.clone(),
            )
            .with_remote_app_data(self.remote_app_data.clone());
        r.local_app_data = self.local_app_data.clone();
        if let Some(unit) = &self.local_unit_data {
            r.local_unit_data = unit.clone();
        }
        r
    }
}

// ----- provider: add, remove, remove_all -----

/// A provider call, as the oracle and ours take it.
#[derive(Clone)]
enum Call {
    Add(&'static [&'static str], Option<u32>),
    Remove(&'static str, Option<u32>),
    RemoveAll(Option<u32>),
}

impl Call {
    fn json(&self) -> Value {
        match self {
            Call::Add(names, id) => {
                let pems: Vec<String> = names.iter().map(|n| pem(n)).collect();
                json!({"call": "add", "certificates": pems, "relation_id": id})
            }
            Call::Remove(name, id) => {
                json!({"call": "remove", "certificate": pem(name), "relation_id": id})
            }
            Call::RemoveAll(id) => json!({"call": "remove_all", "relation_id": id}),
        }
    }

    fn run(&self, state: State) -> State {
        let relation = |id: &Option<u32>| id.map(|i| RelationId::new(ep(), i));
        match self.clone() {
            Call::Add(names, id) => provide(state, move |t, m| {
                let set: BTreeSet<String> = names.iter().map(|n| pem(n)).collect();
                t.add(m, &set, relation(&id).as_ref())
            }),
            Call::Remove(name, id) => provide(state, move |t, m| {
                t.remove(m, &pem(name), relation(&id).as_ref())
            }),
            Call::RemoveAll(id) => {
                provide(state, move |t, m| t.remove_all(m, relation(&id).as_ref()))
            }
        }
    }
}

fn ep() -> charm::Endpoint {
    "send-ca-cert".parse().unwrap()
}

/// Runs `calls` one hook each through the Python provider and ours, from the same relations;
/// returns, after each call, both sides' (app bag, unit bag) of each relation.
#[allow(clippy::type_complexity)]
fn both_providers(
    leader: bool,
    rels: &[Rel],
    calls: &[Call],
) -> Vec<BTreeMap<u32, [(Databag, Databag); 2]>> {
    let py = oracle(&json!({
        "role": "provider", "leader": leader,
        "relations": rels.iter().map(Rel::json).collect::<Vec<_>>(),
        "steps": calls.iter().map(Call::json).collect::<Vec<_>>(),
    }));
    let mut state = rels.iter().fold(
        State::new("ca/0".parse().unwrap()).with_leader(leader),
        |s, r| s.with_relation(r.ours("send-ca-cert")),
    );
    let mut out = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let step = &py["steps"][i];
        assert!(step["error"].is_null(), "Python failed: {step}");
        state = call.run(state);
        let bags = rels
            .iter()
            .map(|r| {
                let theirs = &step["relations"][r.id.to_string()];
                let ours = state.relation(r.id).unwrap();
                let pair = [
                    (
                        bag_of(&theirs["local_app_data"]),
                        bag_of(&theirs["local_unit_data"]),
                    ),
                    (ours.local_app_data.clone(), ours.local_unit_data.clone()),
                ];
                (r.id, pair)
            })
            .collect();
        out.push(bags);
    }
    out
}

fn list_set(value: Option<&String>) -> Option<BTreeSet<String>> {
    value.map(|v| serde_json::from_str(v).unwrap())
}

#[test]
fn the_provider_calls_write_what_python_writes() {
    let v1 = |id, app| {
        let mut r = Rel::new(id, app);
        r.remote_app_data = bag(&[("version", "1".into())]);
        r
    };
    // 3: a v1 requirer. 5: a v0 requirer, our unit bag left by an earlier v0-only provider.
    // 7: a v1 requirer, our app bag left by the Python provider.
    let mut old = Rel::new(5, "old");
    old.local_unit_data = Some(bag(&[
        ("ca", to_python_json(&pem("p0"))),
        ("certificate", to_python_json(&pem("p0"))),
        ("chain", to_python_json(&[pem("p0")])),
        ("version", "0".into()),
        ("ingress-address", "192.0.2.0".into()),
    ]));
    let mut seeded = v1(7, "other");
    seeded.local_app_data = bag(&[
        ("certificates", to_python_json(&[pem("p1")])),
        ("version", "1".into()),
    ]);
    let rels = [v1(3, "client"), old, seeded];
    let calls = [
        Call::Add(&["b", "a"], None),
        Call::Add(&["c"], Some(3)),
        Call::Remove("a", Some(5)),
        Call::Remove("a", None),
        Call::Add(&["d"], Some(5)),
        Call::RemoveAll(Some(3)),
        Call::Add(&["e"], Some(99)),
        Call::Remove("absent", None),
    ];
    let steps = both_providers(true, &rels, &calls);
    for (i, step) in steps.iter().enumerate() {
        for (id, [(py_app, py_unit), (our_app, our_unit)]) in step {
            let at = format!("after call {i}, relation {id}");
            // The set first (a clearer failure), then the bytes: Python sorts, so do we.
            assert_eq!(
                list_set(our_app.get("certificates")),
                list_set(py_app.get("certificates")),
                "{at}"
            );
            assert_eq!(wire_keys(our_app), wire_keys(py_app), "{at}, app bag");
            assert_eq!(
                list_set(our_unit.get("chain")),
                list_set(py_unit.get("chain")),
                "{at}"
            );
            assert_eq!(wire_keys(our_unit), wire_keys(py_unit), "{at}, unit bag");
        }
    }
    // The union kept what each relation held before: relation 5 its v0 chain, 7 Python's set.
    let last = &steps[calls.len() - 1];
    let published = |id: u32| list_set(last[&id][1].0.get("certificates")).unwrap();
    let pems = |names: &[&str]| names.iter().map(|n| pem(n)).collect::<BTreeSet<_>>();
    assert_eq!(published(3), pems(&[]));
    assert_eq!(published(5), pems(&["p0", "b", "d"]));
    assert_eq!(published(7), pems(&["p1", "b"]));
    // Python rewrites the whole unit bag, dropping Juju's address keys; ours touches only its
    // own keys.
    let [(_, py_unit), (_, our_unit)] = &last[&5];
    assert!(!py_unit.contains_key("ingress-address"));
    assert!(our_unit.contains_key("ingress-address"));
}

#[test]
fn neither_provider_writes_on_a_non_leader() {
    let mut r = Rel::new(3, "client");
    r.remote_app_data = bag(&[("version", "1".into())]);
    let calls = [
        Call::Add(&["a"], None),
        Call::Remove("a", None),
        Call::RemoveAll(None),
    ];
    for step in both_providers(false, &[r], &calls) {
        let [(py_app, py_unit), (our_app, our_unit)] = &step[&3];
        assert!(py_app.is_empty() && our_app.is_empty());
        assert!(wire_keys(py_unit).is_empty() && wire_keys(our_unit).is_empty());
    }
}

#[test]
fn emptying_a_v0_relation_withdraws_its_v0_keys_where_python_leaves_them() {
    let calls = [
        Call::Add(&["a"], None),
        Call::Remove("a", None),
        Call::Add(&["d"], None),
    ];
    let steps = both_providers(true, &[Rel::new(5, "old")], &calls);
    let [(py_app, py_unit), (our_app, our_unit)] = &steps[1][&5];
    assert_eq!(wire_keys(our_app), wire_keys(py_app), "both publish []");
    assert_eq!(
        py_unit["chain"],
        to_python_json(&[pem("a")]),
        "Python leaves v0"
    );
    assert!(wire_keys(our_unit).is_empty(), "ours withdraws v0");
    // Python's next add reads its stale v0 chain and publishes the removed certificate again.
    let [(py_app, _), (our_app, _)] = &steps[2][&5];
    assert_eq!(
        py_app["certificates"],
        to_python_json(&[pem("a"), pem("d")])
    );
    assert_eq!(our_app["certificates"], to_python_json(&[pem("d")]));
}

// ----- requirer: certificates_on, certificates_by_relation, certificates, is_ready -----

/// One provider's relation data, and what each library reads from it: (certificates, ready).
struct Case {
    rel: Rel,
    python: (&'static [&'static str], bool),
    /// `None`: the same as Python.
    ours: Option<(&'static [&'static str], bool)>,
    why: &'static str,
}

fn case(
    id: u32,
    app_bag: &[(&str, String)],
    unit_bag: &[(&str, String)],
    python: (&'static [&'static str], bool),
    ours: Option<(&'static [&'static str], bool)>,
    why: &'static str,
) -> Case {
    let mut rel = Rel::new(id, &format!("provider{id}"));
    rel.remote_app_data = bag(app_bag);
    rel.remote_unit_data = bag(unit_bag);
    Case {
        rel,
        python,
        ours,
        why,
    }
}

fn requirer_cases() -> Vec<Case> {
    let q = |name: &str| to_python_json(&pem(name));
    let list = |names: &[&str]| to_python_json(&names.iter().map(|n| pem(n)).collect::<Vec<_>>());
    let v0 = |names: &[&str]| {
        vec![
            ("ca", q(names[0])),
            ("certificate", q(names[0])),
            ("chain", list(names)),
            ("version", "0".to_owned()),
        ]
    };
    vec![
        case(
            4,
            &[("certificates", list(&["b", "a"])), ("version", "1".into())],
            &[],
            (&["a", "b"], true),
            None,
            "v1",
        ),
        case(
            6,
            &[],
            &v0(&["c", "d"]),
            (&["c", "d"], true),
            None,
            "v0 as Python writes it",
        ),
        case(
            8,
            &[("certificates", "[]".into()), ("version", "1".into())],
            &v0(&["x"]),
            (&[], true),
            None,
            "v1 says empty: v0 data not read",
        ),
        case(
            10,
            &[("certificates", "not json".into()), ("version", "1".into())],
            &[],
            (&[], false),
            None,
            "malformed v1",
        ),
        case(
            12,
            &[("certificates", "\"a string\"".into())],
            &[],
            (&[], false),
            None,
            "not a list",
        ),
        case(
            14,
            &[],
            &[],
            (&[], true),
            Some((&[], false)),
            "nothing published yet: Python is ready (its schema has defaults), ours waits",
        ),
        case(
            16,
            &[("certificates", format!("[{}, 1]", q("e")))],
            &[],
            (&[], false),
            Some((&["e"], false)),
            "one bad entry: Python drops the relation, ours the entry",
        ),
        case(
            18,
            &[("certificates", list(&["f"])), ("version", "1.5".into())],
            &[],
            (&[], false),
            Some((&["f"], false)),
            "a bad version: Python drops the relation, ours reads the list",
        ),
        case(
            20,
            &[],
            &[("ca", pem("r")), ("certificate", pem("r"))],
            (&[], true),
            Some((&["r"], true)),
            "raw-PEM v0 (the original v0 library): read by ours only",
        ),
        case(
            22,
            &[],
            &[("ca", q("s")), ("certificate", q("s"))],
            (&[], true),
            Some((&["s"], true)),
            "v0 without chain: Python reads chain only",
        ),
    ]
}

#[test]
fn the_requirer_queries_answer_what_python_answers() {
    let cases = requirer_cases();
    let gone = 99;
    let mut queries = vec![
        json!({"call": "certificates"}),
        json!({"call": "by_relation"}),
    ];
    for id in cases.iter().map(|c| c.rel.id).chain([gone]) {
        queries.push(json!({"call": "certificates", "relation_id": id}));
        queries.push(json!({"call": "is_ready", "relation_id": id}));
    }
    let py = oracle(&json!({
        "role": "requirer",
        "relations": cases.iter().map(|c| c.rel.json()).collect::<Vec<_>>(),
        "queries": queries,
    }))["answers"]
        .clone();

    let state = cases.iter().fold(
        State::new("client/0".parse().unwrap()).with_leader(true),
        |s, c| s.with_relation(c.rel.ours("receive-ca-cert")),
    );
    let ids: Vec<u32> = cases.iter().map(|c| c.rel.id).chain([gone]).collect();
    let ours = ask(state, move |t, m| {
        let rid = |id: u32| RelationId::new("receive-ca-cert".parse().unwrap(), id);
        let mut answers = vec![json!(t.certificates(m)?), {
            let by: BTreeMap<String, BTreeSet<String>> = t
                .certificates_by_relation(m)?
                .into_iter()
                .map(|(r, s)| (r.id().to_string(), s))
                .collect();
            json!(by)
        }];
        for id in &ids {
            answers.push(json!(t.certificates_on(m, &rid(*id))?));
            answers.push(json!(t.is_ready(m, &rid(*id))?));
        }
        Ok(answers)
    });

    let pems = |names: &[&str]| json!(names.iter().map(|n| pem(n)).collect::<BTreeSet<_>>());
    let (mut py_all, mut our_all) = (BTreeSet::new(), BTreeSet::new());
    let (mut py_by, mut our_by) = (serde_json::Map::new(), serde_json::Map::new());
    for (i, c) in cases.iter().enumerate() {
        let (py_certs, py_ready) = c.python;
        let (our_certs, our_ready) = c.ours.unwrap_or(c.python);
        let at = format!("relation {} ({})", c.rel.id, c.why);
        assert_eq!(py[2 + 2 * i], pems(py_certs), "Python, {at}");
        assert_eq!(py[3 + 2 * i], json!(py_ready), "Python ready, {at}");
        assert_eq!(ours[2 + 2 * i], pems(our_certs), "ours, {at}");
        assert_eq!(ours[3 + 2 * i], json!(our_ready), "ours ready, {at}");
        if c.ours.is_none() {
            assert_eq!(ours[2 + 2 * i], py[2 + 2 * i], "{at}");
        }
        py_all.extend(py_certs.iter().map(|n| pem(n)));
        our_all.extend(our_certs.iter().map(|n| pem(n)));
        py_by.insert(c.rel.id.to_string(), pems(py_certs));
        our_by.insert(c.rel.id.to_string(), pems(our_certs));
    }
    // All relations at once, and by relation (Python's lists are sorted: the sets' order).
    assert_eq!(py[0], json!(py_all));
    assert_eq!(ours[0], json!(our_all));
    assert_eq!(py[1], Value::Object(py_by));
    assert_eq!(ours[1], Value::Object(our_by));
    // A relation that is gone: Python fails, ours has nothing to trust and is not ready.
    let g = 2 + 2 * cases.len();
    assert!(
        py[g]["error"].as_str().unwrap().starts_with("KeyError"),
        "{}",
        py[g]
    );
    assert!(py[g + 1]["error"].as_str().unwrap().starts_with("KeyError"));
    assert_eq!(ours[g], json!([]));
    assert_eq!(ours[g + 1], json!(false));
}

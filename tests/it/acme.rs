//! The acme-certificates charm against real servers on loopback: Debian's pebble (RFC 8555)
//! and BIND, started by the tests on free ports. Our `tls-demo` x3 and the Python requirer
//! (PyPI charmlibs) get certificates by HTTP-01 and by DNS-01 (RFC 2136 with TSIG); every chain
//! passes `openssl verify` against pebble's root. Pebble follows the real clock, not the
//! model's: these tests keep the virtual offset below pebble's 7-day certificate validity
//! (renewal is the requirer's new CSR, 6.5 virtual days in).

use serde_json::Value;

use crate::interop_pypi::Interop;
use crate::support::TestModel;
use crate::support::acme::{Bind, Pebble, PebbleOptions, ZONE, free_port};

/// A model with `acme` (acme-certificates, leader's address in BIND's A records) and the two
/// servers, configured for `plugin` ("http" or "rfc2136"; the rfc2136 secret is the caller's).
struct Setup {
    m: TestModel,
    bind: Bind,
    pebble: Pebble,
}

fn setup(name: &str, options: PebbleOptions, extra: &[&str]) -> Setup {
    let m = TestModel::new(name);
    let acme = m.rust_charm("acme-certificates");
    let http_port = free_port();
    let port_config = format!("http-01-port={http_port}");
    let mut args = vec![
        "acme",
        "--config",
        "email=ops@acme.test",
        "--config",
        "plugin=http",
        "--config",
        &port_config,
        // A loaded CI machine can take seconds per request: the pause test shortens it.
        "--config",
        "acme-request-timeout=20",
    ];
    args.extend_from_slice(extra);
    m.deploy(&acme, &args);
    m.settle();
    let bind = Bind::start(&m.address("acme/0"));
    let pebble = Pebble::start(
        bind.port,
        &PebbleOptions {
            http_port,
            ..options
        },
    );
    let server = format!("server={}", pebble.directory());
    let cas = format!("acme-ca-certificates={}", pebble.listener_ca);
    m.ok(&["config", "acme", &server, &cas]);
    m.settle();
    Setup { m, bind, pebble }
}

/// Every certificate `unit` of the Python requirer holds chains to pebble's root.
fn verify_python(s: &Setup, unit: &str, expect: usize) {
    s.m.verify_held_to(unit, expect, Some(&s.pebble.root()));
}

/// Every `tls-demo` unit's certificate chains to pebble's root, and the probe passes.
fn verify_demo(s: &Setup, app: &str) {
    let root = s.pebble.root();
    let units = s.m.units(app);
    for unit in &units {
        let dir = s.m.tls_dir(unit);
        let read = |f: &str| {
            std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{unit} {f}: {e}"))
        };
        s.m.verify_pem(unit, &read("unit.crt"), &root, &[&read("unit-chain.pem")])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let probe = s.m.completed(&units[0], "probe", &[]);
    let n = units.len() - 1;
    assert_eq!(
        probe["results"]["summary"],
        format!("{n}/{n} peers ok"),
        "probe: {probe:#}"
    );
}

fn fulfilled(s: &Setup) -> String {
    s.m.unit_status("acme/0").1
}

/// Deploys `web` (tls-demo x3, unit mode) and the Python requirer (`pyunit` x `pyunits`, and
/// `pyapp` in app mode), all under `acme.test`, integrates them with `acme`, settles, and
/// checks every certificate: delivered, chained to pebble's root, the probe passing.
fn serve_requirers(s: &Setup, pyunits: usize) {
    let demo = s.m.rust_charm("tls-demo");
    let domain = format!("domain={ZONE}");
    let n = pyunits.to_string();
    s.m.deploy(
        &demo,
        &[
            "web",
            "-n",
            "3",
            "--config",
            "mode=unit",
            "--config",
            &domain,
        ],
    );
    let py = s.m.interop_charm("tls-requirer");
    s.m.deploy(&py, &["pyunit", "-n", &n, "--config", &domain]);
    s.m.deploy(&py, &["pyapp", "--config", &domain, "--config", "mode=app"]);
    for app in ["web", "pyunit", "pyapp"] {
        s.m.ok(&[
            "integrate",
            &format!("{app}:certificates"),
            "acme:certificates",
        ]);
    }
    s.m.settle();
    let total = 3 + pyunits + 1;
    assert_eq!(
        fulfilled(s),
        format!("{total}/{total} certificate requests are fulfilled"),
        "{}",
        s.m.debug_log()
    );
    verify_demo(s, "web");
    for i in 0..pyunits {
        verify_python(s, &format!("pyunit/{i}"), 1);
    }
    verify_python(s, "pyapp/0", 1);
}

#[test]
fn http_01_serves_tls_demo_and_the_python_requirer() {
    let s = setup("acme-http", PebbleOptions::default(), &[]);
    serve_requirers(&s, 2);

    // Renewal is the requirer's: six and a half virtual days into pebble's seven, tls-demo sends new CSRs
    // and gets new certificates (pebble's clock is real; its certificates start now, so they
    // are valid at the model's time too).
    let serial = |unit: &str| {
        let pem = std::fs::read_to_string(s.m.tls_dir(unit).join("unit.crt")).expect("unit.crt");
        pki::Certificate::from_pem(&pem)
            .expect("PEM")
            .info()
            .serial
            .clone()
    };
    let before: Vec<String> = s.m.units("web").iter().map(|u| serial(u)).collect();
    s.m.ok(&["advance", "156h"]);
    s.m.settle();
    let after: Vec<String> = s.m.units("web").iter().map(|u| serial(u)).collect();
    for (b, a) in before.iter().zip(&after) {
        assert_ne!(b, a, "tls-demo did not renew: {}", s.m.debug_log());
    }
    assert_eq!(fulfilled(&s), "6/6 certificate requests are fulfilled");
    verify_demo(&s, "web");
}

/// The errors `acme` published for `requirer_unit`'s application, as JSON values.
fn request_errors(s: &Setup, requirer_unit: &str) -> Vec<Value> {
    let shown: Value =
        serde_json::from_str(&s.m.ok(&["show-unit", requirer_unit, "--json"])).expect("JSON");
    crate::hierarchy::find_values(&shown, "request_errors")
        .iter()
        .flat_map(|raw| serde_json::from_str::<Vec<Value>>(raw).unwrap_or_default())
        .map(|e| e["error"].clone())
        .collect()
}

#[test]
fn refusals_carry_the_library_codes_and_the_server_s_words() {
    let s = setup(
        "acme-refusals",
        PebbleOptions {
            blocklist: vec![format!("blocked.{ZONE}")],
            ..Default::default()
        },
        &[],
    );
    let py = s.m.interop_charm("tls-requirer");
    // A name pebble's policy refuses: 102 with pebble's detail and problem type.
    s.m.deploy(
        &py,
        &["blocked", "--config", &format!("domain=blocked.{ZONE}")],
    );
    // A CSR with an IP address while IP identifiers are not requested: 101, before asking.
    s.m.deploy(&py, &["withip"]);
    for app in ["blocked", "withip"] {
        s.m.ok(&[
            "integrate",
            &format!("{app}:certificates"),
            "acme:certificates",
        ]);
    }
    s.m.settle();
    let blocked = request_errors(&s, "blocked/0");
    assert_eq!(blocked.len(), 1, "{blocked:#?}");
    assert_eq!(blocked[0]["code"], 102, "{blocked:#?}");
    assert_eq!(blocked[0]["name"], "DOMAIN_NOT_ALLOWED");
    assert_eq!(
        blocked[0]["reason"], "urn:ietf:params:acme:error:rejectedIdentifier",
        "{blocked:#?}"
    );
    assert!(
        blocked[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("blocked-0.blocked.acme.test"),
        "pebble's detail names the identifier: {blocked:#?}"
    );
    assert_eq!(blocked[0]["endpoint"], s.pebble.directory());
    let withip = request_errors(&s, "withip/0");
    assert_eq!(withip.len(), 1, "{withip:#?}");
    assert_eq!(withip[0]["code"], 101, "{withip:#?}");
    assert!(
        withip[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("request-ip-identifiers"),
        "{withip:#?}"
    );
    // Failed requests wait their backoff: a hook now does not ask pebble again.
    let status = fulfilled(&s);
    assert!(
        status.starts_with("0/2 certificate requests are fulfilled")
            && status.contains("1 failed, next retry in"),
        "{status}"
    );
    // Bad config: blocked with lego's message, certificates untouched.
    s.m.ok(&["config", "acme", "email=not-an-email"]);
    s.m.settle();
    assert_eq!(
        s.m.unit_status("acme/0"),
        ("blocked".to_owned(), "invalid email address".to_owned())
    );
    s.m.ok(&["config", "acme", "plugin=route53"]);
    s.m.ok(&["config", "acme", "email=ops@acme.test"]);
    s.m.settle();
    let (workload, message) = s.m.unit_status("acme/0");
    assert_eq!(workload, "blocked");
    assert!(
        message.contains("route53") && message.contains("rfc2136"),
        "{message}"
    );
}

/// Switches `acme` to DNS-01 through BIND with a user secret granted to it.
fn use_rfc2136(s: &Setup, extra: &[&str]) {
    let uri =
        s.m.ok(&[
            "add-secret",
            "dns-update",
            &format!("rfc2136-nameserver=127.0.0.1:{}", s.bind.port),
            &format!("rfc2136-tsig-key={}", crate::support::acme::TSIG_KEY),
            &format!("rfc2136-tsig-secret={}", crate::support::acme::TSIG_SECRET),
            "rfc2136-tsig-algorithm=hmac-sha256.",
        ])
        .trim()
        .to_owned();
    // Not granted yet: lego's message.
    let mut args = vec![
        "config".to_owned(),
        "acme".to_owned(),
        "plugin=rfc2136".to_owned(),
        format!("plugin-config-secret-id={uri}"),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.m.ok(&args);
    s.m.settle();
    let (workload, message) = s.m.unit_status("acme/0");
    assert_eq!(workload, "blocked", "{message}");
    assert!(
        message.starts_with("plugin configuration secret is not available"),
        "{message}"
    );
    s.m.ok(&["grant-secret", "dns-update", "acme"]);
    // Juju sends no hook on a grant: the next config change (or update-status) picks it up.
    s.m.ok(&["config", "acme", "disable-cname-support=false"]);
    s.m.settle();
}

#[test]
fn dns_01_through_bind_with_tsig_serves_tls_demo_and_the_python_requirer() {
    let s = setup("acme-dns", PebbleOptions::default(), &[]);
    use_rfc2136(&s, &[]);
    serve_requirers(&s, 1);
    // Every record it created is gone.
    for name in ["web-0", "web-1", "web-2", "pyunit-0", "pyapp"] {
        assert_eq!(
            s.bind.txt(&format!("_acme-challenge.{name}.{ZONE}")),
            "",
            "{name}'s challenge record was left behind"
        );
    }
    // send-ca-cert carries the issuers of what was delivered (pebble's intermediate: the
    // `ca` of every certificate), to the Python v1 certificate_transfer requirer.
    s.m.deploy(&s.m.interop_charm("transfer-v1"), &["trust"]);
    s.m.ok(&["integrate", "trust:receive-ca-cert", "acme:send-ca-cert"]);
    s.m.settle();
    let got = s.m.completed("trust/0", "get-certificates", &[]);
    let list: Vec<String> =
        serde_json::from_str(got["results"]["certificates"].as_str().expect("list")).expect("JSON");
    let held = s.m.held("pyunit/0");
    let ca = held[0]["ca"].as_str().expect("ca").trim().to_owned();
    assert_eq!(
        list.iter().map(|c| c.trim().to_owned()).collect::<Vec<_>>(),
        vec![ca],
        "send-ca-cert"
    );
}

/// Starts a settle in the background, waits until `acme` has created the challenge record for
/// `name` (the order exists at pebble), then pauses pebble until the settle ends: the hook's
/// next request times out, which is "server unreachable" mid-order.
fn pause_pebble_mid_order(s: &Setup, name: &str) {
    let mut settle = s.m.command(&["wait"]).spawn().expect("wait");
    let record = format!("_acme-challenge.{name}.{ZONE}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while s.bind.txt(&record).is_empty() {
        if std::time::Instant::now() > deadline {
            let _ = settle.kill();
            panic!("no challenge record for {name}: {}", s.m.debug_log());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    s.pebble.pause();
    let status = settle.wait().expect("wait");
    s.pebble.resume();
    assert!(status.success(), "settle failed: {}", s.m.debug_log());
}

/// The order URL of `acme`'s log line about `name`: ("resuming order <url>" on the 201, and
/// "<name> (order <url>)" when issued).
fn order_urls(log: &str, name: &str) -> (Vec<String>, Vec<String>) {
    let url_after = |line: &str, marker: &str| {
        line.split(marker).nth(1).map(|r| {
            r.split([')', ',', ' '])
                .next()
                .unwrap_or_default()
                .to_owned()
        })
    };
    let resumed = log
        .lines()
        .filter(|l| l.contains(name) && l.contains("201 SERVER_NOT_AVAILABLE"))
        .filter_map(|l| url_after(l, "resuming order "))
        .collect();
    let issued = log
        .lines()
        .filter(|l| l.contains("issued: "))
        .filter_map(|l| url_after(l, &format!("{name} (order ")))
        .collect();
    (resumed, issued)
}

#[test]
fn an_unreachable_server_and_a_leader_change_mid_order_resume_the_same_order() {
    let s = setup("acme-resume", PebbleOptions::default(), &["-n", "2"]);
    // A propagation wait holds each order between its record and its challenge: the test
    // pauses pebble in that window.
    use_rfc2136(&s, &["dns-propagation-wait=2", "acme-request-timeout=3"]);
    let py = s.m.interop_charm("tls-requirer");
    let domain = format!("domain={ZONE}");

    // 1. Pebble stops answering mid-order: 201, the order is kept; once it is back, the same
    //    order completes (no second order for the CSR).
    s.m.deploy(&py, &["first", "--config", &domain]);
    s.m.ok(&[
        "integrate",
        "--no-wait",
        "first:certificates",
        "acme:certificates",
    ]);
    pause_pebble_mid_order(&s, "first-0");
    let errors = request_errors(&s, "first/0");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["code"], 201, "{errors:#?}");
    let status = fulfilled(&s);
    assert!(status.contains("1 failed, next retry in 1m"), "{status}");
    s.m.ok(&["advance", "6m"]);
    s.m.settle();
    verify_python(&s, "first/0", 1);
    let (resumed, issued) = order_urls(&s.m.debug_log(), "first-0.acme.test");
    assert_eq!(resumed.len(), 1, "{}", s.m.debug_log());
    assert_eq!(issued, resumed, "the certificate came from another order");
    assert!(request_errors(&s, "first/0").is_empty());

    // 2. The same mid-order, then the leader changes: the new leader finishes that order with
    //    the same account.
    s.m.deploy(&py, &["second", "--config", &domain]);
    s.m.ok(&[
        "integrate",
        "--no-wait",
        "second:certificates",
        "acme:certificates",
    ]);
    pause_pebble_mid_order(&s, "second-0");
    assert_eq!(request_errors(&s, "second/0")[0]["code"], 201);
    s.m.ok(&["set-leader", "acme/1"]);
    s.m.ok(&["advance", "6m"]);
    s.m.settle();
    verify_python(&s, "second/0", 1);
    let log = s.m.debug_log();
    let (resumed, issued) = order_urls(&log, "second-0.acme.test");
    assert_eq!(resumed.len(), 1, "{log}");
    assert_eq!(issued, resumed, "the new leader made another order");
    let issued_by = log
        .lines()
        .find(|l| l.contains("second-0.acme.test (order "))
        .unwrap_or_default();
    assert!(issued_by.contains("acme/1"), "{issued_by}");
    assert_eq!(
        log.matches("created the ACME account").count(),
        1,
        "the new leader made a new account: {log}"
    );
    assert_eq!(
        s.m.unit_status("acme/0").1,
        "standby: the leader manages certificates; it continues with the same account and orders"
    );

    // 3. A CSR withdrawn while its order is held (the relation removed after a 201): its
    //    challenge record is removed without the ACME server, and nothing stays pending.
    s.m.deploy(&py, &["third", "--config", &domain]);
    s.m.ok(&[
        "integrate",
        "--no-wait",
        "third:certificates",
        "acme:certificates",
    ]);
    pause_pebble_mid_order(&s, "third-0");
    let record = format!("_acme-challenge.third-0.{ZONE}");
    assert!(
        !s.bind.txt(&record).is_empty(),
        "the record is kept for the resumed order"
    );
    s.pebble.pause();
    s.m.ok(&["remove-relation", "third:certificates", "acme:certificates"]);
    s.pebble.resume();
    assert_eq!(
        s.bind.txt(&record),
        "",
        "the withdrawn order's record was left behind"
    );
    let status = fulfilled(&s);
    assert!(
        !status.contains("pending") && !status.contains("failed"),
        "{status}"
    );
}

#[test]
fn external_account_binding_is_required_then_given() {
    let s = setup(
        "acme-eab",
        PebbleOptions {
            eab: true,
            ..Default::default()
        },
        &[],
    );
    let py = s.m.interop_charm("tls-requirer");
    s.m.deploy(&py, &["req", "--config", &format!("domain={ZONE}")]);
    s.m.ok(&["integrate", "req:certificates", "acme:certificates"]);
    // No EAB: pebble refuses the account; the charm says so and the request gets pebble's words.
    let (workload, message) = s.m.unit_status("acme/0");
    assert_eq!(workload, "blocked", "{message}");
    assert!(
        message.to_lowercase().contains("external account"),
        "{message}"
    );
    let errors = request_errors(&s, "req/0");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(
        errors[0]["reason"], "urn:ietf:params:acme:error:externalAccountRequired",
        "{errors:#?}"
    );

    // One key only: blocked with lego's message.
    let half =
        s.m.ok(&[
            "add-secret",
            "eab-half",
            &format!("eab-kid={}", crate::support::acme::EAB_KID),
        ])
        .trim()
        .to_owned();
    s.m.ok(&["grant-secret", "eab-half", "acme"]);
    s.m.ok(&["config", "acme", &format!("eab-secret-id={half}")]);
    assert_eq!(
        s.m.unit_status("acme/0"),
        (
            "blocked".to_owned(),
            "eab-secret-id secret must contain both 'eab-kid' and 'eab-hmac'".to_owned()
        )
    );

    // Both keys: the account is created with the binding and the request is served at once
    // (a config change retries failed requests without waiting their backoff).
    let eab =
        s.m.ok(&[
            "add-secret",
            "eab",
            &format!("eab-kid={}", crate::support::acme::EAB_KID),
            &format!("eab-hmac={}", crate::support::acme::EAB_HMAC),
        ])
        .trim()
        .to_owned();
    s.m.ok(&["grant-secret", "eab", "acme"]);
    s.m.ok(&["config", "acme", &format!("eab-secret-id={eab}")]);
    assert_eq!(
        fulfilled(&s),
        "1/1 certificate requests are fulfilled",
        "{}",
        s.m.debug_log()
    );
    verify_python(&s, "req/0", 1);
}

//! The RFC 2136 client against a real BIND (`named`, started here on a free port), with `dig`
//! as the oracle: TXT records appear and disappear, CNAMEs are followed, a wrong TSIG secret
//! and an unknown key are refused with the server's words. `./scripts/test` installs bind9.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use acme_certificates::dns::{Algorithm, DnsError, Key, Name, Updater};

const SECRET_B64: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

struct Named {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn named() -> Named {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display();
    let port = free_port();
    std::fs::write(
        dir.path().join("named.conf"),
        format!(
            r#"options {{ directory "{d}"; listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};
  pid-file "{d}/named.pid"; recursion no; dnssec-validation no; session-keyfile "{d}/session.key"; }};
key "acme-key." {{ algorithm hmac-sha256; secret "{SECRET_B64}"; }};
zone "acme.test" {{ type primary; file "{d}/acme.test.zone"; update-policy {{ grant acme-key. zonesub TXT; }}; }};
"#
        ),
    )
    .expect("named.conf");
    std::fs::write(
        dir.path().join("acme.test.zone"),
        "$TTL 60\n@ IN SOA ns.acme.test. admin.acme.test. 1 3600 600 86400 60\n@ IN NS ns.acme.test.\nns IN A 127.0.0.1\nalias IN CNAME real.other.acme.test.\n",
    )
    .expect("zone");
    let child = Command::new(if std::path::Path::new("/usr/sbin/named").exists() {
        "/usr/sbin/named"
    } else {
        "named"
    })
    .args(["-g", "-4", "-n", "1", "-c"])
    .arg(dir.path().join("named.conf"))
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("named (Debian bind9; ./scripts/test installs it)");
    let n = Named {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while dig(n.port, "ns.acme.test", "A") != "127.0.0.1" {
        assert!(Instant::now() < deadline, "named did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    n
}

fn dig(port: u16, name: &str, rtype: &str) -> String {
    let out = Command::new("dig")
        .args([
            "+short",
            "+tcp",
            "-p",
            &port.to_string(),
            "@127.0.0.1",
            name,
            rtype,
        ])
        .output()
        .expect("dig (Debian bind9-dnsutils)");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn updater(port: u16, key: &str, secret: &[u8]) -> Updater {
    Updater::new(
        SocketAddr::from(([127, 0, 0, 1], port)),
        Key::new(Name::parse(key).unwrap(), Algorithm::Sha256, secret),
        Duration::from_secs(5),
        60,
    )
}

#[test]
fn txt_records_come_and_go_and_bad_keys_are_refused() {
    let n = named();
    let u = updater(n.port, "acme-key", SECRET);
    let name = Name::parse("_acme-challenge.www.acme.test").unwrap();
    let zone = u.zone_of(&name).expect("zone");
    assert_eq!(zone.to_string(), "acme.test.");
    u.add_txt(&zone, &name, "first-value").expect("add");
    u.add_txt(&zone, &name, "second-value").expect("add");
    let both = dig(n.port, "_acme-challenge.www.acme.test", "TXT");
    assert!(
        both.contains("\"first-value\"") && both.contains("\"second-value\""),
        "{both}"
    );
    // The propagation check sees what dig sees.
    assert!(u.has_txt(&name, "first-value").unwrap());
    assert!(!u.has_txt(&name, "third-value").unwrap());
    u.remove_txt(&zone, &name, "first-value").expect("remove");
    assert!(!u.has_txt(&name, "first-value").unwrap());
    assert_eq!(
        dig(n.port, "_acme-challenge.www.acme.test", "TXT"),
        "\"second-value\""
    );
    u.remove_txt(&zone, &name, "second-value").expect("remove");
    assert_eq!(dig(n.port, "_acme-challenge.www.acme.test", "TXT"), "");

    // CNAMEs are followed to where the record must go.
    let alias = Name::parse("alias.acme.test").unwrap();
    assert_eq!(
        u.follow_cnames(&alias).unwrap().to_string(),
        "real.other.acme.test."
    );

    let wrong = updater(n.port, "acme-key", b"not the secret at all, not at all");
    let e = wrong.add_txt(&zone, &name, "x").unwrap_err();
    assert!(
        matches!(e, DnsError::Tsig { .. }) && e.to_string().contains("BADSIG"),
        "{e}"
    );
    let unknown = updater(n.port, "other-key", SECRET);
    let e = unknown.add_txt(&zone, &name, "x").unwrap_err();
    assert!(
        e.to_string().contains("BADKEY") || e.to_string().contains("NOTAUTH"),
        "{e}"
    );
    assert_eq!(dig(n.port, "_acme-challenge.www.acme.test", "TXT"), "");
}

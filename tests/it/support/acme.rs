//! Real ACME and DNS servers on loopback for the acme-certificates tests: Debian's `pebble`
//! (RFC 8555 test server) and `named` (BIND), started in the foreground on free ports with a
//! generated config, and killed when dropped. `./scripts/test` installs both.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The TSIG key BIND accepts updates of `_acme-challenge` TXT records with.
pub(crate) const TSIG_KEY: &str = "acme-key.";
pub(crate) const TSIG_SECRET: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
/// The zone the tests' names live in.
pub(crate) const ZONE: &str = "acme.test";
/// EAB credentials pebble accepts when EAB is required (kid, base64url HMAC key).
pub(crate) const EAB_KID: &str = "kid-1";
pub(crate) const EAB_HMAC: &str =
    "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";

/// A port nobody listens on now (the kernel's pick; released for the server to take).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for_port(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {port}:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// BIND serving `acme.test`: every name's A record is `address` (where HTTP-01 is answered),
/// `_acme-challenge` TXT records updatable with [`TSIG_KEY`].
pub(crate) struct Bind {
    child: Child,
    pub(crate) port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Bind {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[allow(dead_code)]
impl Bind {
    pub(crate) fn start(address: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display();
        let port = free_port();
        std::fs::write(
            dir.path().join("named.conf"),
            format!(
                r#"options {{ directory "{d}"; listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};
  pid-file "{d}/named.pid"; recursion no; dnssec-validation no; session-keyfile "{d}/session.key"; }};
key "{TSIG_KEY}" {{ algorithm hmac-sha256; secret "{TSIG_SECRET}"; }};
zone "{ZONE}" {{ type primary; file "{d}/zone"; update-policy {{ grant {TSIG_KEY} zonesub TXT; }}; }};
"#
            ),
        )
        .expect("named.conf");
        std::fs::write(
            dir.path().join("zone"),
            format!(
                "$TTL 5\n@ IN SOA ns.{ZONE}. admin.{ZONE}. 1 3600 600 86400 5\n@ IN NS ns.{ZONE}.\nns IN A 127.0.0.1\n* IN A {address}\n"
            ),
        )
        .expect("zone");
        let log = dir.path().join("named.log");
        let child = Command::new(if Path::new("/usr/sbin/named").exists() {
            "/usr/sbin/named"
        } else {
            "named"
        })
        .args(["-g", "-4", "-n", "1", "-c"])
        .arg(dir.path().join("named.conf"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("named (Debian bind9; ./scripts/test installs it)");
        let b = Self {
            child,
            port,
            _dir: dir,
        };
        wait_for_port(port, "named", &log);
        b
    }

    /// What `dig` finds for `name`'s TXT records (the oracle of record cleanup).
    pub(crate) fn txt(&self, name: &str) -> String {
        let out = Command::new("dig")
            .args([
                "+short",
                "+tcp",
                "-p",
                &self.port.to_string(),
                "@127.0.0.1",
                name,
                "TXT",
            ])
            .output()
            .expect("dig (Debian bind9-dnsutils)");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

/// How a pebble is set up.
#[derive(Default)]
pub(crate) struct PebbleOptions {
    /// Require External Account Binding ([`EAB_KID`]).
    pub(crate) eab: bool,
    /// Names pebble refuses (rejectedIdentifier).
    pub(crate) blocklist: Vec<String>,
    /// Port it validates HTTP-01 on (the charm's http-01-port).
    pub(crate) http_port: u16,
}

/// A pebble with a listener certificate of our own (Debian ships none).
pub(crate) struct Pebble {
    child: Option<Child>,
    pub(crate) port: u16,
    pub(crate) management: u16,
    /// The listener's CA (PEM): what the charm must trust (acme-ca-certificates).
    pub(crate) listener_ca: String,
    dir: tempfile::TempDir,
    dns_port: u16,
    options_json: String,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.kill();
    }
}

#[allow(dead_code)] // pause/resume: the DNS-01 tests use them.
impl Pebble {
    pub(crate) fn start(dns_port: u16, options: &PebbleOptions) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = |f: &str| dir.path().join(f);
        // A listener CA and a certificate for 127.0.0.1 / localhost, ten years.
        run(
            Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-days",
                    "3650",
                    "-subj",
                    "/CN=pebble listener CA",
                ])
                .arg("-keyout")
                .arg(p("ca.key"))
                .arg("-out")
                .arg(p("ca.pem")),
            "listener CA",
        );
        run(
            Command::new("openssl")
                .args([
                    "req",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-subj",
                    "/CN=localhost",
                ])
                .arg("-keyout")
                .arg(p("key.pem"))
                .arg("-out")
                .arg(p("csr.pem")),
            "listener CSR",
        );
        std::fs::write(p("ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n").expect("ext");
        run(
            Command::new("openssl")
                .args(["x509", "-req", "-days", "3650"])
                .arg("-in")
                .arg(p("csr.pem"))
                .arg("-CA")
                .arg(p("ca.pem"))
                .arg("-CAkey")
                .arg(p("ca.key"))
                .arg("-CAcreateserial")
                .arg("-extfile")
                .arg(p("ext"))
                .arg("-out")
                .arg(p("cert.pem")),
            "listener certificate",
        );
        let port = free_port();
        let management = free_port();
        let mut pebble = serde_json::json!({
            "listenAddress": format!("127.0.0.1:{port}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": p("cert.pem"),
            "privateKey": p("key.pem"),
            "httpPort": options.http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": options.eab,
            "domainBlocklist": options.blocklist,
            // Short-lived, as the issue asks: renewal is the requirer's new CSR.
            "certificateValidityPeriod": 7 * 24 * 3600,
        });
        if options.eab {
            pebble["externalAccountMACKeys"] = serde_json::json!({ EAB_KID: EAB_HMAC });
        }
        let options_json = serde_json::json!({ "pebble": pebble }).to_string();
        let listener_ca = std::fs::read_to_string(p("ca.pem")).expect("ca.pem");
        let mut me = Self {
            child: None,
            port,
            management,
            listener_ca,
            dir,
            dns_port,
            options_json,
        };
        me.spawn();
        me
    }

    fn spawn(&mut self) {
        let config = self.dir.path().join("pebble.json");
        std::fs::write(&config, &self.options_json).expect("pebble.json");
        let log = self.dir.path().join("pebble.log");
        let child = Command::new("pebble")
            .arg("-config")
            .arg(&config)
            .arg("-dnsserver")
            .arg(format!("127.0.0.1:{}", self.dns_port))
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(std::fs::File::create(&log).expect("log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble (Debian pebble; ./scripts/test installs it)");
        self.child = Some(child);
        wait_for_port(self.port, "pebble", &log);
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The directory URL.
    pub(crate) fn directory(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.port)
    }

    /// Stops answering without closing its port (SIGSTOP): requests hang until it resumes.
    pub(crate) fn pause(&self) {
        self.signal("-STOP");
    }

    /// Resumes after [`Self::pause`].
    pub(crate) fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        run(Command::new("kill").args([sig, &pid]), "kill");
    }

    /// Pebble's issuing root (PEM), from its management API: the trust anchor of what it
    /// issues (the chains end at its intermediate).
    pub(crate) fn root(&self) -> String {
        let ca = self.dir.path().join("ca.pem");
        let out = Command::new("curl")
            .args(["-sf", "--cacert"])
            .arg(&ca)
            .arg(format!("https://127.0.0.1:{}/roots/0", self.management))
            .output()
            .expect("curl");
        assert!(out.status.success(), "pebble root: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// CPU time pebble used so far (user + system, from `/proc`, 100 Hz ticks).
    pub(crate) fn cpu_time(&self) -> Duration {
        let pid = self.child.as_ref().map_or(0, Child::id);
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name (which may hold spaces): utime is 14th, stime 15th.
        let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<u64> = after
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
        Duration::from_millis(ticks * 10)
    }

    /// Pebble's log, for failures.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }

    /// Where the listener CA is, as a file.
    #[allow(dead_code)]
    pub(crate) fn listener_ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
}

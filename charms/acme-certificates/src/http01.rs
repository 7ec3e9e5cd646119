//! The HTTP-01 responder: while a hook drives orders, it answers
//! `GET /.well-known/acme-challenge/<token>` with the key authorization on the unit's address
//! and `http-01-port`, and nothing else.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const PREFIX: &str = "/.well-known/acme-challenge/";
/// A request head larger than this is not a validation request.
const MAX_HEAD: usize = 8 * 1024;

/// Tokens to answer, shared with the order tasks.
#[derive(Debug, Clone, Default)]
pub struct Tokens(Arc<Mutex<HashMap<String, String>>>);

impl Tokens {
    /// Answer `token` with `key_authorization`.
    pub fn insert(&self, token: &str, key_authorization: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(token.to_owned(), key_authorization.to_owned());
        }
    }

    fn get(&self, token: &str) -> Option<String> {
        self.0.lock().ok().and_then(|m| m.get(token).cloned())
    }
}

/// The running responder; it stops when dropped.
#[derive(Debug)]
pub struct Responder {
    task: JoinHandle<()>,
    /// Where it listens.
    pub address: SocketAddr,
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Responder {
    /// Listens on `address` and answers from `tokens`.
    pub async fn start(address: SocketAddr, tokens: Tokens) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tokens = tokens.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(10), answer(stream, &tokens))
                        .await;
                });
            }
        });
        Ok(Self { task, address })
    }
}

async fn answer(mut stream: TcpStream, tokens: &Tokens) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let response = match response_for(&head, tokens) {
        Some(body) => format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        None => {
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
        }
    };
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// The key authorization for a `GET` of a known token.
fn response_for(head: &[u8], tokens: &Tokens) -> Option<String> {
    let line = head.split(|&b| b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    let (method, path) = (parts.next()?, parts.next()?);
    if method != "GET" {
        return None;
    }
    let token = path.strip_prefix(PREFIX)?;
    if token.is_empty() || token.contains('/') {
        return None;
    }
    tokens.get(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gets_of_known_tokens_are_answered() {
        let t = Tokens::default();
        t.insert("abc", "abc.thumb");
        let get = |line: &str| response_for(format!("{line}\r\nHost: x\r\n\r\n").as_bytes(), &t);
        assert_eq!(
            get("GET /.well-known/acme-challenge/abc HTTP/1.1").as_deref(),
            Some("abc.thumb")
        );
        assert_eq!(get("GET /.well-known/acme-challenge/abd HTTP/1.1"), None);
        assert_eq!(get("POST /.well-known/acme-challenge/abc HTTP/1.1"), None);
        assert_eq!(get("GET /.well-known/acme-challenge/abc/x HTTP/1.1"), None);
        assert_eq!(get("GET / HTTP/1.1"), None);
        assert_eq!(response_for(b"\xff\xfe", &t), None);
    }

    #[test]
    fn it_serves_over_tcp() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let t = Tokens::default();
            t.insert("tok", "tok.key");
            let r = Responder::start("127.0.0.1:0".parse().unwrap(), t.clone())
                .await
                .unwrap();
            let mut s = TcpStream::connect(r.address).await.unwrap();
            s.write_all(b"GET /.well-known/acme-challenge/tok HTTP/1.1\r\nHost: a\r\n\r\n")
                .await
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
            assert!(out.ends_with("\r\n\r\ntok.key"), "{out}");
        });
    }
}

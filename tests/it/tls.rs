//! `--ca-cert`: an extra trusted root, as with a proxy that re-signs TLS.
//! The test makes its own CA and an HTTPS server on 127.0.0.1.

use std::sync::Arc;

use crate::harness::*;
use crate::images::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// Starts an HTTPS server whose certificate is signed by a fresh CA;
/// returns its base URL and the CA's PEM.
async fn https_server(body: Vec<u8>) -> (String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "rotproof test CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("ca key")).expect("ca");
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("leaf params")
        .signed_by(&leaf_key, &ca)
        .expect("leaf");
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let body = Arc::new(body);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, body) = (acceptor.clone(), body.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 2048];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(&body).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (format!("https://{addr}"), ca.as_ref().pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_cert_adds_a_trusted_root() {
    let (base, ca_pem) = https_server(png(12, 12, 3)).await;
    let site = Site::new();
    site.write("s.md", &format!("![]({base}/img)\n"));
    std::fs::write(site.path().join("ca.pem"), ca_pem).expect("write ca");

    let untrusted = rotproof(args(&["archive", "s.md", "--retries", "0"]), site.path()).await;
    untrusted.code_with(3, "an unknown CA is refused");
    let error = entry(&site.manifest("s"), &format!("{base}/img"))["error"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(error.to_lowercase().contains("certificate"), "{error}");

    let trusted = rotproof(
        args(&["archive", "s.md", "--ca-cert", "ca.pem"]),
        site.path(),
    )
    .await;
    trusted.code(0);
    assert_eq!(
        entry(&site.manifest("s"), &format!("{base}/img"))["status"],
        "archived"
    );
}

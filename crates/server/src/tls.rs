//! TLS settings (`--ssl*`) and the rustls client configuration that enforces them the way
//! MariaDB 10.11's client library does.
//!
//! What is checked, as 10.11 (observed with its `mariadb` client and `mariadb-backup`):
//! * no CA (`--ssl-ca`, `--ssl-capath`) and no `--ssl-verify-server-cert`: the connection is
//!   encrypted, the server's certificate is not checked (a self-signed one is accepted);
//! * a CA: the certificate must chain to it (and pass the CRLs, if given), the host name is
//!   not checked;
//! * `--ssl-verify-server-cert`: chain (to the CA given, else the system's CA bundle) and
//!   host name (`localhost` for the unix socket, the `--host` otherwise; an IP address must
//!   be in the certificate's subjectAltName).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime,
};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};

/// Where the system's CA bundle is looked for by `--ssl-verify-server-cert` without a CA
/// (OpenSSL's default on Debian/Ubuntu, then Fedora/RHEL, then SUSE/Alpine).
const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The TLS settings of a connection. A connection with `Some(TlsOptions)` is encrypted or
/// fails: a server that does not offer TLS is refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// `--ssl-ca`: PEM file of the CAs to trust.
    pub ca: Option<PathBuf>,
    /// `--ssl-capath`: directory whose PEM files are CAs to trust.
    pub capath: Option<PathBuf>,
    /// `--ssl-cert`: client certificate chain (PEM).
    pub cert: Option<PathBuf>,
    /// `--ssl-key`: client private key (PEM); defaults to the `--ssl-cert` file.
    pub key: Option<PathBuf>,
    /// `--ssl-crl`: PEM file of certificate revocation lists.
    pub crl: Option<PathBuf>,
    /// `--ssl-crlpath`: directory whose PEM files are revocation lists.
    pub crlpath: Option<PathBuf>,
    /// `--ssl-verify-server-cert`: check chain and host name.
    pub verify_server_cert: bool,
}

impl TlsOptions {
    /// The combinations that cannot mean what they say, as a usage message: a key without a
    /// certificate, revocation lists with nothing to check them against.
    pub fn check(&self) -> Result<(), String> {
        if self.key.is_some() && self.cert.is_none() {
            return Err("--ssl-key needs --ssl-cert (the client certificate it belongs to)".into());
        }
        if (self.crl.is_some() || self.crlpath.is_some()) && !self.verifies_chain() {
            return Err(format!(
                "--{} needs --ssl-ca, --ssl-capath or --ssl-verify-server-cert: without a CA \
                 the server's certificate is not checked, so neither is its revocation",
                if self.crl.is_some() {
                    "ssl-crl"
                } else {
                    "ssl-crlpath"
                }
            ));
        }
        Ok(())
    }

    /// Whether the server's certificate chain is checked at all.
    fn verifies_chain(&self) -> bool {
        self.ca.is_some() || self.capath.is_some() || self.verify_server_cert
    }

    /// The rustls configuration for a connection to `host` (the name the certificate is
    /// checked against with `--ssl-verify-server-cert`). Errors name the file and what is
    /// wrong with it.
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, String> {
        self.check()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = if self.verifies_chain() {
            let roots = Arc::new(self.roots()?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .with_crls(self.crls()?)
                .build()
                .map_err(|e| format!("cannot use the CA and revocation lists: {e}"))?;
            Arc::new(Verifier {
                webpki,
                check_name: self.verify_server_cert,
            })
        } else {
            Arc::new(Unchecked(provider.clone()))
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match &self.cert {
            Some(cert) => {
                let chain = certificates(cert, "--ssl-cert")?;
                let key_file = self.key.as_deref().unwrap_or(cert);
                let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
                    format!(
                        "cannot read a private key from --ssl-key '{}': {e}",
                        key_file.display()
                    )
                })?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("cannot use --ssl-cert/--ssl-key: {e}"))?
            }
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }

    /// The trusted CAs: `--ssl-ca`, every PEM file of `--ssl-capath`, or the system bundle.
    fn roots(&self) -> Result<RootCertStore, String> {
        let mut files: Vec<(PathBuf, &str)> = Vec::new();
        if let Some(ca) = &self.ca {
            files.push((ca.clone(), "--ssl-ca"));
        }
        if let Some(dir) = &self.capath {
            for file in dir_files(dir, "--ssl-capath")? {
                files.push((file, "--ssl-capath"));
            }
        }
        if self.ca.is_none() && self.capath.is_none() {
            let bundle = SYSTEM_CA_BUNDLES
                .iter()
                .map(Path::new)
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    format!(
                        "--ssl-verify-server-cert without --ssl-ca: no system CA bundle found \
                         (looked for {}); give the CA with --ssl-ca",
                        SYSTEM_CA_BUNDLES.join(", ")
                    )
                })?;
            files.push((bundle.to_path_buf(), "the system CA bundle"));
        }
        let mut roots = RootCertStore::empty();
        for (file, what) in &files {
            let from_dir = self.capath.is_some() && *what == "--ssl-capath";
            let certs = match certificates(file, what) {
                Ok(certs) => certs,
                // A CA directory holds hash links and other files too (OpenSSL's layout).
                Err(_) if from_dir => continue,
                Err(e) => return Err(e),
            };
            let (_, ignored) = roots.add_parsable_certificates(certs);
            if ignored > 0 && !from_dir {
                return Err(format!(
                    "{what} '{}': {ignored} certificate(s) cannot be used as a CA",
                    file.display()
                ));
            }
        }
        if roots.is_empty() {
            return Err(match &self.capath {
                Some(dir) => format!(
                    "--ssl-capath '{}' holds no PEM CA certificate",
                    dir.display()
                ),
                None => "no CA certificate to verify the server with".into(),
            });
        }
        Ok(roots)
    }

    /// The revocation lists of `--ssl-crl` and `--ssl-crlpath`.
    fn crls(&self) -> Result<Vec<CertificateRevocationListDer<'static>>, String> {
        let mut out = Vec::new();
        if let Some(file) = &self.crl {
            out.extend(crl_file(file, "--ssl-crl")?);
        }
        if let Some(dir) = &self.crlpath {
            for file in dir_files(dir, "--ssl-crlpath")? {
                out.extend(crl_file(&file, "--ssl-crlpath").unwrap_or_default());
            }
            if out.is_empty() {
                return Err(format!(
                    "--ssl-crlpath '{}' holds no PEM revocation list",
                    dir.display()
                ));
            }
        }
        Ok(out)
    }
}

/// Every certificate of a PEM file; none is an error.
fn certificates(file: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    pem_items(file, what, "certificate")
}

/// Every revocation list of a PEM file; none is an error.
fn crl_file(file: &Path, what: &str) -> Result<Vec<CertificateRevocationListDer<'static>>, String> {
    pem_items(file, what, "revocation list")
}

/// Every PEM item of type `T` in `file` (`kind` names it in the error); none is an error.
fn pem_items<T: PemObject>(file: &Path, what: &str, kind: &str) -> Result<Vec<T>, String> {
    let read = |e: &dyn std::fmt::Display| format!("cannot read {what} '{}': {e}", file.display());
    let items = T::pem_file_iter(file)
        .map_err(|e| read(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read(&e))?;
    if items.is_empty() {
        return Err(read(&format!("no PEM {kind} in it")));
    }
    Ok(items)
}

/// The regular files of a directory, sorted (deterministic errors).
fn dir_files(dir: &Path, what: &str) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {what} '{}': {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// The name the server's certificate must carry with `--ssl-verify-server-cert`.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string())
        .map_err(|_| format!("'{host}' is not a host name a certificate can be checked against"))
}

/// Chain (and CRLs) always; the host name only with `--ssl-verify-server-cert`.
#[derive(Debug)]
struct Verifier {
    webpki: Arc<WebPkiServerVerifier>,
    check_name: bool,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// No CA and no `--ssl-verify-server-cert` (10.11's default): any certificate, but the
/// handshake's signatures are still checked against it.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_that_mean_nothing_are_refused() {
        let p = |s: &str| Some(PathBuf::from(s));
        for (opts, want) in [
            (TlsOptions::default(), None),
            (
                TlsOptions {
                    key: p("k.pem"),
                    ..TlsOptions::default()
                },
                Some("--ssl-key needs --ssl-cert"),
            ),
            (
                TlsOptions {
                    cert: p("c.pem"),
                    ..TlsOptions::default()
                },
                None,
            ),
            (
                TlsOptions {
                    crl: p("r.pem"),
                    ..TlsOptions::default()
                },
                Some("--ssl-crl needs --ssl-ca"),
            ),
            (
                TlsOptions {
                    crlpath: p("crls"),
                    ..TlsOptions::default()
                },
                Some("--ssl-crlpath needs --ssl-ca"),
            ),
            (
                TlsOptions {
                    crl: p("r.pem"),
                    ca: p("ca.pem"),
                    ..TlsOptions::default()
                },
                None,
            ),
            (
                TlsOptions {
                    crl: p("r.pem"),
                    verify_server_cert: true,
                    ..TlsOptions::default()
                },
                None,
            ),
        ] {
            match (opts.check(), want) {
                (Ok(()), None) => {}
                (Err(e), Some(w)) => assert!(e.starts_with(w), "{opts:?}: {e}"),
                (got, want) => panic!("{opts:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn unreadable_files_are_named() {
        let missing = PathBuf::from("/nonexistent/hotbackup-ca.pem");
        for (opts, want) in [
            (
                TlsOptions {
                    ca: Some(missing.clone()),
                    ..TlsOptions::default()
                },
                "cannot read --ssl-ca '/nonexistent/hotbackup-ca.pem'",
            ),
            (
                TlsOptions {
                    cert: Some(missing.clone()),
                    ..TlsOptions::default()
                },
                "cannot read --ssl-cert '/nonexistent/hotbackup-ca.pem'",
            ),
            (
                TlsOptions {
                    capath: Some(missing.clone()),
                    ..TlsOptions::default()
                },
                "cannot read --ssl-capath '/nonexistent/hotbackup-ca.pem'",
            ),
        ] {
            let e = opts.client_config().unwrap_err();
            assert!(e.starts_with(want), "{e}");
        }
    }

    #[test]
    fn files_that_hold_the_wrong_thing_are_named() {
        let dir = std::env::temp_dir().join(format!("hotbackup-tls-unit-{}", std::process::id()));
        let certs = testkit::TlsFiles::generate(&dir).unwrap();
        let ca = Some(certs.ca.clone());
        let good = TlsOptions {
            ca: ca.clone(),
            cert: Some(certs.client_cert.clone()),
            key: Some(certs.client_key.clone()),
            verify_server_cert: true,
            ..TlsOptions::default()
        };
        assert!(good.client_config().is_ok());
        let capath = TlsOptions {
            capath: Some(dir.clone()),
            ..TlsOptions::default()
        };
        assert!(capath.client_config().is_ok());
        for (opts, want) in [
            (
                TlsOptions {
                    ca: Some(certs.client_key.clone()),
                    ..TlsOptions::default()
                },
                "cannot read --ssl-ca",
            ),
            (
                TlsOptions {
                    ca: ca.clone(),
                    crl: Some(certs.ca.clone()),
                    ..TlsOptions::default()
                },
                "cannot read --ssl-crl",
            ),
            (
                TlsOptions {
                    cert: Some(certs.client_cert.clone()),
                    key: Some(certs.ca.clone()),
                    ..TlsOptions::default()
                },
                "cannot read a private key from --ssl-key",
            ),
            (
                TlsOptions {
                    cert: Some(certs.client_cert.clone()),
                    key: Some(certs.server_key.clone()),
                    ..TlsOptions::default()
                },
                "cannot use --ssl-cert/--ssl-key",
            ),
        ] {
            match opts.client_config() {
                Err(e) => assert!(e.starts_with(want), "{opts:?}: {e}"),
                Ok(_) => panic!("{opts:?}: accepted"),
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn server_names() {
        assert!(server_name("localhost").is_ok());
        assert!(server_name("127.0.0.1").is_ok());
        assert!(server_name("[::1]").is_ok());
        assert!(server_name("bad host").is_err());
    }
}

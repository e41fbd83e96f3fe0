//! Test certificates made with the `openssl` command (a CA, a server and a client certificate
//! it signed, and an unrelated CA), and a server started with them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::ServerBuilder;

/// The PEM files [`TlsFiles::generate`] wrote (EC P-256 keys: quick to make).
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The CA that signed the server and client certificates.
    pub ca: PathBuf,
    /// A CA that signed nothing here: verifying against it must fail.
    pub other_ca: PathBuf,
    /// The server's certificate: subjectAltName `localhost` and `127.0.0.1`.
    pub server_cert: PathBuf,
    /// Its key.
    pub server_key: PathBuf,
    /// A client certificate (for `REQUIRE X509` accounts).
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
}

impl TlsFiles {
    /// Writes the certificates into `dir` (created if needed).
    pub fn generate(dir: &Path) -> Result<TlsFiles> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let p = |name: &str| dir.join(name);
        let files = TlsFiles {
            ca: p("ca.pem"),
            other_ca: p("other-ca.pem"),
            server_cert: p("server-cert.pem"),
            server_key: p("server-key.pem"),
            client_cert: p("client-cert.pem"),
            client_key: p("client-key.pem"),
        };
        for (cert, key, cn) in [
            (&files.ca, p("ca-key.pem"), "hotbackup test CA"),
            (&files.other_ca, p("other-ca-key.pem"), "hotbackup other CA"),
        ] {
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "3650",
                "-subj",
                &format!("/CN={cn}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout",
                path(&key),
                "-out",
                path(cert),
            ])?;
        }
        let ext = p("leaf.ext");
        std::fs::write(
            &ext,
            "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )?;
        for (cert, key, cn) in [
            (&files.server_cert, &files.server_key, "localhost"),
            (&files.client_cert, &files.client_key, "hotbackup client"),
        ] {
            let csr = cert.with_extension("csr");
            openssl(&[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                &format!("/CN={cn}"),
                "-keyout",
                path(key),
                "-out",
                path(&csr),
            ])?;
            openssl(&[
                "x509",
                "-req",
                "-in",
                path(&csr),
                "-CA",
                path(&files.ca),
                "-CAkey",
                path(&p("ca-key.pem")),
                "-CAcreateserial",
                "-days",
                "3650",
                "-extfile",
                path(&ext),
                "-out",
                path(cert),
            ])?;
        }
        Ok(files)
    }
}

impl ServerBuilder {
    /// Starts the server with TLS: `ssl_ca`, `ssl_cert`, `ssl_key` from `files`.
    pub fn tls(self, files: &TlsFiles) -> Self {
        self.option(&format!("ssl_ca={}", files.ca.display()))
            .option(&format!("ssl_cert={}", files.server_cert.display()))
            .option(&format!("ssl_key={}", files.server_key.display()))
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

fn openssl(args: &[&str]) -> Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .context("cannot run openssl (apt-get install openssl)")?;
    if !out.status.success() {
        bail!(
            "openssl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

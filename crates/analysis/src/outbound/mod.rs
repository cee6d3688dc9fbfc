//! Outbound HTTP: the one client configuration for requests callscope makes to other servers
//! (webhook receivers, the LLM endpoint), so every one of them verifies HTTPS the same way,
//! follows no redirects, and, where a tenant chose the URL, reaches only the addresses its
//! [`DestinationPolicy`] allows.

mod destination;

pub use destination::{Cidr, DestinationError, DestinationPolicy};

use crate::AnalysisError;
use destination::GuardedResolver;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// The certificate authorities outbound HTTPS trusts.
#[derive(Clone, Debug, Default)]
pub enum TrustedRoots {
    /// Mozilla's root certificates, bundled with the binary: the public internet.
    #[default]
    Public,
    /// Only these certificates (`--tls-ca-file`), as curl's `--cacert` does: receivers behind
    /// a private certificate authority.
    Only(Arc<Vec<Certificate<'static>>>),
}

impl TrustedRoots {
    /// The certificates of the PEM file at `path`; refused when it holds none.
    pub fn from_pem_file(path: &Path) -> Result<Self, AnalysisError> {
        let refuse = |why: String| AnalysisError::BadTrustedRoots {
            file: path.display().to_string(),
            message: why,
        };
        let pem = std::fs::read(path).map_err(|e| refuse(e.to_string()))?;
        let mut certificates = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            if let PemItem::Certificate(certificate) = item.map_err(|e| refuse(e.to_string()))? {
                certificates.push(certificate);
            }
        }
        if certificates.is_empty() {
            return Err(refuse("it holds no PEM certificate".into()));
        }
        Ok(Self::Only(Arc::new(certificates)))
    }
}

/// A client whose whole request (connecting, sending, reading the answer) is bounded by
/// `timeout`, that verifies HTTPS against `roots`, and that hands back HTTP error statuses
/// (redirects included: none is followed) as answers rather than errors.
///
/// With `destinations` (a URL a tenant chose), every address a host resolves to is checked
/// before the connection, and no proxy is used: a proxy would resolve the host itself, out
/// of the check's reach.
pub fn agent(
    timeout: Duration,
    roots: &TrustedRoots,
    destinations: Option<Arc<DestinationPolicy>>,
) -> ureq::Agent {
    let root_certs = match roots {
        TrustedRoots::Public => RootCerts::WebPki,
        TrustedRoots::Only(certificates) => RootCerts::Specific(Arc::clone(certificates)),
    };
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .tls_config(TlsConfig::builder().root_certs(root_certs).build());
    match destinations {
        None => config.build().into(),
        Some(policy) => ureq::Agent::with_parts(
            config.proxy(None).build(),
            ureq::unversioned::transport::DefaultConnector::default(),
            GuardedResolver { policy },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/tls")
            .join(name)
    }

    #[test]
    fn a_pem_file_of_certificates_is_trusted_alone() {
        let roots = TrustedRoots::from_pem_file(&testdata("ca.pem"));
        let Ok(TrustedRoots::Only(certificates)) = roots else {
            panic!("{roots:?}")
        };
        assert_eq!(certificates.len(), 1);
    }

    #[test]
    fn a_file_without_certificates_is_refused_by_name() {
        for name in ["localhost-key.pem", "missing.pem"] {
            let Err(error) = TrustedRoots::from_pem_file(&testdata(name)) else {
                panic!("{name} was accepted")
            };
            assert!(error.to_string().contains(name), "{error}");
        }
    }
}

//! The HTTPS client every AWS call goes through: rustls on ring (smaller than
//! the SDK's default aws-lc), trusting only the roots AWS service endpoints
//! chain to, compiled in, with its connectors built on first use.
//!
//! Why not the SDK's default: it reads the host's whole certificate store from
//! disk (a bundle file and every file of the certificate directory) and parses
//! it again for each client while the clients are built, so most of the cold
//! start before Lambda's first `/next` poll went to certificates. The roots in
//! `amazon-roots.pem` (Amazon Root CA 1-4 and the Starfield root that
//! cross-signs them, from the Mozilla root program) need no file access,
//! cannot be changed on the host, and trust no certificate authority but the
//! one that issues AWS endpoints' certificates.

use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// The trusted roots, PEM (comments between the certificates are ignored).
const AMAZON_ROOTS: &[u8] = include_bytes!("amazon-roots.pem");

/// The HTTPS client for the SDK configuration.
pub fn client() -> SharedHttpClient {
    let builder = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    let trust = TrustStore::empty().with_pem_certificate(AMAZON_ROOTS);
    let https = match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // The builder refuses only contexts it cannot represent; then the SDK's own defaults serve.
        Err(_) => builder.build_https(),
    };
    SharedHttpClient::new(ConnectOnFirstUse(https))
}

/// Builds connectors (and reads the roots into them) when the first request
/// needs one, not while each client is constructed: the default does that
/// work once per client before the function can poll for its first event.
#[derive(Debug)]
struct ConnectOnFirstUse(SharedHttpClient);

impl HttpClient for ConnectOnFirstUse {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    #[test]
    fn the_compiled_in_roots_are_the_five_amazon_trust_services_roots() {
        let certs: Vec<CertificateDer<'_>> =
            CertificateDer::pem_slice_iter(AMAZON_ROOTS).collect::<Result<_, _>>().expect("every certificate parses");
        assert_eq!(certs.len(), 5);
        let text = String::from_utf8_lossy(AMAZON_ROOTS);
        for name in ["Amazon Root CA 1", "Amazon Root CA 2", "Amazon Root CA 3", "Amazon Root CA 4", "Starfield Services Root"] {
            assert!(text.contains(name), "{name}");
        }
        // Each is a DER SEQUENCE naming its issuer's organization: a certificate, not noise.
        for cert in &certs {
            assert_eq!(cert.as_ref().first(), Some(&0x30));
            let der = cert.as_ref();
            assert!(der.windows(6).any(|w| w == b"Amazon") || der.windows(9).any(|w| w == b"Starfield"));
        }
    }
}

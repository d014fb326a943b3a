//! The DNS records receivers check the forum's mail against, as `doctor`
//! prints them for publishing: SPF for the envelope sender's domain
//! (RFC 7208), the DKIM public key derived from the configured private key
//! (RFC 6376; Ed25519 keys per RFC 8463) and DMARC for the From domain
//! (RFC 7489).

use base64::Engine as _;

use crate::config::{DkimAlgorithm, Settings};

/// A TXT record to publish.
#[derive(Debug, Clone)]
pub struct Record {
    /// The owner name, fully qualified with a trailing dot.
    pub name: String,
    /// The record's text as a zone file writes it: quoted strings of at most
    /// 255 characters each (RFC 1035 §3.3.14), joined by spaces.
    pub value: String,
    /// What to fill in or watch out for.
    pub note: String,
}

/// The DKIM TXT value (`v=DKIM1; k=…; p=…`) for the private key `key` (the
/// key file's text, in the form `mail.dkim_key_file` takes).
///
/// # Errors
/// The text is not such a key; the message says what to do.
pub fn dkim_value(key: &str, algorithm: DkimAlgorithm) -> Result<String, String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    match algorithm {
        DkimAlgorithm::Rsa => {
            use rsa::pkcs1::DecodeRsaPrivateKey as _;
            use rsa::pkcs8::EncodePublicKey as _;
            let key = rsa::RsaPrivateKey::from_pkcs1_pem(key.trim()).map_err(|_| {
                if key.contains("BEGIN PRIVATE KEY") {
                    "the key is in PKCS#8 form (BEGIN PRIVATE KEY) but the signer reads PKCS#1: convert it with \
                     `openssl rsa -in KEY -traditional -out dkim.pem`"
                        .to_owned()
                } else {
                    "the file holds no RSA private key in PKCS#1 PEM (BEGIN RSA PRIVATE KEY): make one with \
                     `openssl genrsa -traditional -out dkim.pem 2048`"
                        .to_owned()
                }
            })?;
            let public = rsa::RsaPublicKey::from(&key)
                .to_public_key_der()
                .map_err(|e| format!("the public key cannot be written out: {e}"))?;
            Ok(format!("v=DKIM1; k=rsa; p={}", b64.encode(public.as_bytes())))
        }
        DkimAlgorithm::Ed25519 => {
            let seed: [u8; 32] = b64.decode(key.trim()).ok().and_then(|s| s.try_into().ok()).ok_or_else(|| {
                "the file holds no Ed25519 key (the base64 of a 32-byte seed): make one with \
                 `openssl rand -base64 32 > dkim.key`"
                    .to_owned()
            })?;
            let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
            Ok(format!("v=DKIM1; k=ed25519; p={}", b64.encode(public.as_bytes())))
        }
    }
}

/// `text` as quoted strings of at most 255 characters, joined by spaces.
#[must_use]
pub fn quoted(text: &str) -> String {
    text.as_bytes().chunks(255).map(|c| format!("\"{}\"", String::from_utf8_lossy(c))).collect::<Vec<_>>().join(" ")
}

/// The records for the configured sender; `dkim` is the DKIM value when a
/// key is configured and readable.
#[must_use]
pub fn records(settings: &Settings, dkim: Option<&str>) -> Vec<Record> {
    let from_domain = domain_of(&settings.mail.from);
    let envelope_domain = settings.bounce_base().map_or_else(|_| from_domain.clone(), |e| e.domain().to_owned());
    let relay = url::Url::parse(&settings.mail.smtp_url).ok().and_then(|u| u.host_str().map(str::to_owned));
    let mut out = vec![Record {
        name: format!("{envelope_domain}."),
        value: quoted("v=spf1 include:<relay's SPF domain> -all"),
        note: format!(
            "SPF for the envelope sender's domain. Replace <relay's SPF domain> with what the operator of {} \
             documents (or list its addresses as ip4:/ip6:). A domain has one SPF record (RFC 7208 §3.2): \
             if there is one already, add to it.",
            relay.as_deref().unwrap_or("the mail relay")
        ),
    }];
    if let Some(value) = dkim {
        let domain = if settings.mail.dkim_domain.is_empty() { &from_domain } else { &settings.mail.dkim_domain };
        out.push(Record {
            name: format!("{}._domainkey.{domain}.", settings.mail.dkim_selector),
            value: quoted(value),
            note: "DKIM public key, derived from mail.dkim_key_file. If the DNS host takes one long string, \
                   join the quoted parts without spaces."
                .to_owned(),
        });
    }
    out.push(Record {
        name: format!("_dmarc.{from_domain}."),
        value: quoted(&format!("v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@{from_domain}; adkim=r; aspf=r")),
        note: "DMARC for the From domain. rua names the mailbox that receives the daily aggregate reports \
               (use one you read). If other systems send as this domain too, start with p=none and tighten \
               once the reports show them all passing."
            .to_owned(),
    });
    out
}

fn domain_of(address: &str) -> String {
    address.rsplit_once('@').map_or(address, |(_, d)| d).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ed25519_seed_gives_the_rfc_8032_public_key() {
        // RFC 8032 §7.1, test 1.
        let seed = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
        let value = dkim_value(seed, DkimAlgorithm::Ed25519).unwrap();
        assert_eq!(value, "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
    }

    #[test]
    fn a_key_that_is_not_one_says_how_to_make_one() {
        let e = dkim_value("hello", DkimAlgorithm::Rsa).unwrap_err();
        assert!(e.contains("openssl genrsa -traditional"), "{e}");
        let e =
            dkim_value("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", DkimAlgorithm::Rsa).unwrap_err();
        assert!(e.contains("PKCS#8"), "{e}");
        assert!(dkim_value("c2hvcnQ=", DkimAlgorithm::Ed25519).is_err());
    }

    #[test]
    fn long_values_are_split_into_strings_of_255() {
        let long = "a".repeat(600);
        let q = quoted(&long);
        assert_eq!(q.matches('"').count(), 6);
        assert!(q.split(' ').all(|part| part.len() <= 257));
    }
}

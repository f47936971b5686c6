//! What the binary adds for SNS at the gateway: the signing certificate served for
//! `SigningCertURL`, and the unsigned `SubscribeURL` / `UnsubscribeURL` links.

use bytes::Bytes;
use http::Method;
use http::request::Parts;
use stratus_iam::Principal;

use crate::services::PlatformFiles;

/// `/_stratus/sns/SimpleNotificationService-{id}.pem`: the certificate that verifies message
/// signatures.
pub struct SnsCertificate {
    pub sns: stratus_sns::Sns,
}

impl PlatformFiles for SnsCertificate {
    fn prefix(&self) -> &'static str {
        "sns"
    }

    fn get(&self, name: &str) -> Result<Option<(&'static str, Bytes)>, String> {
        match (self.sns.certificate_file_name(), self.sns.certificate_pem()) {
            (Some(file), Some(pem)) if file == name => Ok(Some(("application/x-pem-file", Bytes::from(pem)))),
            _ => Ok(None),
        }
    }
}

/// The links SNS puts in its messages work unsigned, as on AWS: an unsigned GET of
/// ConfirmSubscription or Unsubscribe acts for the account and region of the ARN it names (its
/// token or subscription ARN is the credential).
pub fn link_principal(parts: &Parts) -> Option<Principal> {
    if parts.method != Method::GET {
        return None;
    }
    let query = parts.uri.query()?;
    let param =
        |name: &str| form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    let arn = match param("Action")?.as_str() {
        "ConfirmSubscription" => param("TopicArn")?,
        "Unsubscribe" => param("SubscriptionArn")?,
        _ => return None,
    };
    let a = stratus_core::Arn::parse(&arn)?;
    if a.service != "sns" {
        return None;
    }
    Some(Principal {
        account: a.account.to_string(),
        access_key: None,
        region: Some(a.region.to_string()),
        service: Some("sns".into()),
        admin: false,
    })
}

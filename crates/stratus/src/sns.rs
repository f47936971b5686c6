//! What the binary adds for SNS at the gateway: the signing certificate served for
//! `SigningCertURL`, and the unsigned `SubscribeURL` / `UnsubscribeURL` links.

use bytes::Bytes;
use http::Method;
use http::request::Parts;
use stratus_iam::Principal;

use crate::services::{FileResult, PlatformFiles};

/// The members `/_stratus/sns/messages` filters by.
const FILTERS: &[&str] = &["phoneNumber", "endpointArn", "account", "region", "kind"];

/// `/_stratus/sns/SimpleNotificationService-{id}.pem`: the certificate that verifies message
/// signatures; `/_stratus/sns/messages`: the SMS and push messages recorded instead of sent
/// (`{"messages": […]}`, oldest first), filtered by the query's `phoneNumber`, `endpointArn`,
/// `account`, `region` and `kind`.
pub struct SnsCertificate {
    pub sns: stratus_sns::Sns,
}

impl PlatformFiles for SnsCertificate {
    fn prefix(&self) -> &'static str {
        "sns"
    }

    fn get<'a>(&'a self, name: &'a str, query: &'a str) -> stratus_proto::BoxFuture<'a, FileResult> {
        Box::pin(async move {
            if name == "messages" {
                let filters = form_urlencoded::parse(query.as_bytes())
                    .filter(|(k, _)| FILTERS.contains(&k.as_ref()))
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                let doc = self.sns.recorded_messages(filters).await.map_err(|e| e.message)?;
                return Ok(Some(("application/json", Bytes::from(doc.to_string()))));
            }
            match (self.sns.certificate_file_name(), self.sns.certificate_pem()) {
                (Some(file), Some(pem)) if file == name => Ok(Some(("application/x-pem-file", Bytes::from(pem)))),
                _ => Ok(None),
            }
        })
    }
}

/// The links SNS puts in its messages work unsigned, as on AWS: an unsigned GET of
/// ConfirmSubscription or Unsubscribe acts for the account and region of the ARN it names (its
/// token or subscription ARN is the credential). Nothing else may ride on it: the query holds
/// exactly the link's parameters, each once, and there is no body (the query protocol would
/// merge a form body's parameters, `Action` included).
pub fn link_principal(parts: &Parts, _body: &Bytes) -> Option<Principal> {
    if parts.method != Method::GET {
        return None;
    }
    let has_body = parts.headers.get("content-length").and_then(|v| v.to_str().ok()).is_some_and(|v| v != "0")
        || parts.headers.contains_key("transfer-encoding")
        || parts.headers.contains_key("content-type");
    if has_body {
        return None;
    }
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(parts.uri.query()?.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let once = |name: &str| {
        let mut values = pairs.iter().filter(|(k, _)| k == name);
        match (values.next(), values.next()) {
            (Some((_, v)), None) => Some(v.clone()),
            _ => None,
        }
    };
    let (arn, allowed): (String, &[&str]) = match once("Action")?.as_str() {
        "ConfirmSubscription" => {
            (once("TopicArn")?, &["Action", "TopicArn", "Token", "AuthenticateOnUnsubscribe", "Version"])
        }
        "Unsubscribe" => (once("SubscriptionArn")?, &["Action", "SubscriptionArn", "Version"]),
        _ => return None,
    };
    if !pairs.iter().all(|(k, _)| allowed.contains(&k.as_str())) || pairs.iter().any(|(k, _)| once(k).is_none()) {
        return None;
    }
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
        identity: stratus_iam::Identity::Root,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn principal(method: &str, uri: &str, headers: &[(&str, &str)]) -> Option<Principal> {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        link_principal(&b.body(()).unwrap().into_parts().0, &Bytes::new())
    }

    const TOPIC: &str = "arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3At";

    #[test]
    fn only_the_links_themselves_act_unsigned() {
        let confirm = format!("/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=abc");
        let p = principal("GET", &confirm, &[]).unwrap();
        assert_eq!((p.account.as_str(), p.region.as_deref()), ("123456789012", Some("us-east-1")));
        assert!(principal("GET", &format!("/?Action=Unsubscribe&SubscriptionArn={TOPIC}%3Aid"), &[]).is_some());
        // Another action smuggled in, a second ARN, an unknown parameter, a body, a POST.
        assert!(principal("GET", &format!("{confirm}&Action=Publish&Message=x"), &[]).is_none());
        assert!(principal("GET", &format!("{confirm}&TopicArn={TOPIC}"), &[]).is_none());
        assert!(principal("GET", &format!("{confirm}&Message=x"), &[]).is_none());
        assert!(principal("GET", &confirm, &[("content-type", "application/x-www-form-urlencoded")]).is_none());
        assert!(principal("GET", &confirm, &[("content-length", "20")]).is_none());
        assert!(principal("POST", &confirm, &[]).is_none());
        assert!(principal("GET", &format!("/?Action=Publish&TopicArn={TOPIC}"), &[]).is_none());
    }
}

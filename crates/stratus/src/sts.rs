//! What the binary adds for STS at the gateway: AssumeRoleWithWebIdentity works unsigned, as on
//! AWS (the identity provider's token is the credential, checked by the operation itself).

use bytes::Bytes;
use http::request::Parts;
use stratus_iam::Principal;

/// An unsigned AssumeRoleWithWebIdentity request (query string or form body) acts in the
/// account of the role it names. Nothing else rides on it: the action appears once and is that
/// one.
pub fn web_identity_principal(parts: &Parts, body: &Bytes) -> Option<Principal> {
    let form = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if form {
        pairs.extend(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }
    let once = |name: &str| {
        let mut values = pairs.iter().filter(|(k, _)| k == name);
        match (values.next(), values.next()) {
            (Some((_, v)), None) => Some(v.clone()),
            _ => None,
        }
    };
    if once("Action")? != "AssumeRoleWithWebIdentity" {
        return None;
    }
    let role = once("RoleArn")?;
    let (account, _) = stratus_iam_api::parse_role_arn(&role)?;
    Some(Principal {
        account: account.to_string(),
        access_key: None,
        region: None,
        service: Some("sts".into()),
        admin: false,
        identity: stratus_iam::Identity::Root,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn principal(uri: &str, body: &str) -> Option<Principal> {
        let req = http::Request::builder()
            .method("POST")
            .uri(uri)
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(())
            .unwrap();
        web_identity_principal(&req.into_parts().0, &Bytes::from(body.to_string()))
    }

    #[test]
    fn only_web_identity_requests_act_unsigned() {
        let role = "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr";
        let ok = format!("Action=AssumeRoleWithWebIdentity&{role}&RoleSessionName=s&WebIdentityToken=t");
        assert_eq!(principal("/", &ok).unwrap().account, "123456789012");
        assert!(principal("/?Action=AssumeRoleWithWebIdentity", &format!("{role}&WebIdentityToken=t")).is_some());
        // Another action, the action twice, no role.
        assert!(principal("/", &format!("Action=AssumeRole&{role}")).is_none());
        assert!(principal("/?Action=GetCallerIdentity", &ok).is_none());
        assert!(principal("/", "Action=AssumeRoleWithWebIdentity&WebIdentityToken=t").is_none());
    }
}

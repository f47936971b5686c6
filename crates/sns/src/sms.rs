//! SMS, recorded rather than sent: the account's SMS attributes (Set/GetSMSAttributes), opt-outs
//! (CheckIfPhoneNumberIsOptedOut, ListPhoneNumbersOptedOut, OptInPhoneNumber), the SMS sandbox
//! (its destination numbers, verified by a one-time password that is itself "sent" — recorded —
//! as an SMS), and origination numbers (none: no carrier). Messages go to the record
//! ([`crate::recorded`]).
//!
//! - `sns/smsattr/{account}/{region}` → the SMS attributes (JSON map)
//! - `sns/optout/{account}/{region}/{phone}` → a number that opted out
//! - `sns/sandbox/{account}/{region}/{phone}` → a sandbox destination number (JSON)

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{prefix_end, scan_prefix};

use crate::Inner;
use crate::errors::{invalid_parameter, invalid_parameter_reason};
use crate::recorded::{self, Sent};
use crate::topic::{decode, encode};

const ATTRIBUTES: &[&str] = &[
    "MonthlySpendLimit",
    "DeliveryStatusIAMRole",
    "DeliveryStatusSuccessSamplingRate",
    "DefaultSenderID",
    "DefaultSMSType",
    "UsageReportS3Bucket",
];
const PAGE: usize = 100;

fn attrs_key(account: &str, region: &str) -> Vec<u8> {
    format!("sns/smsattr/{account}/{region}").into_bytes()
}

fn optout_prefix(account: &str, region: &str) -> Vec<u8> {
    format!("sns/optout/{account}/{region}/").into_bytes()
}

fn sandbox_prefix(account: &str, region: &str) -> Vec<u8> {
    format!("sns/sandbox/{account}/{region}/").into_bytes()
}

fn with(prefix: &[u8], phone: &str) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(phone.as_bytes());
    k
}

#[derive(Serialize, Deserialize)]
struct SandboxNumber {
    phone: String,
    verified: bool,
    password: String,
}

/// E.164: `+`, then 2–15 digits, the first not 0 (the `+` may be left out, as SNS allows).
pub fn valid_phone(p: &str) -> bool {
    let digits = p.strip_prefix('+').unwrap_or(p);
    (2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn phone_param(input: &Value, member: &str) -> Result<String, AwsError> {
    let p = s(input, member);
    if !valid_phone(p) {
        return Err(invalid_parameter(member));
    }
    Ok(p.to_string())
}

fn check_attribute(name: &str, value: &str) -> Result<(), AwsError> {
    let bad = |why: &str| invalid_parameter_reason("attributes", format!("{name}: {why}"));
    match name {
        "DefaultSMSType" if !matches!(value, "Promotional" | "Transactional") => {
            Err(bad("must be Promotional or Transactional"))
        }
        "MonthlySpendLimit" if value.parse::<u64>().is_err() => Err(bad("must be a whole number of dollars")),
        "DeliveryStatusSuccessSamplingRate" if value.parse::<u8>().map(|n| n > 100).unwrap_or(true) => {
            Err(bad("must be 0 to 100"))
        }
        "DefaultSenderID"
            if value.is_empty()
                || value.len() > 11
                || !value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                || value.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Err(bad("must be 1-11 letters, digits or hyphens, with at least one letter"))
        }
        _ if !ATTRIBUTES.contains(&name) => {
            Err(invalid_parameter_reason("attributes", format!("{name} is not a valid attribute")))
        }
        _ => Ok(()),
    }
}

pub(crate) async fn set_attributes(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let given: BTreeMap<String, String> = input
        .get("attributes")
        .and_then(Value::as_object)
        .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    for (k, v) in &given {
        check_attribute(k, v)?;
    }
    let key = attrs_key(&ctx.account, &ctx.region);
    i.store
        .write(move |t| {
            let mut all: BTreeMap<String, String> = t.get(&key)?.map(|b| decode(&b)).transpose()?.unwrap_or_default();
            all.extend(given);
            t.put(&key, &encode(&all)?)?;
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(Value::Null)
}

pub(crate) async fn get_attributes(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let wanted: Vec<String> = input
        .get("attributes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let key = attrs_key(&ctx.account, &ctx.region);
    let mut all: BTreeMap<String, String> =
        i.store.read(move |r| r.get(&key)?.map(|b| decode(&b)).transpose()).await?.unwrap_or_default();
    all.entry("DefaultSMSType".into()).or_insert_with(|| "Promotional".into());
    if !wanted.is_empty() {
        all.retain(|k, _| wanted.contains(k));
    }
    Ok(json!({"attributes": all}))
}

pub(crate) async fn check_opted_out(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let phone = phone_param(&input, "phoneNumber")?;
    let key = with(&optout_prefix(&ctx.account, &ctx.region), &phone);
    let out = i.store.read(move |r| r.get(&key)).await?.is_some();
    Ok(json!({"isOptedOut": out}))
}

pub(crate) async fn list_opted_out(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let prefix = optout_prefix(&ctx.account, &ctx.region);
    let after = s(&input, "nextToken").to_string();
    let (numbers, next) = i.store.read(move |r| phones_page(r, &prefix, &after)).await?;
    let mut out = json!({"phoneNumbers": numbers});
    if let (Some(n), Some(o)) = (next, out.as_object_mut()) {
        o.insert("nextToken".into(), json!(n));
    }
    Ok(out)
}

fn phones_page(
    r: &mut dyn stratus_storage::ReadTxn,
    prefix: &[u8],
    after: &str,
) -> Result<(Vec<String>, Option<String>), AwsError> {
    let start = if after.is_empty() {
        prefix.to_vec()
    } else {
        let mut k = with(prefix, &crate::topics::decode_token(after)?);
        k.push(0);
        k
    };
    let rows = r.scan(&start, prefix_end(prefix).as_deref(), PAGE + 1)?;
    let phones: Vec<String> =
        rows.iter().take(PAGE).map(|(k, _)| String::from_utf8_lossy(&k[prefix.len()..]).into_owned()).collect();
    let next = (rows.len() > PAGE).then(|| phones.last().map(|p| crate::topics::encode_token(p))).flatten();
    Ok((phones, next))
}

pub(crate) async fn opt_in(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let phone = phone_param(&input, "phoneNumber")?;
    let key = with(&optout_prefix(&ctx.account, &ctx.region), &phone);
    i.store.write(move |t| t.delete(&key)).await?;
    Ok(Value::Null)
}

/// Whether `phone` opted out of SMS from this account.
pub fn opted_out(
    r: &mut dyn stratus_storage::ReadTxn,
    account: &str,
    region: &str,
    phone: &str,
) -> Result<bool, AwsError> {
    Ok(r.get(&with(&optout_prefix(account, region), phone))?.is_some())
}

pub(crate) async fn sandbox_status() -> Result<Value, AwsError> {
    // Accounts here are out of the sandbox: SMS goes to any number (and is recorded).
    Ok(json!({"IsInSandbox": false}))
}

pub(crate) async fn sandbox_create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let phone = phone_param(&input, "PhoneNumber")?;
    let password =
        format!("{:06}", u32::from_be_bytes(i.env.ids.random_bytes()[..4].try_into().unwrap_or_default()) % 1_000_000);
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let message_id = i.env.ids.uuid();
    let now = i.now();
    i.store
        .write(move |t| {
            if opted_out(t, &account, &region, &phone)? {
                return Err(AwsError::new("OptedOutException", "Phone number is opted out."));
            }
            let key = with(&sandbox_prefix(&account, &region), &phone);
            if let Some(b) = t.get(&key)? {
                let n: SandboxNumber = decode(&b)?;
                if n.verified {
                    return Err(AwsError::new("UserErrorException", "Phone number is already verified."));
                }
            }
            let n = SandboxNumber { phone: phone.clone(), verified: false, password: password.clone() };
            t.put(&key, &encode(&n)?)?;
            let text = format!("Your Amazon SNS verification code is: {password}");
            recorded::record(
                t,
                &Sent {
                    kind: "sms",
                    account: &account,
                    region: &region,
                    destination: &phone,
                    message_id: &message_id,
                    message: &text,
                    subject: None,
                    attributes: &Default::default(),
                    topic_arn: None,
                    timestamp: &stratus_core::time::iso8601_millis(now),
                },
            )
        })
        .await?;
    Ok(Value::Null)
}

pub(crate) async fn sandbox_verify(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let phone = phone_param(&input, "PhoneNumber")?;
    let password = s(&input, "OneTimePassword").to_string();
    let key = with(&sandbox_prefix(&ctx.account, &ctx.region), &phone);
    i.store
        .write(move |t| {
            let b = t
                .get(&key)?
                .ok_or_else(|| AwsError::new("ResourceNotFoundException", "Phone number does not exist."))?;
            let mut n: SandboxNumber = decode(&b)?;
            if n.password != password {
                return Err(AwsError::new("VerificationException", "Invalid one-time password."));
            }
            n.verified = true;
            t.put(&key, &encode(&n)?)?;
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(Value::Null)
}

pub(crate) async fn sandbox_delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let phone = phone_param(&input, "PhoneNumber")?;
    let key = with(&sandbox_prefix(&ctx.account, &ctx.region), &phone);
    i.store
        .write(move |t| {
            if t.get(&key)?.is_none() {
                return Err(AwsError::new("ResourceNotFoundException", "Phone number does not exist."));
            }
            t.delete(&key)?;
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(Value::Null)
}

pub(crate) async fn sandbox_list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let limit = input.get("MaxResults").and_then(Value::as_u64).unwrap_or(PAGE as u64).clamp(1, PAGE as u64) as usize;
    let after = s(&input, "NextToken").to_string();
    let prefix = sandbox_prefix(&ctx.account, &ctx.region);
    let numbers: Vec<SandboxNumber> =
        i.store.read(move |r| scan_prefix(r, &prefix, usize::MAX)?.iter().map(|(_, v)| decode(v)).collect()).await?;
    let start = if after.is_empty() {
        0
    } else {
        let last = crate::topics::decode_token(&after)?;
        numbers.iter().position(|n| n.phone > last).unwrap_or(numbers.len())
    };
    let page: Vec<&SandboxNumber> = numbers[start..].iter().take(limit).collect();
    let list: Vec<Value> = page
        .iter()
        .map(|n| json!({"PhoneNumber": n.phone, "Status": if n.verified { "Verified" } else { "Pending" }}))
        .collect();
    let mut out = json!({"PhoneNumbers": list});
    if start + page.len() < numbers.len()
        && let (Some(last), Some(o)) = (page.last(), out.as_object_mut())
    {
        o.insert("NextToken".into(), json!(crate::topics::encode_token(&last.phone)));
    }
    Ok(out)
}

pub(crate) async fn list_origination_numbers(input: Value) -> Result<Value, AwsError> {
    if let Some(n) = input.get("MaxResults").and_then(Value::as_i64)
        && !(1..=30).contains(&n)
    {
        return Err(AwsError::new(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 30"
            ),
        ));
    }
    // No carrier: the account owns no origination numbers.
    Ok(json!({"PhoneNumbers": []}))
}

/// The phone number of a direct Publish, checked.
pub fn publish_target(phone: &str) -> Result<String, AwsError> {
    if !valid_phone(phone) {
        return Err(invalid_parameter(format!("PhoneNumber Reason: {phone} is not valid to publish to")));
    }
    Ok(phone.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert!(valid_phone("+15555550123"));
        assert!(valid_phone("15555550123"));
        assert!(!valid_phone("+0123"));
        assert!(!valid_phone("not-a-number"));
        assert!(!valid_phone("+1234567890123456"));
        assert!(!valid_phone("+"));
    }

    #[test]
    fn attributes() {
        assert!(check_attribute("DefaultSMSType", "Transactional").is_ok());
        assert!(check_attribute("DefaultSMSType", "Loud").is_err());
        assert!(check_attribute("DefaultSenderID", "MyCompany").is_ok());
        assert!(check_attribute("DefaultSenderID", "123").is_err());
        assert!(check_attribute("Colour", "red").is_err());
    }
}

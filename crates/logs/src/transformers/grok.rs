//! Grok patterns (`%{PATTERN:name}`, `%{PATTERN:name:int}`) compiled to one regular
//! expression over the common pattern library.

use serde_json::{Value, json};
use stratus_proto::AwsError;

use crate::errors::invalid_parameter;

/// The base patterns, as regular expressions that may use other patterns.
const LIBRARY: &[(&str, &str)] = &[
    ("USERNAME", r"[a-zA-Z0-9._-]+"),
    ("USER", r"%{USERNAME}"),
    ("EMAILLOCALPART", r"[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~]+)*"),
    ("EMAILADDRESS", r"%{EMAILLOCALPART}@%{HOSTNAME}"),
    ("INT", r"(?:[+-]?(?:[0-9]+))"),
    ("BASE10NUM", r"(?:[+-]?(?:(?:[0-9]+(?:\.[0-9]+)?)|(?:\.[0-9]+)))"),
    ("NUMBER", r"(?:%{BASE10NUM})"),
    ("BASE16NUM", r"(?:0[xX]?[0-9a-fA-F]+)"),
    ("POSINT", r"\b(?:[1-9][0-9]*)\b"),
    ("NONNEGINT", r"\b(?:[0-9]+)\b"),
    ("WORD", r"\b\w+\b"),
    ("NOTSPACE", r"\S+"),
    ("SPACE", r"\s*"),
    ("DATA", r".*?"),
    ("GREEDYDATA", r".*"),
    ("QUOTEDSTRING", r#"(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"#),
    ("UUID", r"[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}"),
    ("MAC", r"(?:(?:[A-Fa-f0-9]{2}[:-]){5}[A-Fa-f0-9]{2})"),
    ("IPV4", r"(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])"),
    ("IPV6", r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}"),
    ("IP", r"(?:%{IPV4}|%{IPV6})"),
    ("HOSTNAME", r"\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*\.?"),
    ("IPORHOST", r"(?:%{IP}|%{HOSTNAME})"),
    ("HOSTPORT", r"%{IPORHOST}:%{POSINT}"),
    ("PATH", r"(?:/[^\s]*)"),
    ("URIPROTO", r"[A-Za-z][A-Za-z0-9+\-.]*"),
    ("URIHOST", r"%{IPORHOST}(?::%{POSINT})?"),
    ("URIPATH", r"(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%&_\-]*)+"),
    ("URIPARAM", r"\?[A-Za-z0-9$.+!*'|(){},~@#%&/=:;_?\-\[\]<>]*"),
    ("URIPATHPARAM", r"%{URIPATH}(?:%{URIPARAM})?"),
    ("URI", r"%{URIPROTO}://(?:%{USER}(?::[^@]*)?@)?(?:%{URIHOST})?(?:%{URIPATHPARAM})?"),
    (
        "MONTH",
        r"\b(?:[Jj]an(?:uary|uar)?|[Ff]eb(?:ruary|ruar)?|[Mm](?:a|ä)?r(?:ch|z)?|[Aa]pr(?:il)?|[Mm]a(?:y|i)?|[Jj]un(?:e|i)?|[Jj]ul(?:y|i)?|[Aa]ug(?:ust)?|[Ss]ep(?:tember)?|[Oo](?:c|k)?t(?:ober)?|[Nn]ov(?:ember)?|[Dd]e(?:c|z)(?:ember)?)\b",
    ),
    ("MONTHNUM", r"(?:0?[1-9]|1[0-2])"),
    ("MONTHDAY", r"(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])"),
    ("DAY", r"(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?)"),
    ("YEAR", r"(?:\d\d){1,2}"),
    ("HOUR", r"(?:2[0123]|[01]?[0-9])"),
    ("MINUTE", r"(?:[0-5][0-9])"),
    ("SECOND", r"(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)"),
    ("TIME", r"%{HOUR}:%{MINUTE}(?::%{SECOND})"),
    ("DATE_US", r"%{MONTHNUM}[/-]%{MONTHDAY}[/-]%{YEAR}"),
    ("DATE_EU", r"%{MONTHDAY}[./-]%{MONTHNUM}[./-]%{YEAR}"),
    ("DATE", r"(?:%{DATE_US}|%{DATE_EU})"),
    ("ISO8601_TIMEZONE", r"(?:Z|[+-]%{HOUR}(?::?%{MINUTE}))"),
    ("ISO8601_SECOND", r"%{SECOND}"),
    ("TIMESTAMP_ISO8601", r"%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}(?::?%{SECOND})?%{ISO8601_TIMEZONE}?"),
    ("DATESTAMP", r"%{DATE}[- ]%{TIME}"),
    ("HTTPDATE", r"%{MONTHDAY}/%{MONTH}/%{YEAR}:%{TIME} %{INT}"),
    ("SYSLOGTIMESTAMP", r"%{MONTH} +%{MONTHDAY} %{TIME}"),
    (
        "LOGLEVEL",
        r"(?:[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo|INFO|[Ww]arn?(?:ing)?|WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?|[Cc]rit?(?:ical)?|CRIT?(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|EMERG(?:ENCY)?|[Ee]merg(?:ency)?)",
    ),
    ("HTTPDUSER", r"(?:%{EMAILADDRESS}|%{USER})"),
    (
        "COMMONAPACHELOG",
        r#"%{IPORHOST:clientip} %{HTTPDUSER:ident} %{USER:auth} \[%{HTTPDATE:timestamp}\] "(?:%{WORD:verb} %{NOTSPACE:request}(?: HTTP/%{NUMBER:httpversion})?|%{DATA:rawrequest})" %{NUMBER:response} (?:%{NUMBER:bytes}|-)"#,
    ),
];

/// A compiled pattern: the expression, and per capture group its field name and conversion.
pub struct Grok {
    re: regex::Regex,
    fields: Vec<(String, String, Option<String>)>,
    quoted: Vec<String>,
}

/// Whether a capture group holds a QUOTEDSTRING (its quotes are dropped).
fn quoted_groups(fields: &[(String, String, Option<String>)], pattern_of: &[(String, &'static str)]) -> Vec<String> {
    fields
        .iter()
        .filter(|(g, _, _)| pattern_of.iter().any(|(pg, p)| pg == g && *p == "QUOTEDSTRING"))
        .map(|(g, _, _)| g.clone())
        .collect()
}

impl Grok {
    /// The named fields of a match of the whole text.
    pub fn captures(&self, text: &str) -> Option<Vec<(String, Value)>> {
        let c = self.re.captures(text)?;
        let quoted = &self.quoted;
        let mut out = Vec::new();
        for (group, field, kind) in &self.fields {
            let Some(m) = c.name(group) else { continue };
            let v = m.as_str();
            // A quoted string's value is what is between the quotes.
            let v = if quoted.contains(group) && v.len() >= 2 { &v[1..v.len() - 1] } else { v };
            let value = match kind.as_deref() {
                Some("int") => v.parse::<i64>().map(|n| json!(n)).unwrap_or_else(|_| json!(v)),
                Some("float") => v.parse::<f64>().map(|n| json!(n)).unwrap_or_else(|_| json!(v)),
                _ => json!(v),
            };
            out.push((field.clone(), value));
        }
        Some(out)
    }
}

pub fn compile(pattern: &str) -> Result<Grok, AwsError> {
    let mut fields = Vec::new();
    let mut pattern_of = Vec::new();
    let body = expand(pattern, &mut fields, &mut pattern_of, 0)?;
    let re = regex::Regex::new(&format!("^{body}$"))
        .map_err(|e| invalid_parameter(format!("grok: the pattern does not compile: {e}")))?;
    let quoted = quoted_groups(&fields, &pattern_of);
    Ok(Grok { re, fields, quoted })
}

fn expand(
    pattern: &str,
    fields: &mut Vec<(String, String, Option<String>)>,
    pattern_of: &mut Vec<(String, &'static str)>,
    depth: usize,
) -> Result<String, AwsError> {
    if depth > 12 {
        return Err(invalid_parameter("grok: patterns nest too deeply."));
    }
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("%{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| invalid_parameter("grok: an unterminated %{ in the pattern."))?;
        let spec = &after[..end];
        let mut parts = spec.splitn(3, ':');
        let name = parts.next().unwrap_or_default();
        let field = parts.next().filter(|f| !f.is_empty());
        let kind = parts.next().map(str::to_string);
        let (pattern_name, body) = LIBRARY
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| invalid_parameter(format!("grok: unknown pattern {name}.")))?;
        let inner = expand(body, fields, pattern_of, depth + 1)?;
        match field {
            Some(f) => {
                let group = format!("g{}", fields.len());
                pattern_of.push((group.clone(), pattern_name));
                fields.push((group.clone(), f.to_string(), kind));
                out.push_str(&format!("(?P<{group}>{inner})"));
            }
            None => out.push_str(&format!("(?:{inner})")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn common_patterns() {
        let g = compile("%{IP:client} %{WORD:method} %{URIPATHPARAM:request} %{NUMBER:bytes:int} %{NUMBER:duration}")
            .unwrap();
        let c = g.captures("55.3.244.1 GET /index.html 15824 0.043").unwrap();
        assert_eq!(
            c,
            vec![
                ("client".into(), json!("55.3.244.1")),
                ("method".into(), json!("GET")),
                ("request".into(), json!("/index.html")),
                ("bytes".into(), json!(15824)),
                ("duration".into(), json!("0.043")),
            ]
        );
        assert!(compile("%{NOPE:x}").is_err());
        let apache = compile("%{COMMONAPACHELOG}").unwrap();
        let c = apache
            .captures(r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#)
            .unwrap();
        assert!(c.contains(&("response".into(), json!("200"))));
    }
}

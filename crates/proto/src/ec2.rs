//! EC2's protocol (`ec2` in the model): query-style requests (`Action=DescribeVpcs&VpcId.1=…&
//! Filter.1.Name=…&Filter.1.Value.1=…`) whose parameter names are a member's `queryName`, else
//! its `locationName` capitalized, else the member name, with every list flat (`Name.N`);
//! answers are XML without a result wrapper (`<DescribeVpcsResponse><requestId>…</requestId>
//! <vpcSet><item>…</item></vpcSet>…`), element names being the members' `locationName`s; errors
//! are `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors>
//! <RequestID>…</RequestID></Response>`.

use serde_json::{Map, Value};

use crate::error::{AwsError, ValidationFailure};
use crate::model::{Member, Operation, ServiceModel, Shape, ShapeKind};
use crate::query::{Params, scalar};
use crate::xml::XmlWriter;
use crate::{ApiRequest, Decoded};

/// Decodes a request: the operation named by `Action`, and its input.
pub fn decode_request<'m>(model: &'m ServiceModel, req: &ApiRequest<'_>) -> Result<Decoded<'m>, AwsError> {
    let params = crate::query_params(req)?;
    let action = params
        .get("Action")
        .ok_or_else(|| AwsError::new("MissingAction", "The request must contain the parameter Action"))?;
    // The model holds only the operations served: the others are EC2's, but not here.
    let op = model.operation(action).ok_or_else(|| {
        let mut served: Vec<&str> = model.operations.keys().map(String::as_str).collect();
        served.sort_unstable();
        AwsError::new(
            "UnsupportedOperation",
            format!(
                "The operation {action} of Amazon EC2 is not supported by this server, which serves {}.",
                served.join(", ")
            ),
        )
    })?;
    Ok(match decode(model, op, &params) {
        Ok(v) => Decoded::Ok(op, v),
        Err(f) => Decoded::Invalid(op, f),
    })
}

/// Decodes the input of `op` from the request's parameters.
pub fn decode(model: &ServiceModel, op: &Operation, params: &Params) -> Result<Value, ValidationFailure> {
    let Some(shape) = op.input.as_deref().and_then(|s| model.shape(s)) else {
        return Ok(Value::Object(Map::new()));
    };
    Ok(decode_struct(model, shape, "", params)?.unwrap_or_else(|| Value::Object(Map::new())))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The request parameter name of a structure member.
pub fn param_name(name: &str, m: &Member) -> String {
    if let Some(q) = &m.query_name {
        return q.clone();
    }
    match &m.location_name {
        Some(l) => capitalize(l),
        None => name.to_string(),
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }
}

fn decode_struct(
    model: &ServiceModel,
    shape: &Shape,
    prefix: &str,
    params: &Params,
) -> Result<Option<Value>, ValidationFailure> {
    let mut obj = Map::new();
    for (name, m) in &shape.members {
        if let Some(v) = decode_member(model, m, &join(prefix, &param_name(name, m)), name, params)? {
            obj.insert(name.clone(), v);
        }
    }
    Ok(if obj.is_empty() && !prefix.is_empty() { None } else { Some(Value::Object(obj)) })
}

fn decode_member(
    model: &ServiceModel,
    m: &Member,
    at: &str,
    member: &str,
    params: &Params,
) -> Result<Option<Value>, ValidationFailure> {
    let Some(shape) = model.shape(&m.shape) else { return Ok(None) };
    match shape.kind {
        ShapeKind::Structure => decode_struct(model, shape, at, params),
        ShapeKind::List => {
            let Some(item) = &shape.member else { return Ok(None) };
            let start = format!("{at}.");
            let end = format!("{at}/");
            let idx: std::collections::BTreeSet<usize> = params
                .range(start.clone()..end)
                .filter_map(|(k, _)| k[start.len()..].split('.').next()?.parse::<usize>().ok())
                .collect();
            if idx.is_empty() {
                return Ok(None);
            }
            let mut items = Vec::with_capacity(idx.len());
            for i in idx {
                if let Some(v) = decode_member(model, item, &format!("{at}.{i}"), member, params)? {
                    items.push(v);
                }
            }
            Ok(Some(Value::Array(items)))
        }
        // No served EC2 input has maps.
        ShapeKind::Map => Ok(None),
        _ => match params.get(at) {
            None => Ok(None),
            Some(raw) => scalar(shape, raw, at, member).map(Some),
        },
    }
}

/// The XML answer of `op` with `output`.
pub fn encode_response(model: &ServiceModel, op: &Operation, output: &Value, request_id: &str) -> String {
    let mut w = XmlWriter::new();
    w.decl();
    let root = format!("{}Response", op.name);
    // EC2 answers in its namespace with the trailing slash the model leaves out.
    let ns = model.metadata.xml_namespace.as_deref().map(|ns| format!("{}/", ns.trim_end_matches('/')));
    w.open(&root, ns.as_deref());
    w.element("requestId", request_id);
    if let Some(shape) = op.output.as_deref().and_then(|s| model.shape(s)) {
        write_members(&mut w, model, shape, output);
    }
    w.close(&root);
    w.finish()
}

fn write_members(w: &mut XmlWriter, model: &ServiceModel, shape: &Shape, v: &Value) {
    let Value::Object(obj) = v else { return };
    for (name, m) in &shape.members {
        let Some(child) = obj.get(name).filter(|c| !c.is_null()) else { continue };
        let Some(child_shape) = model.shape(&m.shape) else { continue };
        write_value(w, model, child_shape, m.location_name.as_deref().unwrap_or(name), child);
    }
}

fn write_value(w: &mut XmlWriter, model: &ServiceModel, shape: &Shape, name: &str, v: &Value) {
    match shape.kind {
        ShapeKind::Structure => {
            w.open(name, None);
            write_members(w, model, shape, v);
            w.close(name);
        }
        ShapeKind::List => {
            let Value::Array(items) = v else { return };
            let Some(item) = &shape.member else { return };
            let Some(item_shape) = model.shape(&item.shape) else { return };
            w.open(name, None);
            let iname = item.location_name.as_deref().unwrap_or("item");
            for it in items {
                write_value(w, model, item_shape, iname, it);
            }
            w.close(name);
        }
        ShapeKind::Map => {
            let Value::Object(entries) = v else { return };
            let Some(val) = &shape.value else { return };
            let Some(val_shape) = model.shape(&val.shape) else { return };
            w.open(name, None);
            for (key, item) in entries {
                w.open("item", None);
                w.element("key", key);
                write_value(w, model, val_shape, "value", item);
                w.close("item");
            }
            w.close(name);
        }
        ShapeKind::Timestamp => {
            let text = match v {
                Value::Number(n) => stratus_core::time::iso8601_millis((n.as_f64().unwrap_or(0.0) * 1000.0) as u64),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            w.element(name, &text);
        }
        _ => {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            w.element(name, &text);
        }
    }
}

/// EC2's error envelope: `(status, body)`.
pub fn encode_error(model: &ServiceModel, err: &AwsError, request_id: &str) -> (u16, String) {
    let (code, status, _) = model.error_info(&err.code);
    let status = err.status.unwrap_or(status);
    let mut w = XmlWriter::new();
    w.decl();
    w.open("Response", None);
    w.open("Errors", None);
    w.open("Error", None);
    w.element("Code", &code);
    w.element("Message", &err.message);
    w.close("Error");
    w.close("Errors");
    w.element("RequestID", request_id);
    w.close("Response");
    (status, w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = r#"{
      "metadata": {"protocol": "ec2", "apiVersion": "2016-11-15", "endpointPrefix": "ec2",
                   "serviceId": "EC2", "xmlNamespace": "http://ec2.amazonaws.com/doc/2016-11-15"},
      "operations": {"DescribeVpcs": {"name": "DescribeVpcs", "http": {"method": "POST", "requestUri": "/"},
                     "input": {"shape": "In"}, "output": {"shape": "Out"}}},
      "shapes": {
        "In": {"type": "structure", "members": {
          "Filters": {"shape": "FilterList", "locationName": "Filter"},
          "VpcIds": {"shape": "Ids", "locationName": "VpcId"},
          "DryRun": {"shape": "Boolean", "locationName": "dryRun"},
          "MaxResults": {"shape": "Integer"}}},
        "FilterList": {"type": "list", "member": {"shape": "Filter", "locationName": "Filter"}},
        "Filter": {"type": "structure", "members": {"Name": {"shape": "String"},
                   "Values": {"shape": "Values", "locationName": "Value"}}},
        "Values": {"type": "list", "member": {"shape": "String", "locationName": "item"}},
        "Ids": {"type": "list", "member": {"shape": "String", "locationName": "VpcId"}},
        "Out": {"type": "structure", "members": {"Vpcs": {"shape": "VpcList", "locationName": "vpcSet"}}},
        "VpcList": {"type": "list", "member": {"shape": "Vpc", "locationName": "item"}},
        "Vpc": {"type": "structure", "members": {"VpcId": {"shape": "String", "locationName": "vpcId"},
                "IsDefault": {"shape": "Boolean", "locationName": "isDefault"}}},
        "String": {"type": "string"}, "Boolean": {"type": "boolean"}, "Integer": {"type": "integer"}
      }
    }"#;

    fn model() -> ServiceModel {
        ServiceModel::parse(MODEL, None).expect("model")
    }

    #[test]
    fn decodes_flat_lists_and_query_names() {
        let m = model();
        let op = m.operation("DescribeVpcs").expect("op");
        let mut p = Params::new();
        for (k, v) in [
            ("Action", "DescribeVpcs"),
            ("VpcId.1", "vpc-1"),
            ("VpcId.2", "vpc-2"),
            ("Filter.1.Name", "isDefault"),
            ("Filter.1.Value.1", "true"),
            ("DryRun", "false"),
            ("MaxResults", "5"),
        ] {
            p.insert(k.into(), v.into());
        }
        let v = decode(&m, op, &p).expect("decoded");
        assert_eq!(
            v,
            serde_json::json!({"VpcIds": ["vpc-1", "vpc-2"], "Filters": [{"Name": "isDefault", "Values": ["true"]}],
                               "DryRun": false, "MaxResults": 5})
        );
        p.insert("MaxResults".into(), "x".into());
        assert!(decode(&m, op, &p).is_err());
    }

    #[test]
    fn encodes_items_and_errors() {
        let m = model();
        let op = m.operation("DescribeVpcs").expect("op");
        let out = encode_response(&m, op, &serde_json::json!({"Vpcs": [{"VpcId": "vpc-1", "IsDefault": true}]}), "r1");
        assert!(out.contains(
            "<DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r1</requestId><vpcSet><item><isDefault>true</isDefault><vpcId>vpc-1</vpcId></item></vpcSet></DescribeVpcsResponse>"
        ), "{out}");
        let (status, body) =
            encode_error(&m, &AwsError::new("InvalidVpcID.NotFound", "The vpc ID 'x' does not exist"), "r2");
        assert_eq!(status, 400);
        assert!(body.ends_with("<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>The vpc ID &apos;x&apos; does not exist</Message></Error></Errors><RequestID>r2</RequestID></Response>"), "{body}");
    }
}

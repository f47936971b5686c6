//! A table as stored: key schema, attribute types, indexes, settings and live counts; how a
//! table describes itself (DescribeTable's `TableDescription`), and how an item's key and index
//! entries are found from the schema.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use stratus_proto::AwsError;

use crate::errors::{invalid, key_mismatch, validation};
use crate::keys;
use crate::value::{Item, Value};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeySchema {
    pub hash: String,
    pub range: Option<String>,
}

impl KeySchema {
    pub fn names(&self) -> Vec<&str> {
        std::iter::once(self.hash.as_str()).chain(self.range.as_deref()).collect()
    }

    fn render(&self) -> Json {
        let mut out = vec![json!({"AttributeName": self.hash, "KeyType": "HASH"})];
        if let Some(r) = &self.range {
            out.push(json!({"AttributeName": r, "KeyType": "RANGE"}));
        }
        Json::Array(out)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Projection {
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub kind: String,
    #[serde(default)]
    pub non_key: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexRecord {
    pub name: String,
    /// Its place in the store's index keys.
    pub number: u8,
    pub key: KeySchema,
    pub projection: Projection,
    #[serde(default)]
    pub read_capacity: u64,
    #[serde(default)]
    pub write_capacity: u64,
    #[serde(default)]
    pub item_count: u64,
    #[serde(default)]
    pub size_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableRecord {
    pub name: String,
    /// The store's id of the table (a new table of the same name gets another).
    pub id: u64,
    /// `TableId`, a UUID.
    pub table_id: String,
    pub account: String,
    pub region: String,
    pub key: KeySchema,
    /// Attribute name → `S`, `N` or `B`.
    pub attributes: BTreeMap<String, String>,
    /// `PAY_PER_REQUEST` or `PROVISIONED`.
    pub billing: String,
    pub read_capacity: u64,
    pub write_capacity: u64,
    pub created_ms: u64,
    pub item_count: u64,
    pub size_bytes: u64,
    #[serde(default)]
    pub gsis: Vec<IndexRecord>,
    #[serde(default)]
    pub lsis: Vec<IndexRecord>,
    #[serde(default)]
    pub stream: Option<StreamSettings>,
    #[serde(default)]
    pub deletion_protection: bool,
    #[serde(default)]
    pub table_class: Option<String>,
    #[serde(default)]
    pub sse: Option<Json>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Time to live: the attribute and whether it is on.
    #[serde(default)]
    pub ttl: Option<(String, bool)>,
    #[serde(default)]
    pub point_in_time_recovery: bool,
    /// Resource-based policies of the table and of its stream: (document, revision id).
    #[serde(default)]
    pub policy: Option<(String, String)>,
    #[serde(default)]
    pub stream_policy: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamSettings {
    pub enabled: bool,
    pub view_type: String,
    /// The stream's label (an ISO-8601 time); a new one each time the stream is enabled.
    pub label: String,
}

pub fn table_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:{partition}:dynamodb:{region}:{account}:table/{name}", partition = stratus_core::partition(region))
}

fn millis_to_epoch(ms: u64) -> Json {
    json!(ms as f64 / 1000.0)
}

impl TableRecord {
    pub fn arn(&self) -> String {
        table_arn(&self.region, &self.account, &self.name)
    }

    /// `TableDescription` (`status` is what the operation answers: `CREATING`, `ACTIVE`,
    /// `DELETING`).
    pub fn describe(&self, status: &str) -> Json {
        let throughput =
            |r: u64, w: u64| json!({"NumberOfDecreasesToday": 0, "ReadCapacityUnits": r, "WriteCapacityUnits": w});
        let mut d = json!({
            "TableName": self.name,
            "TableArn": self.arn(),
            "TableId": self.table_id,
            "TableStatus": status,
            "KeySchema": self.key.render(),
            "AttributeDefinitions": self.attributes.iter()
                .map(|(n, t)| json!({"AttributeName": n, "AttributeType": t})).collect::<Vec<_>>(),
            "CreationDateTime": millis_to_epoch(self.created_ms),
            "ItemCount": self.item_count,
            "TableSizeBytes": self.size_bytes,
            "ProvisionedThroughput": throughput(self.read_capacity, self.write_capacity),
            "DeletionProtectionEnabled": self.deletion_protection,
        });
        let Some(o) = d.as_object_mut() else { return d };
        if self.billing == "PAY_PER_REQUEST" {
            o.insert(
                "BillingModeSummary".into(),
                json!({"BillingMode": "PAY_PER_REQUEST", "LastUpdateToPayPerRequestDateTime": millis_to_epoch(self.created_ms)}),
            );
        }
        let index = |i: &IndexRecord, global: bool| {
            let mut v = json!({
                "IndexName": i.name,
                "IndexArn": format!("{}/index/{}", self.arn(), i.name),
                "KeySchema": i.key.render(),
                "Projection": projection_json(&i.projection),
                "IndexSizeBytes": i.size_bytes,
                "ItemCount": i.item_count,
            });
            if global && let Some(o) = v.as_object_mut() {
                o.insert("IndexStatus".into(), json!("ACTIVE"));
                o.insert("ProvisionedThroughput".into(), throughput(i.read_capacity, i.write_capacity));
            }
            v
        };
        if !self.gsis.is_empty() {
            o.insert("GlobalSecondaryIndexes".into(), self.gsis.iter().map(|i| index(i, true)).collect());
        }
        if !self.lsis.is_empty() {
            o.insert("LocalSecondaryIndexes".into(), self.lsis.iter().map(|i| index(i, false)).collect());
        }
        if let Some(s) = &self.stream
            && s.enabled
        {
            o.insert("StreamSpecification".into(), json!({"StreamEnabled": true, "StreamViewType": s.view_type}));
            o.insert("LatestStreamLabel".into(), json!(s.label));
            o.insert("LatestStreamArn".into(), json!(format!("{}/stream/{}", self.arn(), s.label)));
        }
        if let Some(c) = &self.table_class {
            o.insert("TableClassSummary".into(), json!({"TableClass": c}));
        }
        if let Some(sse) = &self.sse {
            o.insert("SSEDescription".into(), sse.clone());
        }
        d
    }

    /// All indexes, global then local.
    pub fn indexes(&self) -> impl Iterator<Item = &IndexRecord> {
        self.gsis.iter().chain(self.lsis.iter())
    }

    pub fn index(&self, name: &str) -> Option<&IndexRecord> {
        self.indexes().find(|i| i.name == name)
    }

    fn check_key_value(&self, name: &str, v: &Value) -> Result<(), AwsError> {
        let want = self.attributes.get(name).map(String::as_str).unwrap_or("S");
        if v.type_name() != want {
            return Err(invalid(format!("Type mismatch for key {name} expected: {want} actual: {}", v.type_name())));
        }
        let empty = matches!(v, Value::S(s) if s.is_empty()) || matches!(v, Value::B(b) if b.is_empty());
        if empty {
            return Err(validation(format!(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {} value. Key: {name}",
                if want == "S" { "string" } else { "binary" }
            )));
        }
        Ok(())
    }

    /// The store key of the item, checking the item has the table's key attributes (PutItem).
    pub fn item_key(&self, item: &Item) -> Result<Vec<u8>, AwsError> {
        let mut k = keys::items(self.id);
        for name in self.key.names() {
            let v = item.get(name).ok_or_else(|| invalid(format!("Missing the key {name} in the item")))?;
            self.check_key_value(name, v)?;
            keys::push_value(&mut k, v);
        }
        Ok(k)
    }

    /// The store key named by a `Key` parameter: exactly the table's key attributes.
    pub fn key_of(&self, key: &Item) -> Result<Vec<u8>, AwsError> {
        let names = self.key.names();
        if key.len() != names.len() || !names.iter().all(|n| key.contains_key(*n)) {
            return Err(key_mismatch());
        }
        let mut k = keys::items(self.id);
        for name in names {
            let v = &key[name];
            if v.type_name() != self.attributes.get(name).map(String::as_str).unwrap_or("S") {
                return Err(key_mismatch());
            }
            self.check_key_value(name, v)?;
            keys::push_value(&mut k, v);
        }
        Ok(k)
    }

    /// The item's key attributes alone.
    pub fn key_attributes(&self, item: &Item) -> Item {
        self.key.names().into_iter().filter_map(|n| item.get(n).map(|v| (n.to_string(), v.clone()))).collect()
    }

    /// The item's entry in an index: its store key and what the index keeps of it; None when the
    /// item lacks the index's key attributes (or has them with another type): a sparse index.
    pub fn index_entry(&self, index: &IndexRecord, item: &Item) -> Option<(Vec<u8>, Item)> {
        let mut k = keys::index(self.id, index.number);
        for name in index.key.names() {
            let v = item.get(name)?;
            if Some(v.type_name()) != self.attributes.get(name).map(String::as_str) {
                return None;
            }
            keys::push_value(&mut k, v);
        }
        for name in self.key.names() {
            keys::push_value(&mut k, item.get(name)?);
        }
        let kept: Item = match index.projection.kind.as_str() {
            "ALL" => item.clone(),
            kind => item
                .iter()
                .filter(|(n, _)| {
                    self.key.names().contains(&n.as_str())
                        || index.key.names().contains(&n.as_str())
                        || (kind == "INCLUDE" && index.projection.non_key.contains(n))
                })
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
        };
        Some((k, kept))
    }
}

pub fn projection_json(p: &Projection) -> Json {
    if p.kind == "INCLUDE" {
        json!({"ProjectionType": "INCLUDE", "NonKeyAttributes": p.non_key})
    } else {
        json!({"ProjectionType": p.kind})
    }
}

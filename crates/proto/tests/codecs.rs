//! The protocol codecs against the real SQS model: the same input decoded from the query and
//! JSON protocols, XML output shapes, and error envelopes.

use http::{HeaderMap, Method, Uri};
use serde_json::{Value, json};
use stratus_proto::query::{Params, decode, encode_error, encode_response, parse_form};
use stratus_proto::{ApiRequest, AwsError, Checks, Decoded, ServiceModel, json as json_codec, validate::validate};

fn sqs() -> ServiceModel {
    ServiceModel::parse(
        include_str!("../../../models/sqs.json"),
        Some(include_str!("../../../models/sqs-query-names.json")),
    )
    .expect("model")
}

fn form(body: &str) -> Params {
    let mut p = Params::new();
    parse_form(body.as_bytes(), &mut p).expect("form");
    p
}

#[test]
fn query_and_json_decode_to_the_same_input() {
    let m = sqs();
    let op = m.operation("SendMessage").expect("op");
    let q = form(
        "Action=SendMessage&QueueUrl=http%3A%2F%2Flocalhost%2F000000000000%2Fq&MessageBody=hi+there&DelaySeconds=5\
         &MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=x\
         &MessageAttribute.2.Name=b&MessageAttribute.2.Value.DataType=Binary&MessageAttribute.2.Value.BinaryValue=AQI%3D",
    );
    let from_query = decode(&m, op, &q).expect("decode");
    let body = json!({
        "QueueUrl": "http://localhost/000000000000/q",
        "MessageBody": "hi there",
        "DelaySeconds": 5,
        "MessageAttributes": {"a": {"DataType": "String", "StringValue": "x"}, "b": {"DataType": "Binary", "BinaryValue": "AQI="}},
    });
    let mut headers = HeaderMap::new();
    headers.insert("x-amz-target", "AmazonSQS.SendMessage".parse().expect("header"));
    let uri: Uri = "/".parse().expect("uri");
    let raw = body.to_string();
    let req = ApiRequest { method: &Method::POST, uri: &uri, headers: &headers, body: raw.as_bytes() };
    let Ok(Decoded::Ok(json_op, from_json)) = json_codec::decode_request(&m, &req) else { panic!("json decode") };
    assert_eq!(json_op.name, "SendMessage");
    assert_eq!(from_query, from_json);
    assert!(validate(&m, "SendMessageRequest", &from_query, Checks::default()).is_ok());
}

#[test]
fn query_lists_of_structures_and_flattened_names() {
    let m = sqs();
    let op = m.operation("DeleteMessageBatch").expect("op");
    let q = form(
        "QueueUrl=u&DeleteMessageBatchRequestEntry.2.Id=b&DeleteMessageBatchRequestEntry.2.ReceiptHandle=rb\
         &DeleteMessageBatchRequestEntry.1.Id=a&DeleteMessageBatchRequestEntry.1.ReceiptHandle=ra",
    );
    let v = decode(&m, op, &q).expect("decode");
    assert_eq!(v["Entries"], json!([{"Id": "a", "ReceiptHandle": "ra"}, {"Id": "b", "ReceiptHandle": "rb"}]));
    let op = m.operation("GetQueueAttributes").expect("op");
    let v = decode(&m, op, &form("QueueUrl=u&AttributeName.1=All&AttributeName.2=Policy")).expect("decode");
    assert_eq!(v["AttributeNames"], json!(["All", "Policy"]));
}

#[test]
fn query_type_errors_name_the_member() {
    let m = sqs();
    let op = m.operation("ReceiveMessage").expect("op");
    let err = decode(&m, op, &form("QueueUrl=u&MaxNumberOfMessages=ten")).expect_err("type error");
    assert_eq!(err.member(), "MaxNumberOfMessages");
    assert_eq!(err.to_query_style().code, "InvalidParameterValue");
}

#[test]
fn form_decoding_rejects_bytes_that_are_not_utf8() {
    let mut p = Params::new();
    assert!(parse_form(b"MessageBody=%FF%FE", &mut p).is_err());
    assert!(parse_form(b"a=%zz&b", &mut p).is_ok(), "stray percent signs are kept literally");
}

#[test]
fn xml_output_uses_flattened_wire_names() {
    let m = sqs();
    let op = m.operation("ReceiveMessage").expect("op");
    let out = json!({"Messages": [{
        "MessageId": "id1", "ReceiptHandle": "rh", "MD5OfBody": "md5", "Body": "a<b>&\r",
        "Attributes": {"SentTimestamp": "1"},
        "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}},
    }]});
    let xml = encode_response(&m, op, &out, "req-1");
    assert!(xml.contains(r#"<ReceiveMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">"#), "{xml}");
    assert!(
        xml.contains(
            "<ReceiveMessageResult><Message><Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute>"
        ),
        "{xml}"
    );
    assert!(xml.contains("<Body>a&lt;b&gt;&amp;&#xD;</Body>"), "{xml}");
    assert!(xml.contains("<MessageAttribute><Name>k</Name><Value><DataType>String</DataType><StringValue>v</StringValue></Value></MessageAttribute>"), "{xml}");
    assert!(
        xml.ends_with("<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></ReceiveMessageResponse>")
    );
}

#[test]
fn errors_carry_the_query_code_in_both_protocols() {
    let m = sqs();
    let err = AwsError::new("QueueDoesNotExist", "The specified queue does not exist.");
    let (status, xml) = encode_error(&m, &err, "r");
    assert_eq!(status, 400);
    assert!(xml.contains("<Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>"), "{xml}");
    let r = json_codec::encode_error(&m, &err, "r");
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["x-amzn-query-error"], "AWS.SimpleQueueService.NonExistentQueue;Sender");
    let body: Value = serde_json::from_slice(r.body()).expect("json");
    assert_eq!(body["__type"], "com.amazonaws.sqs#QueueDoesNotExist");
    let r = json_codec::encode_error(&m, &AwsError::internal("boom"), "r");
    assert_eq!(r.status(), 500);
    assert_eq!(r.headers()["x-amzn-query-error"], "InternalFailure;Receiver");
}

#[test]
fn json_decoding_rejects_non_objects_and_unknown_targets() {
    let m = sqs();
    let uri: Uri = "/".parse().expect("uri");
    let mut headers = HeaderMap::new();
    headers.insert("x-amz-target", "AmazonSQS.ListQueues".parse().expect("header"));
    for body in [&b"[1,2]"[..], b"{", b"\"s\""] {
        let req = ApiRequest { method: &Method::POST, uri: &uri, headers: &headers, body };
        assert!(matches!(json_codec::decode_request(&m, &req), Err(e) if e.code == "SerializationException"));
    }
    headers.insert("x-amz-target", "AmazonSQS.Nope".parse().expect("header"));
    let req = ApiRequest { method: &Method::POST, uri: &uri, headers: &headers, body: b"{}" };
    assert!(matches!(json_codec::decode_request(&m, &req), Err(e) if e.code == "UnknownOperationException"));
}

fn sns() -> ServiceModel {
    ServiceModel::parse(include_str!("../../../models/sns.json"), None).expect("model")
}

#[test]
fn sns_query_maps_and_lists_decode() {
    let m = sns();
    let op = m.operation("Publish").expect("op");
    let q = form(
        "Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Message=hi\
         &MessageAttributes.entry.1.Name=color&MessageAttributes.entry.1.Value.DataType=String\
         &MessageAttributes.entry.1.Value.StringValue=red\
         &MessageAttributes.entry.2.Name=b&MessageAttributes.entry.2.Value.DataType=Binary\
         &MessageAttributes.entry.2.Value.BinaryValue=AQI%3D",
    );
    let v = decode(&m, op, &q).expect("decode");
    assert_eq!(
        v["MessageAttributes"],
        json!({"color": {"DataType": "String", "StringValue": "red"}, "b": {"DataType": "Binary", "BinaryValue": "AQI="}})
    );
    let op = m.operation("CreateTopic").expect("op");
    let q = form(
        "Action=CreateTopic&Name=t&Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=Shop\
         &Tags.member.1.Key=team&Tags.member.1.Value=a",
    );
    let v = decode(&m, op, &q).expect("decode");
    assert_eq!(v["Attributes"], json!({"DisplayName": "Shop"}));
    assert_eq!(v["Tags"], json!([{"Key": "team", "Value": "a"}]));
    let op = m.operation("PublishBatch").expect("op");
    let q = form(
        "Action=PublishBatch&TopicArn=x&PublishBatchRequestEntries.member.1.Id=a\
         &PublishBatchRequestEntries.member.1.Message=m1&PublishBatchRequestEntries.member.2.Id=b\
         &PublishBatchRequestEntries.member.2.Message=m2",
    );
    let v = decode(&m, op, &q).expect("decode");
    assert_eq!(v["PublishBatchRequestEntries"], json!([{"Id": "a", "Message": "m1"}, {"Id": "b", "Message": "m2"}]));
}

#[test]
fn sns_query_output_lists_and_maps() {
    let m = sns();
    let op = m.operation("ListTopics").expect("op");
    let xml =
        encode_response(&m, op, &json!({"Topics": [{"TopicArn": "a"}, {"TopicArn": "b"}], "NextToken": "n"}), "r");
    assert!(
        xml.contains("<Topics><member><TopicArn>a</TopicArn></member><member><TopicArn>b</TopicArn></member></Topics>")
            && xml.contains("<NextToken>n</NextToken>"),
        "{xml}"
    );
    let op = m.operation("GetTopicAttributes").expect("op");
    let xml = encode_response(&m, op, &json!({"Attributes": {"Owner": "1"}}), "r");
    assert!(xml.contains("<Attributes><entry><key>Owner</key><value>1</value></entry></Attributes>"), "{xml}");
    let (status, xml) = encode_error(&m, &AwsError::new("NotFoundException", "Topic does not exist"), "r");
    assert_eq!(status, 404);
    assert!(xml.contains("<Code>NotFound</Code>"), "{xml}");
}

// The DynamoDB DocumentClient of the AWS SDK for JavaScript v3 (@aws-sdk/lib-dynamodb) against
// the endpoint given as the first argument, on the table given as the second (key pk S, sk N):
// put, get, update with an expression, query, a transaction and a delete, as an application
// does. Prints what it read as one JSON line.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient, PutCommand, GetCommand, UpdateCommand, QueryCommand, DeleteCommand,
  TransactWriteCommand, BatchGetCommand,
} from "@aws-sdk/lib-dynamodb";

const [endpoint, TableName] = process.argv.slice(2);
const client = new DynamoDBClient({
  endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" },
});
const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });

await doc.send(new PutCommand({ TableName, Item: { pk: "user#1", sk: 1, name: "Ada", tags: new Set(["a", "b"]), nested: { langs: ["en", "fr"] } } }));
await doc.send(new PutCommand({ TableName, Item: { pk: "user#1", sk: 2, name: "Grace" } }));
const got = await doc.send(new GetCommand({ TableName, Key: { pk: "user#1", sk: 1 } }));
const updated = await doc.send(new UpdateCommand({
  TableName, Key: { pk: "user#1", sk: 1 }, UpdateExpression: "SET visits = if_not_exists(visits, :zero) + :one",
  ExpressionAttributeValues: { ":zero": 0, ":one": 1 }, ReturnValues: "ALL_NEW",
}));
let conditionFailed = false;
try {
  await doc.send(new PutCommand({ TableName, Item: { pk: "user#1", sk: 2 }, ConditionExpression: "attribute_not_exists(pk)" }));
} catch (e) {
  conditionFailed = e.name === "ConditionalCheckFailedException";
}
await doc.send(new TransactWriteCommand({ TransactItems: [
  { Put: { TableName, Item: { pk: "user#2", sk: 1, name: "Linus" } } },
  { Update: { TableName, Key: { pk: "user#1", sk: 2 }, UpdateExpression: "SET #n = :n", ExpressionAttributeNames: { "#n": "name" }, ExpressionAttributeValues: { ":n": "Grace H." } } },
] }));
const queried = await doc.send(new QueryCommand({
  TableName, KeyConditionExpression: "pk = :pk AND sk >= :from", ExpressionAttributeValues: { ":pk": "user#1", ":from": 1 },
}));
const batch = await doc.send(new BatchGetCommand({ RequestItems: { [TableName]: { Keys: [{ pk: "user#2", sk: 1 }] } } }));
await doc.send(new DeleteCommand({ TableName, Key: { pk: "user#2", sk: 1 } }));
const gone = await doc.send(new GetCommand({ TableName, Key: { pk: "user#2", sk: 1 } }));

console.log(JSON.stringify({
  got: { ...got.Item, tags: [...got.Item.tags].sort() },
  visits: updated.Attributes.visits,
  conditionFailed,
  queried: queried.Items.map((i) => [i.sk, i.name]),
  batch: batch.Responses[TableName].map((i) => i.name),
  gone: gone.Item === undefined,
}));

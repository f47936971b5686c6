// The Kinesis client of the AWS SDK for JavaScript v3 (@aws-sdk/client-kinesis) against the
// endpoint given as the first argument, with a stream name as the second. The client speaks
// HTTP/2 for every operation (its default handler is NodeHttp2Handler): it creates the stream,
// writes records, reads them back through an iterator, registers a consumer and reads the
// shard through SubscribeToShard's event stream. Prints what it read as one JSON line.
import {
  KinesisClient, CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand, GetShardIteratorCommand,
  GetRecordsCommand, RegisterStreamConsumerCommand, DescribeStreamConsumerCommand, SubscribeToShardCommand,
} from "@aws-sdk/client-kinesis";

const [endpoint, StreamName] = process.argv.slice(2);
const client = new KinesisClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
const text = (b) => new TextDecoder().decode(b);

await client.send(new CreateStreamCommand({ StreamName, ShardCount: 1 }));
const summary = (await client.send(new DescribeStreamSummaryCommand({ StreamName }))).StreamDescriptionSummary;
const put = await client.send(new PutRecordsCommand({ StreamName, Records: ["a", "b", "c"].map((d) => ({
  PartitionKey: "k", Data: new TextEncoder().encode(d) })) }));
const { ShardIterator } = await client.send(new GetShardIteratorCommand({
  StreamName, ShardId: "shardId-000000000000", ShardIteratorType: "TRIM_HORIZON" }));
const read = await client.send(new GetRecordsCommand({ ShardIterator }));
const consumer = (await client.send(new RegisterStreamConsumerCommand({ StreamARN: summary.StreamARN, ConsumerName: "js" }))).Consumer;
for (let i = 0; i < 100; i++) {
  const d = await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumer.ConsumerARN }));
  if (d.ConsumerDescription.ConsumerStatus === "ACTIVE") break;
  await new Promise((r) => setTimeout(r, 50));
}
const sub = await client.send(new SubscribeToShardCommand({
  ConsumerARN: consumer.ConsumerARN, ShardId: "shardId-000000000000", StartingPosition: { Type: "TRIM_HORIZON" } }));
let pushed = [];
for await (const event of sub.EventStream) {
  pushed = event.SubscribeToShardEvent.Records.map((r) => text(r.Data));
  break;
}
console.log(JSON.stringify({
  status: summary.StreamStatus, failed: put.FailedRecordCount, read: read.Records.map((r) => text(r.Data)),
  arrival: read.Records[0].ApproximateArrivalTimestamp instanceof Date, pushed,
}));
process.exit(0);

//! Authorization cost per request: AWS's evaluation flow over ten identity policies (with
//! conditions and policy variables) plus a permissions boundary, for an allowed and a denied
//! request. Prints median and mean nanoseconds per decision.
//!
//!     cargo run --release -p stratus-iam --example policy_bench

use std::hint::black_box;
use std::time::Instant;

use stratus_iam::policy::{Caller, Context, Decide, Policy, PolicyKind, Request, explain};

const ACCOUNT: &str = "123456789012";

fn policies() -> Result<Vec<Policy>, String> {
    let mut docs: Vec<String> = (0..8)
        .map(|n| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["sns:Publish","logs:PutLogEvents"],
                "Resource":"arn:aws:sns:us-east-1:{ACCOUNT}:topic-{n}-*","Condition":{{"StringLike":{{"aws:username":"bench*"}}}}}}]}}"#
            )
        })
        .collect();
    docs.push(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sns:GetTopicAttributes","sns:List*"],"Resource":"*"}]}"#.into());
    docs.push(format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["sqs:SendMessage","sqs:GetQueueUrl"],
        "Resource":"arn:aws:sqs:us-east-1:{ACCOUNT}:${{aws:username}}-*","Condition":{{"StringEquals":{{"aws:RequestedRegion":"us-east-1"}},
        "IpAddressIfExists":{{"aws:SourceIp":"127.0.0.0/8"}}}}}}]}}"#
    ));
    docs.iter().map(|d| Policy::parse(d, PolicyKind::Identity).map_err(|e| e.message)).collect()
}

fn time(label: &str, n: usize, mut f: impl FnMut() -> bool) {
    let mut samples = Vec::with_capacity(n);
    let mut allowed = 0;
    for _ in 0..n {
        let t = Instant::now();
        allowed += usize::from(black_box(f()));
        samples.push(t.elapsed().as_nanos() as u64);
    }
    samples.sort_unstable();
    let mean = samples.iter().sum::<u64>() as f64 / n as f64;
    println!("{label:<40} median {:>6} ns   mean {:>8.0} ns   ({allowed}/{n} allowed)", samples[n / 2], mean);
}

fn main() -> Result<(), String> {
    let identity = policies()?;
    let refs: Vec<&Policy> = identity.iter().collect();
    let boundary = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:*","sns:*"],"Resource":"*"}]}"#,
        PolicyKind::Boundary,
    )
    .map_err(|e| e.message)?;
    let bounds = [&boundary];
    let caller = Caller::user(ACCOUNT, "/", "bench", "AIDAEXAMPLEEXAMPLE01");
    let mut context = Context::new();
    context.insert("aws:RequestedRegion", "us-east-1");
    context.insert("aws:SourceIp", "127.0.0.1");
    let allowed_resource = format!("arn:aws:sqs:us-east-1:{ACCOUNT}:bench-jobs");
    let denied_resource = format!("arn:aws:sqs:us-east-1:{ACCOUNT}:other");
    for (label, resource) in
        [("allowed (10 policies + boundary)", &allowed_resource), ("denied (10 policies + boundary)", &denied_resource)]
    {
        let request = Request { principal: &caller, action: "sqs:SendMessage", resource, context: &context };
        let input = Decide {
            request: &request,
            identity: &refs,
            resource: None,
            resource_account: None,
            boundary: Some(&bounds),
            session: None,
        };
        time(label, 200_000, || explain(black_box(&input)).denial.is_none());
    }
    Ok(())
}

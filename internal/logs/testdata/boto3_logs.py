"""Reads a Hearth server's CloudWatch Logs API with boto3 and prints what it
saw as JSON. Usage: HEARTH_URL=http://... python3 boto3_logs.py"""
import json
import os

import boto3
import botocore.exceptions

c = boto3.client(
    "logs",
    endpoint_url=os.environ["HEARTH_URL"],
    region_name="us-east-1",
    aws_access_key_id="AKIDEXAMPLE",
    aws_secret_access_key="secret",
)
group = "/aws/sagemaker/Endpoints/my-ep"
out = {}
out["groups"] = [
    (g["logGroupName"], g["arn"], g["storedBytes"])
    for page in c.get_paginator("describe_log_groups").paginate(logGroupNamePrefix="/aws/sagemaker/Endpoints/")
    for g in page["logGroups"]
]
out["streams"] = [
    s["logStreamName"]
    for page in c.get_paginator("describe_log_streams").paginate(logGroupName=group, orderBy="LastEventTime", descending=True)
    for s in page["logStreams"]
]
# Read a stream forward from its head, two events at a time, until the token stops moving.
msgs, token = [], None
while True:
    kw = {"nextToken": token} if token else {}
    r = c.get_log_events(logGroupName=group, logStreamName="AllTraffic/w-1", startFromHead=True, limit=2, **kw)
    msgs += [e["message"] for e in r["events"]]
    if r["nextForwardToken"] == token:
        break
    token = r["nextForwardToken"]
out["forward"] = msgs
out["traceback"] = [
    (e["logStreamName"], e["message"])
    for page in c.get_paginator("filter_log_events").paginate(logGroupName=group, filterPattern='"Traceback"', interleaved=True)
    for e in page["events"]
]
c.put_retention_policy(logGroupName=group, retentionInDays=14)
out["retention"] = c.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"]
errors = {}
for name, call in [
    ("bad_retention", lambda: c.put_retention_policy(logGroupName=group, retentionInDays=10)),
    ("no_group", lambda: c.get_log_events(logGroupName="/nope", logStreamName="x")),
    ("bad_pattern", lambda: c.filter_log_events(logGroupName=group, filterPattern='{ $.x = 1 }')),
]:
    try:
        call()
        errors[name] = None
    except c.exceptions.ResourceNotFoundException as e:
        errors[name] = ["ResourceNotFoundException(modeled)", e.response["Error"]["Message"]]
    except c.exceptions.InvalidParameterException as e:
        errors[name] = ["InvalidParameterException(modeled)", e.response["Error"]["Message"]]
    except botocore.exceptions.ClientError as e:
        errors[name] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
out["errors"] = errors
c.delete_log_group(logGroupName=group)
out["after_delete"] = [g["logGroupName"] for g in c.describe_log_groups()["logGroups"]]
print(json.dumps(out))

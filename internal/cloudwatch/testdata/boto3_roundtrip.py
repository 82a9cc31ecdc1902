# Round trip through boto3: put, read back with every read operation, and
# provoke a validation error. Usage:
# boto3_roundtrip.py json|query|smithy-rpc-v2-cbor, with
# HEARTH_URL set. "query" and "smithy-rpc-v2-cbor" make botocore speak
# that protocol by loading a copy of its CloudWatch model restricted to it.
import datetime, json, os, sys, tempfile
proto = sys.argv[1]
if proto != "json":
    import botocore.loaders
    model = botocore.loaders.create_loader().load_service_model("cloudwatch", "service-2")
    model["metadata"]["protocol"] = proto
    model["metadata"]["protocols"] = [proto]
    d = tempfile.mkdtemp()
    os.makedirs(os.path.join(d, "cloudwatch", model["metadata"]["apiVersion"]))
    with open(os.path.join(d, "cloudwatch", model["metadata"]["apiVersion"], "service-2.json"), "w") as f:
        json.dump(model, f)
    os.environ["AWS_DATA_PATH"] = d
import boto3
from botocore.exceptions import ClientError
cw = boto3.session.Session().client("cloudwatch", endpoint_url=os.environ["HEARTH_URL"], region_name="us-east-1",
    aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
out = {"protocol": cw.meta.service_model.resolved_protocol}
t0 = datetime.datetime(2024, 3, 1, 10, 0, 0, tzinfo=datetime.timezone.utc)
ns = "Boto/" + proto.split("-")[0]
dims = [{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": "AllTraffic"}]
cw.put_metric_data(Namespace=ns, MetricData=[
    {"MetricName": "Latency", "Dimensions": dims, "Timestamp": t0 + datetime.timedelta(seconds=i), "Value": float(i), "Unit": "Milliseconds"}
    for i in range(1, 11)])
r = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=dims, StartTime=t0,
    EndTime=t0 + datetime.timedelta(minutes=1), Period=60, Statistics=["Sum", "SampleCount", "Maximum"])
out["label"] = r["Label"]
out["gms"] = [{"ts": dp["Timestamp"].isoformat(), "sum": dp["Sum"], "count": dp["SampleCount"], "max": dp["Maximum"], "unit": dp["Unit"]} for dp in r["Datapoints"]]
out["request_id"] = r["ResponseMetadata"]["RequestId"]
r = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=dims, StartTime=t0,
    EndTime=t0 + datetime.timedelta(minutes=1), Period=60, ExtendedStatistics=["p50", "p90"])
out["pct"] = r["Datapoints"][0]["ExtendedStatistics"]
r = cw.get_metric_data(StartTime=t0, EndTime=t0 + datetime.timedelta(minutes=1), ScanBy="TimestampAscending", MetricDataQueries=[
    {"Id": "m1", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Latency", "Dimensions": dims}, "Period": 5, "Stat": "Sum"}}])
res = r["MetricDataResults"][0]
out["gmd"] = {"id": res["Id"], "label": res["Label"], "status": res["StatusCode"], "values": res["Values"],
              "ts": [t.isoformat() for t in res["Timestamps"]]}
out["list"] = [[m["MetricName"], sorted(d["Name"] for d in m["Dimensions"])] for m in cw.list_metrics(Namespace=ns)["Metrics"]]
try:
    cw.get_metric_statistics(Namespace=ns, MetricName="Latency", StartTime=t0, EndTime=t0 + datetime.timedelta(minutes=1), Period=7, Statistics=["Sum"])
except ClientError as e:
    out["error"] = {"code": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"], "message": e.response["Error"]["Message"]}
# NaN and the infinities: AWS's JSON protocols carry them as strings; CloudWatch refuses them.
out["special"] = {}
for name, v in [("nan", float("nan")), ("inf", float("inf")), ("-inf", float("-inf"))]:
    try:
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Special", "Value": v}])
        out["special"][name] = "accepted"
    except ClientError as e:
        out["special"][name] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
out["special"]["listed"] = [m["MetricName"] for m in cw.list_metrics(Namespace=ns, MetricName="Special")["Metrics"]]
cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Bare", "Value": 1.0}])
out["bare"] = [m.get("Dimensions", "absent") for m in cw.list_metrics(Namespace=ns, MetricName="Bare")["Metrics"]]
try:
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Both", "Value": 1.0, "Values": [2.0]}])
except ClientError as e:
    out["both"] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
print(json.dumps(out))

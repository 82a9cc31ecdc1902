# Metric alarms through boto3 in one protocol: create, describe, set state,
# history, alarms for a metric, errors, delete. Usage:
# boto3_alarms.py json|query|smithy-rpc-v2-cbor, with HEARTH_URL set.
import json, os, sys, tempfile
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
dims = [{"Name": "EndpointName", "Value": "ep"}]
cw.put_metric_alarm(AlarmName="a1", Namespace="AWS/SageMaker", MetricName="Invocations", Dimensions=dims, Statistic="Sum",
    Period=60, EvaluationPeriods=2, Threshold=float("1.5"), ComparisonOperator="GreaterThanOrEqualToThreshold",
    TreatMissingData="notBreaching", AlarmActions=["arn:aws:sns:us-east-1:000000000000:t"], Tags=[{"Key": "k", "Value": "v"}])
cw.put_metric_alarm(AlarmName="a2", Namespace="AWS/SageMaker", MetricName="ModelLatency", Dimensions=dims, ExtendedStatistic="p90",
    Period=120, EvaluationPeriods=1, Threshold=1000.0, ComparisonOperator="LessThanThreshold", ActionsEnabled=False)
r = cw.describe_alarms(AlarmNamePrefix="a")
out["alarms"] = [[a["AlarmName"], a["StateValue"], a.get("Statistic", a.get("ExtendedStatistic")), a["Threshold"], a["ActionsEnabled"],
                  a["AlarmActions"], a.get("TreatMissingData", "")] for a in r["MetricAlarms"]]
cw.set_alarm_state(AlarmName="a1", StateValue="ALARM", StateReason="by hand", StateReasonData='{"x": 1}')
a = cw.describe_alarms(AlarmNames=["a1"], StateValue="ALARM")["MetricAlarms"][0]
out["set"] = [a["StateValue"], a["StateReason"], a["StateReasonData"]]
out["history"] = [[h["HistoryItemType"], h["HistorySummary"]] for h in cw.describe_alarm_history(AlarmName="a1", ScanBy="TimestampAscending")["AlarmHistoryItems"]]
out["for_metric"] = [a["AlarmName"] for a in cw.describe_alarms_for_metric(Namespace="AWS/SageMaker", MetricName="ModelLatency", Dimensions=dims)["MetricAlarms"]]
try:
    cw.delete_alarms(AlarmNames=["a1", "missing"])
except ClientError as e:
    out["error"] = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
cw.delete_alarms(AlarmNames=["a1", "a2"])
out["left"] = len(cw.describe_alarms()["MetricAlarms"])
print(json.dumps(out))

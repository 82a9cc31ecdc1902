"""The seed notebook's flow, with boto3, against a Hearth endpoint URL.

Creates the SageMaker XGBoost model from the training job's model.tar.gz,
an on-demand and a provisioned-concurrency serverless endpoint, invokes both
with the notebook's CSV row, and checks XGBoost's prediction comes back.

usage: seed_notebook.py ENDPOINT_URL MODEL_TAR_GZ PAYLOAD_CSV EXPECTED
"""
import sys
import time

import boto3

url, model_path, payload_path, expected = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="seed", aws_secret_access_key="seed")
sm = boto3.client("sagemaker", **kw)
rt = boto3.client("sagemaker-runtime", **kw)

image_uri = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
sm.create_model(
    ModelName="xgboost-serverless",
    ExecutionRoleArn="arn:aws:iam::000000000000:role/SageMakerRole",
    PrimaryContainer={"Image": image_uri, "ModelDataUrl": "file://" + model_path},
)
for name, serverless in [
    ("xgboost-ondemand", {"MemorySizeInMB": 4096, "MaxConcurrency": 1}),
    ("xgboost-provisioned", {"MemorySizeInMB": 4096, "MaxConcurrency": 1, "ProvisionedConcurrency": 1}),
]:
    sm.create_endpoint_config(
        EndpointConfigName=name + "-config",
        ProductionVariants=[{"VariantName": "byoVariant", "ModelName": "xgboost-serverless", "ServerlessConfig": serverless}],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name + "-config")

for name in ["xgboost-ondemand", "xgboost-provisioned"]:
    deadline = time.time() + 60
    while True:
        status = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
        if status == "InService":
            break
        if status == "Failed" or time.time() > deadline:
            sys.exit(f"{name}: {status} {sm.describe_endpoint(EndpointName=name).get('FailureReason')}")
        time.sleep(0.05)

payload = open(payload_path).read()
for name in ["xgboost-ondemand", "xgboost-provisioned"]:
    resp = rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=payload)
    got = float(resp["Body"].read().decode().strip())
    if abs(got - expected) > 1e-5 * abs(expected):
        sys.exit(f"{name}: prediction {got}, XGBoost gives {expected}")
    assert resp["InvokedProductionVariant"] == "byoVariant", resp
    print(f"{name} {got}")

desc = sm.describe_endpoint(EndpointName="xgboost-provisioned")
pc = desc["ProductionVariants"][0]["CurrentServerlessConfig"]["ProvisionedConcurrency"]
assert pc == 1, desc
print("ok")

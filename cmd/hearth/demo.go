package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"hearth/internal/awserr"
	"hearth/internal/control"
)

// The seed example: SageMaker's XGBoost abalone model (legacy binary
// format, as a training job leaves it) and the CSV row its notebook sends.
var (
	//go:embed demo/model.tar.gz
	demoModel []byte
	//go:embed demo/payload.csv
	demoPayload []byte
)

const demoImage = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

// deployDemo creates the seed example's model and its two serverless
// endpoints — on-demand, and with provisioned concurrency 1 (4096 MB,
// MaxConcurrency 1, as in the seed) — unless they already exist.
func (s *server) deployDemo(ctx context.Context) (payloadPath string, err error) {
	dir := filepath.Join(s.dataDir, "demo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	modelPath := filepath.Join(dir, "model.tar.gz")
	payloadPath = filepath.Join(dir, "payload.csv")
	if err := os.WriteFile(modelPath, demoModel, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(payloadPath, demoPayload, 0o644); err != nil {
		return "", err
	}
	str := func(v string) *string { return &v }
	i32 := func(v int32) *int32 { return &v }
	ignoreExisting := func(err error) error {
		if e, ok := awserr.As(err); ok && strings.HasPrefix(e.Message, "Cannot create already existing") {
			return nil
		}
		return err
	}
	_, err = s.control.CreateModel(ctx, &control.CreateModelInput{
		ModelName:        str("demo-xgboost-abalone"),
		PrimaryContainer: &control.ContainerDefinition{Image: str(demoImage), ModelDataUrl: str("file://" + modelPath)},
	})
	if err := ignoreExisting(err); err != nil {
		return "", fmt.Errorf("demo model: %w", err)
	}
	for _, ep := range []struct {
		name string
		pc   *int32
	}{{"demo-ondemand", nil}, {"demo-provisioned", i32(1)}} {
		_, err := s.control.CreateEndpointConfig(ctx, &control.CreateEndpointConfigInput{
			EndpointConfigName: str(ep.name + "-config"),
			ProductionVariants: []control.ProductionVariant{{
				VariantName: str("AllTraffic"), ModelName: str("demo-xgboost-abalone"),
				ServerlessConfig: &control.ServerlessConfig{MemorySizeInMB: i32(4096), MaxConcurrency: i32(1), ProvisionedConcurrency: ep.pc},
			}},
		})
		if err := ignoreExisting(err); err != nil {
			return "", fmt.Errorf("demo endpoint config %s: %w", ep.name, err)
		}
		_, err = s.control.CreateEndpoint(ctx, &control.CreateEndpointInput{EndpointName: str(ep.name), EndpointConfigName: str(ep.name + "-config")})
		if err := ignoreExisting(err); err != nil {
			return "", fmt.Errorf("demo endpoint %s: %w", ep.name, err)
		}
	}
	return payloadPath, nil
}

// demoKeepWarm is --demo's keep-warm unless one is given: short enough
// that the printed bench shows a cold start after a one-minute idle gap.
const demoKeepWarm = time.Minute

// hearthCommand is how to run this binary again from the user's shell:
// the binary itself, or `go run ./cmd/hearth` when `go run` built it into
// a temporary directory that goes away with it.
func hearthCommand() string {
	exe, err := os.Executable()
	if err != nil || strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run ./cmd/hearth"
	}
	return exe
}

// printDemo prints snippets that invoke the demo endpoints; each works
// pasted into a fresh shell (it carries its region and credentials).
func printDemo(w io.Writer, addr, payloadPath string, keepWarm time.Duration) {
	url := "http://" + addr
	payload := strings.TrimSpace(string(demoPayload))
	hearth := hearthCommand()
	idle := keepWarm + 10*time.Second
	fmt.Fprintf(w, `
Demo: the seed's XGBoost abalone model is deployed twice —
  demo-provisioned  serverless, 4096 MB, MaxConcurrency 1, ProvisionedConcurrency 1 (always warm)
  demo-ondemand     serverless, 4096 MB, MaxConcurrency 1 (cold after %s idle; --keep-warm)

Invoke them with the AWS CLI (dev mode accepts any credentials):
  export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_DEFAULT_REGION=us-east-1
  aws --endpoint-url %s sagemaker-runtime invoke-endpoint --endpoint-name demo-provisioned \
      --content-type text/csv --body fileb://%s /dev/stdout
  aws --endpoint-url %s sagemaker-runtime invoke-endpoint --endpoint-name demo-ondemand \
      --content-type text/csv --body fileb://%s /dev/stdout

with hearth itself:
  %s invoke demo-provisioned --endpoint-url %s --content-type text/csv --body @%s

or with boto3:
  python3 -c 'import boto3; rt = boto3.client("sagemaker-runtime", endpoint_url="%s", region_name="us-east-1", aws_access_key_id="demo", aws_secret_access_key="demo"); print(rt.invoke_endpoint(EndpointName="demo-provisioned", ContentType="text/csv", Body=%q)["Body"].read().decode())'

Cold start against provisioned concurrency, after %s idle (about %s):
  %s bench coldstart --endpoint-url %s --endpoints demo-provisioned,demo-ondemand --idle %s --rounds 1 --body %q
The seed's own experiment (10 idle minutes, 5 rounds: 50 minutes) needs a server with --keep-warm 5m or less:
  %s bench coldstart --endpoint-url %s --endpoints demo-provisioned,demo-ondemand --idle 10m --rounds 5 --body %q
`, keepWarm, url, payloadPath, url, payloadPath, hearth, url, payloadPath, url, payload,
		idle, idle+5*time.Second, hearth, url, idle, payload, hearth, url, payload)
}

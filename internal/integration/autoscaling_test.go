package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// awsCLI runs the pip-installed AWS CLI against the server.
func awsCLI(t *testing.T, s *server, args ...string) string {
	t.Helper()
	cmd := exec.Command("aws", append([]string{"--endpoint-url", s.url(), "--region", "us-east-1", "--output", "json"}, args...)...)
	cmd.Env = append(cmd.Environ(), "AWS_ACCESS_KEY_ID=seed", "AWS_SECRET_ACCESS_KEY=seed", "AWS_DEFAULT_REGION=us-east-1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func currentPC(t *testing.T, s *server, name string) int32 {
	t.Helper()
	out, err := s.sagemaker().DescribeEndpoint(context.Background(), &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToInt32(out.ProductionVariants[0].CurrentServerlessConfig.ProvisionedConcurrency)
}

// TestSeedAutoScalingCommands runs the seed's three AWS CLI commands
// verbatim (but for --endpoint-url), then shows real load raising
// provisioned concurrency and its end returning it to the minimum, with
// 1-second metric periods.
func TestSeedAutoScalingCommands(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the aws CLI is not installed")
	}
	t.Parallel()
	s := startServer(t, "--metric-period", "1s")
	deployEcho(t, s, "pc-ep", 4, 1, nil)
	const rid = "endpoint/pc-ep/variant/AllTraffic"
	awsCLI(t, s, "application-autoscaling", "register-scalable-target",
		"--service-namespace", "sagemaker", "--resource-id", rid,
		"--scalable-dimension", "sagemaker:variant:DesiredProvisionedConcurrency",
		"--min-capacity", "1", "--max-capacity", "4")
	out := awsCLI(t, s, "application-autoscaling", "put-scaling-policy",
		"--policy-name", "pc-utilization", "--service-namespace", "sagemaker", "--resource-id", rid,
		"--scalable-dimension", "sagemaker:variant:DesiredProvisionedConcurrency",
		"--policy-type", "TargetTrackingScaling",
		"--target-tracking-scaling-policy-configuration",
		`{"TargetValue": 0.5, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantProvisionedConcurrencyUtilization"}, "ScaleInCooldown": 1, "ScaleOutCooldown": 1}`)
	var pol struct {
		PolicyARN string
		Alarms    []struct{ AlarmName string }
	}
	if err := json.Unmarshal([]byte(out), &pol); err != nil || !strings.Contains(pol.PolicyARN, ":scalingPolicy:") || len(pol.Alarms) != 2 {
		t.Fatalf("put-scaling-policy answered %s (%v)", out, err)
	}
	awsCLI(t, s, "application-autoscaling", "put-scheduled-action",
		"--service-namespace", "sagemaker", "--resource-id", rid,
		"--scalable-dimension", "sagemaker:variant:DesiredProvisionedConcurrency",
		"--scheduled-action-name", "lunch-peak", "--schedule", "cron(15 12 * * ? *)",
		"--scalable-target-action", "MinCapacity=1,MaxCapacity=4")
	out = awsCLI(t, s, "application-autoscaling", "describe-scheduled-actions", "--service-namespace", "sagemaker")
	if !strings.Contains(out, `"cron(15 12 * * ? *)"`) || !strings.Contains(out, `"lunch-peak"`) {
		t.Fatalf("describe-scheduled-actions: %s", out)
	}

	// Load: two clients keep the one provisioned worker (and more) busy.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < 3; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Post(s.url()+"/endpoints/pc-ep/invocations", "text/plain", strings.NewReader("sleep 100ms"))
				if err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for currentPC(t, s, "pc-ep") < 2 {
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatalf("provisioned concurrency never rose under load; activities:\n%s",
				awsCLI(t, s, "application-autoscaling", "describe-scaling-activities", "--service-namespace", "sagemaker"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	// Idle: 15 periods below 90% of target bring it back to the minimum.
	deadline = time.Now().Add(40 * time.Second)
	for currentPC(t, s, "pc-ep") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("provisioned concurrency %d did not return to 1 after load", currentPC(t, s, "pc-ep"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	out = awsCLI(t, s, "application-autoscaling", "describe-scaling-activities", "--service-namespace", "sagemaker")
	var acts struct {
		ScalingActivities []struct{ Description, Cause, StatusCode string }
	}
	if err := json.Unmarshal([]byte(out), &acts); err != nil {
		t.Fatal(err)
	}
	var sawHigh, sawLow bool
	for _, a := range acts.ScalingActivities {
		if a.StatusCode != "Successful" {
			t.Errorf("activity %+v did not succeed", a)
		}
		sawHigh = sawHigh || strings.Contains(a.Cause, "-AlarmHigh-") && strings.HasSuffix(a.Cause, "in state ALARM triggered policy pc-utilization")
		sawLow = sawLow || strings.Contains(a.Cause, "-AlarmLow-") && a.Description == "Setting desired provisioned concurrency to 1."
	}
	if !sawHigh || !sawLow {
		t.Fatalf("activities lack a scale-out and a scale-in to 1: %s", out)
	}
}

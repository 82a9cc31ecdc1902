package autoscaling_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"

	"hearth/internal/gateway"
)

// A scheduled action whose StartTime was given as a far-future date string
// is stored, then read back by every listing and by the loop, for this
// target and others: what can be stored can be read.
func TestFarFutureStartTimeStaysReadable(t *testing.T) {
	e := newSDKEnv(t)
	ctx := context.Background()
	for _, ep := range []string{"ep", "ep2"} {
		if _, err := e.client.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns,
			ResourceId: aws.String("endpoint/" + ep + "/variant/AllTraffic"), ScalableDimension: dim,
			MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(4)}); err != nil {
			t.Fatal(err)
		}
	}
	// As a hand-written JSON request sends it: a date string.
	srv := httptest.NewServer(gateway.New(gateway.Options{AutoScaling: gateway.AutoScalingOps(e.svc)}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"ServiceNamespace":"sagemaker",
		"ScheduledActionName":"far","ResourceId":"endpoint/ep/variant/AllTraffic",
		"ScalableDimension":"sagemaker:variant:DesiredProvisionedConcurrency","Schedule":"rate(1 hour)",
		"StartTime":"7000-01-10","ScalableTargetAction":{"MinCapacity":2}}`))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AnyScaleFrontendService.PutScheduledAction")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PutScheduledAction: %d", resp.StatusCode)
	}
	// Read back on the wire (the Go SDK's own epoch decoding overflows past
	// the year 2262, so the raw answer is what is checked).
	req, _ = http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"ServiceNamespace":"sagemaker"}`))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AnyScaleFrontendService.DescribeScheduledActions")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var described struct{ ScheduledActions []struct{ StartTime float64 } }
	if resp.StatusCode != 200 || json.Unmarshal(body, &described) != nil || len(described.ScheduledActions) != 1 ||
		time.Unix(int64(described.ScheduledActions[0].StartTime), 0).UTC().Year() != 7000 {
		t.Fatalf("DescribeScheduledActions: %d %s", resp.StatusCode, body)
	}
	// The loop still runs for everyone: a schedule on the other target fires.
	if _, err := e.client.PutScheduledAction(ctx, &aas.PutScheduledActionInput{ServiceNamespace: ns,
		ScheduledActionName: aws.String("soon"), ResourceId: aws.String("endpoint/ep2/variant/AllTraffic"), ScalableDimension: dim,
		Schedule:             aws.String("at(" + e.clock.Now().Add(time.Minute).Format("2006-01-02T15:04:05") + ")"),
		ScalableTargetAction: &aastypes.ScalableTargetAction{MinCapacity: aws.Int32(3)}}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	if err := e.svc.Tick(ctx, nil, e.clock.Now()); err != nil {
		t.Fatalf("Tick: %v", err)
	}
	if got := e.targets.provisioned("ep2/AllTraffic"); got != 3 {
		t.Fatalf("the other target's schedule did not fire: provisioned %d, want 3", got)
	}
}

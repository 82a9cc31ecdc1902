package integration

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"
	"github.com/aws/smithy-go"
)

// deployEcho creates an echo-worker model, a serverless config and an
// endpoint named name, and waits for InService.
func deployEcho(t *testing.T, s *server, name string, maxConc, pc int32, env map[string]string) {
	t.Helper()
	ctx := context.Background()
	sm := s.sagemaker()
	if _, err := sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName:        aws.String(name),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(echoBin), Environment: env},
	}); err != nil {
		t.Fatal(err)
	}
	sc := &smtypes.ProductionVariantServerlessConfig{MemorySizeInMB: aws.Int32(1024), MaxConcurrency: aws.Int32(maxConc)}
	if pc > 0 {
		sc.ProvisionedConcurrency = aws.Int32(pc)
	}
	if _, err := sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: aws.String(name),
		ProductionVariants: []smtypes.ProductionVariant{{VariantName: aws.String("AllTraffic"), ModelName: aws.String(name), ServerlessConfig: sc}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, sm, name, "InService")
}

func TestInvokeEndpointPassesTheContractThrough(t *testing.T) {
	s := startServer(t)
	deployEcho(t, s, "echo", 2, 1, nil)
	rt := s.runtime()
	out, err := rt.InvokeEndpoint(context.Background(), &sagemakerruntime.InvokeEndpointInput{
		EndpointName:     aws.String("echo"),
		Body:             []byte("1,2,3"),
		ContentType:      aws.String("text/csv"),
		Accept:           aws.String("application/json"),
		CustomAttributes: aws.String("trace=abc"),
		InferenceId:      aws.String("req-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Body, ContentType, Accept string }
	if err := json.Unmarshal(out.Body, &got); err != nil {
		t.Fatalf("body %s: %v", out.Body, err)
	}
	if got.Body != "1,2,3" || got.ContentType != "text/csv" || got.Accept != "application/json" {
		t.Fatalf("worker saw %+v", got)
	}
	if aws.ToString(out.InvokedProductionVariant) != "AllTraffic" || aws.ToString(out.ContentType) != "application/json" ||
		aws.ToString(out.CustomAttributes) != "echo:trace=abc" {
		t.Fatalf("response metadata: variant %q content type %q custom attributes %q",
			aws.ToString(out.InvokedProductionVariant), aws.ToString(out.ContentType), aws.ToString(out.CustomAttributes))
	}
}

func TestInvokeErrorsAreShapedAsSageMakerRuntimes(t *testing.T) {
	s := startServer(t)
	deployEcho(t, s, "echo", 1, 0, nil)
	rt := s.runtime()
	ctx := context.Background()

	_, err := rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("nope"), Body: []byte("x")})
	var ve *rttypes.ValidationError
	if !errors.As(err, &ve) || aws.ToString(ve.Message) != "Endpoint nope of account 000000000000 not found." {
		t.Fatalf("unknown endpoint: %v", err)
	}

	_, err = rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("echo"), Body: []byte("status 400")})
	var me *rttypes.ModelError
	if !errors.As(err, &me) {
		t.Fatalf("model 400: %v, want ModelError", err)
	}
	if aws.ToInt32(me.OriginalStatusCode) != 400 || aws.ToString(me.OriginalMessage) != "status 400" ||
		!strings.HasPrefix(aws.ToString(me.Message), `Received client error (400) from primary with message "status 400".`) ||
		!strings.HasSuffix(aws.ToString(me.LogStreamArn), ":log-group:/aws/sagemaker/Endpoints/echo") {
		t.Fatalf("ModelError fields: %+v", me)
	}
	_, err = rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("echo"), Body: []byte("status 503")})
	if !errors.As(err, &me) || !strings.HasPrefix(aws.ToString(me.Message), "Received server error (503)") {
		t.Fatalf("model 503: %v", err)
	}

	big := make([]byte, 4<<20+1)
	_, err = rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("echo"), Body: big})
	if !errors.As(err, &ve) || !strings.Contains(aws.ToString(ve.Message), "exceeds") {
		t.Fatalf("5 MB payload on a serverless variant: %v", err)
	}

	_, err = rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("echo"), Body: []byte("crash")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ModelError" {
		t.Fatalf("crashing worker: %v", err)
	}
	// The endpoint survives: the next request starts a new worker.
	if _, err := rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("echo"), Body: []byte("x")}); err != nil {
		t.Fatalf("after crash: %v", err)
	}
}

func TestThrottlingThroughTheAPI(t *testing.T) {
	s := startServer(t)
	deployEcho(t, s, "echo", 2, 0, nil)
	// Raw HTTP, so client retries do not hide the throttle.
	post := func(body string) (*http.Response, []byte) {
		resp, err := http.Post(s.url()+"/endpoints/echo/invocations", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return nil, nil
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, b
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	var throttleBody string
	var throttleType string
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, b := post("sleep 1500ms")
			if resp == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			codes[resp.StatusCode]++
			if resp.StatusCode == http.StatusTooManyRequests {
				throttleBody, throttleType = string(b), resp.Header.Get("X-Amzn-ErrorType")
			}
		}()
	}
	wg.Wait()
	if codes[200] != 2 || codes[429] != 4 {
		t.Fatalf("status counts %v, want 2×200 and 4×429", codes)
	}
	if throttleType != "ThrottlingException" || !strings.Contains(throttleBody, "echo") || !strings.Contains(throttleBody, "2") {
		t.Fatalf("throttle answer %s %s should be a ThrottlingException naming the endpoint and MaxConcurrency", throttleType, throttleBody)
	}
	// Once the burst is over the endpoint serves again.
	_, err := s.runtime().InvokeEndpoint(context.Background(), &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("echo"), Body: []byte("x")})
	if err != nil {
		t.Fatalf("after the burst: %v", err)
	}
}

func TestServedByHeaderTellsWarmFromCold(t *testing.T) {
	s := startServer(t)
	deployEcho(t, s, "pc", 2, 1, nil)
	deployEcho(t, s, "od", 2, 0, nil)
	served := func(ep string) string {
		resp, err := http.Post(s.url()+"/endpoints/"+ep+"/invocations", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-Hearth-Served-By")
	}
	if got := served("pc"); got != "warm-provisioned" {
		t.Fatalf("provisioned endpoint served %q", got)
	}
	if got := served("od"); got != "warm-on-demand" {
		t.Fatalf("on-demand endpoint right after deploy served %q, want warm-on-demand (the worker that proved the model starts)", got)
	}
}

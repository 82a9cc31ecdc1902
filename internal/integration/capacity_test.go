package integration

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
)

func TestUpdateEndpointWeightsAndCapacitiesScalesProvisionedConcurrency(t *testing.T) {
	s := startServer(t)
	deployEcho(t, s, "cap", 4, 1, nil)
	sm := s.sagemaker()
	ctx := context.Background()
	update := func(pc int32) error {
		_, err := sm.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{
			EndpointName: aws.String("cap"),
			DesiredWeightsAndCapacities: []smtypes.DesiredWeightAndCapacity{{
				VariantName:            aws.String("AllTraffic"),
				ServerlessUpdateConfig: &smtypes.ProductionVariantServerlessUpdateConfig{ProvisionedConcurrency: aws.Int32(pc)},
			}},
		})
		return err
	}
	if err := update(3); err != nil {
		t.Fatal(err)
	}
	out := waitStatus(t, sm, "cap", "InService")
	sc := out.ProductionVariants[0].CurrentServerlessConfig
	if aws.ToInt32(sc.ProvisionedConcurrency) != 3 || aws.ToInt32(sc.MaxConcurrency) != 4 || aws.ToInt32(sc.MemorySizeInMB) != 1024 {
		t.Fatalf("current serverless config after update: %+v", *sc)
	}
	// Three requests at once are all served warm by provisioned workers.
	results := make(chan string, 3)
	for i := 0; i < 3; i++ {
		go func() {
			resp, err := http.Post(s.url()+"/endpoints/cap/invocations", "text/plain", strings.NewReader("sleep 300ms"))
			if err != nil {
				results <- err.Error()
				return
			}
			resp.Body.Close()
			results <- resp.Header.Get("X-Hearth-Served-By")
		}()
	}
	for i := 0; i < 3; i++ {
		if got := <-results; got != "warm-provisioned" {
			t.Fatalf("concurrent request served %q, want warm-provisioned", got)
		}
	}
	// ProvisionedConcurrency above MaxConcurrency is refused, and nothing changes.
	err := update(5)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || !strings.Contains(ae.ErrorMessage(), "MaxConcurrency") {
		t.Fatalf("PC 5 > MaxConcurrency 4: %v", err)
	}
	out = waitStatus(t, sm, "cap", "InService")
	if got := aws.ToInt32(out.ProductionVariants[0].CurrentServerlessConfig.ProvisionedConcurrency); got != 3 {
		t.Fatalf("PC after refused update = %d, want 3", got)
	}
	// Unknown variant.
	_, err = sm.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{
		EndpointName:                aws.String("cap"),
		DesiredWeightsAndCapacities: []smtypes.DesiredWeightAndCapacity{{VariantName: aws.String("Other"), DesiredWeight: aws.Float32(1)}},
	})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
		t.Fatalf("unknown variant: %v", err)
	}
	// NaN and infinite weights arrive as the JSON strings "NaN" and
	// "Infinity" and are refused naming the field.
	for _, w := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		_, err = sm.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{
			EndpointName:                aws.String("cap"),
			DesiredWeightsAndCapacities: []smtypes.DesiredWeightAndCapacity{{VariantName: aws.String("AllTraffic"), DesiredWeight: aws.Float32(w)}},
		})
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || !strings.Contains(ae.ErrorMessage(), "desiredWeightsAndCapacities.1.member.desiredWeight") {
			t.Fatalf("weight %v: %v", w, err)
		}
	}
}

// TestProvisionedConcurrencyBeyondTheMemoryBudgetIsRefused: always-warm
// workers that cannot fit the host's memory budget are refused up front
// with ResourceLimitExceeded, at CreateEndpoint and at capacity changes.
func TestProvisionedConcurrencyBeyondTheMemoryBudgetIsRefused(t *testing.T) {
	s := startServer(t, "--memory-budget", "3GiB")
	deployEcho(t, s, "fits", 4, 2, nil) // 2 × 1024 MB
	sm := s.sagemaker()
	ctx := context.Background()
	_, err := sm.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{
		EndpointName: aws.String("fits"),
		DesiredWeightsAndCapacities: []smtypes.DesiredWeightAndCapacity{{VariantName: aws.String("AllTraffic"),
			ServerlessUpdateConfig: &smtypes.ProductionVariantServerlessUpdateConfig{ProvisionedConcurrency: aws.Int32(4)}}},
	})
	var rle *smtypes.ResourceLimitExceeded
	if !errors.As(err, &rle) || !strings.Contains(aws.ToString(rle.Message), "memory budget") {
		t.Fatalf("PC 4 × 1024 MB on a 3 GiB budget: %v", err)
	}
	if got := currentPC(t, s, "fits"); got != 2 {
		t.Fatalf("refused update changed provisioned concurrency to %d", got)
	}
	if _, err := sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("big"),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(echoBin)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("big"),
		ProductionVariants: []smtypes.ProductionVariant{{VariantName: aws.String("AllTraffic"), ModelName: aws.String("big"),
			ServerlessConfig: &smtypes.ProductionVariantServerlessConfig{MemorySizeInMB: aws.Int32(2048), MaxConcurrency: aws.Int32(2), ProvisionedConcurrency: aws.Int32(1)}}}}); err != nil {
		t.Fatal(err)
	}
	_, err = sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("big"), EndpointConfigName: aws.String("big")})
	if !errors.As(err, &rle) {
		t.Fatalf("2048 MB of provisioned workers next to 2048 MB on a 3 GiB budget: %v", err)
	}
	if _, err := sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("big")}); err == nil {
		t.Fatal("a refused CreateEndpoint stored the endpoint")
	}
}

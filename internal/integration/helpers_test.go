package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/smithy-go"
)

// The region and account every test server reports in its ARNs.
const (
	testRegion  = "us-east-1"
	testAccount = "000000000000"
)

// arnOf is the ARN AWS gives a SageMaker resource: the name is lower-cased.
func arnOf(kind, name string) string {
	return fmt.Sprintf("arn:aws:sagemaker:%s:%s:%s/%s", testRegion, testAccount, kind, strings.ToLower(name))
}

// wantAPIError fails unless err is an AWS API error with the code and, when
// msg is not empty, exactly that message.
func wantAPIError(t *testing.T, err error, code, msg string) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want a %s API error", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code %q (%s), want %q", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	if msg != "" && ae.ErrorMessage() != msg {
		t.Fatalf("%s message:\n got %q\nwant %q", code, ae.ErrorMessage(), msg)
	}
	return ae
}

// httpStatus is the HTTP status of the response an SDK error came from, or 0.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// runtimeAs returns a SageMaker Runtime client signing with the given key.
func (s *server) runtimeAs(key, secret string) *sagemakerruntime.Client {
	return sagemakerruntime.NewFromConfig(s.awsConfig(key, secret), func(o *sagemakerruntime.Options) {
		o.BaseEndpoint = aws.String(s.url())
		o.RetryMaxAttempts = 1
	})
}

// createModel creates a model running echo-worker with env and tags.
func createModel(t *testing.T, sm *sagemaker.Client, name string, env map[string]string, tags ...smtypes.Tag) {
	t.Helper()
	_, err := sm.CreateModel(context.Background(), &sagemaker.CreateModelInput{
		ModelName:        aws.String(name),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(echoBin), Environment: env},
		Tags:             tags,
	})
	if err != nil {
		t.Fatalf("CreateModel %s: %v", name, err)
	}
}

// serverless is the single serverless variant "AllTraffic" of model; pc 0
// leaves ProvisionedConcurrency out.
func serverless(model string, memMB, maxConc, pc int32) []smtypes.ProductionVariant {
	sc := &smtypes.ProductionVariantServerlessConfig{MemorySizeInMB: aws.Int32(memMB), MaxConcurrency: aws.Int32(maxConc)}
	if pc > 0 {
		sc.ProvisionedConcurrency = aws.Int32(pc)
	}
	return []smtypes.ProductionVariant{{VariantName: aws.String("AllTraffic"), ModelName: aws.String(model), ServerlessConfig: sc}}
}

// instanceVariant is an instance-based variant.
func instanceVariant(name, model string, count int32, weight float32) smtypes.ProductionVariant {
	return smtypes.ProductionVariant{
		VariantName:          aws.String(name),
		ModelName:            aws.String(model),
		InstanceType:         smtypes.ProductionVariantInstanceTypeMlM5Large,
		InitialInstanceCount: aws.Int32(count),
		InitialVariantWeight: aws.Float32(weight),
	}
}

func createConfig(t *testing.T, sm *sagemaker.Client, name string, variants []smtypes.ProductionVariant, tags ...smtypes.Tag) {
	t.Helper()
	_, err := sm.CreateEndpointConfig(context.Background(), &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: aws.String(name),
		ProductionVariants: variants,
		Tags:               tags,
	})
	if err != nil {
		t.Fatalf("CreateEndpointConfig %s: %v", name, err)
	}
}

func createEndpoint(t *testing.T, sm *sagemaker.Client, name, config string, tags ...smtypes.Tag) {
	t.Helper()
	_, err := sm.CreateEndpoint(context.Background(), &sagemaker.CreateEndpointInput{
		EndpointName:       aws.String(name),
		EndpointConfigName: aws.String(config),
		Tags:               tags,
	})
	if err != nil {
		t.Fatalf("CreateEndpoint %s: %v", name, err)
	}
}

// waitGone polls DescribeEndpoint until it fails, and returns that error.
func waitGone(t *testing.T, sm *sagemaker.Client, name string) error {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := sm.DescribeEndpoint(context.Background(), &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
		if err != nil {
			return err
		}
		if out.EndpointStatus != smtypes.EndpointStatusDeleting {
			t.Fatalf("endpoint %s is %s after DeleteEndpoint, want Deleting until it is gone", name, out.EndpointStatus)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("endpoint %s still there after DeleteEndpoint", name)
	return nil
}

// inventory is everything the List operations show, one line per resource.
type inventory struct {
	Models, Configs, Endpoints []string
}

func stamp(t *time.Time) string { return aws.ToTime(t).UTC().Format(time.RFC3339Nano) }

// takeInventory lists every model, endpoint config and endpoint.
func takeInventory(t *testing.T, sm *sagemaker.Client) inventory {
	t.Helper()
	ctx := context.Background()
	var inv inventory
	models := sagemaker.NewListModelsPaginator(sm, &sagemaker.ListModelsInput{MaxResults: aws.Int32(100)})
	for models.HasMorePages() {
		p, err := models.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListModels: %v", err)
		}
		for _, m := range p.Models {
			inv.Models = append(inv.Models, strings.Join([]string{aws.ToString(m.ModelName), aws.ToString(m.ModelArn), stamp(m.CreationTime)}, " "))
		}
	}
	configs := sagemaker.NewListEndpointConfigsPaginator(sm, &sagemaker.ListEndpointConfigsInput{MaxResults: aws.Int32(100)})
	for configs.HasMorePages() {
		p, err := configs.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListEndpointConfigs: %v", err)
		}
		for _, c := range p.EndpointConfigs {
			inv.Configs = append(inv.Configs, strings.Join([]string{aws.ToString(c.EndpointConfigName), aws.ToString(c.EndpointConfigArn), stamp(c.CreationTime)}, " "))
		}
	}
	endpoints := sagemaker.NewListEndpointsPaginator(sm, &sagemaker.ListEndpointsInput{MaxResults: aws.Int32(100)})
	for endpoints.HasMorePages() {
		p, err := endpoints.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListEndpoints: %v", err)
		}
		for _, e := range p.Endpoints {
			inv.Endpoints = append(inv.Endpoints, strings.Join([]string{aws.ToString(e.EndpointName), aws.ToString(e.EndpointArn),
				stamp(e.CreationTime), stamp(e.LastModifiedTime), string(e.EndpointStatus)}, " "))
		}
	}
	return inv
}

// tagMap lists a resource's tags as a map.
func tagMap(t *testing.T, sm *sagemaker.Client, arn string) map[string]string {
	t.Helper()
	out, err := sm.ListTags(context.Background(), &sagemaker.ListTagsInput{ResourceArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListTags %s: %v", arn, err)
	}
	m := map[string]string{}
	for _, tg := range out.Tags {
		m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return m
}

func tag(k, v string) smtypes.Tag { return smtypes.Tag{Key: aws.String(k), Value: aws.String(v)} }

package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/google/go-cmp/cmp"
)

// violation is AWS's message for one field constraint failure.
func violation(value, path, constraint string) string {
	return fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, path, constraint)
}

// Constraint wordings and patterns as the SageMaker API model states them.
const (
	maxLen63      = "Member must have length less than or equal to 63"
	modelNameRule = `Member must satisfy regular expression pattern: ^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$`
	entityRule    = `Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`
	roleArnRule   = `Member must satisfy regular expression pattern: ^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`
	sc1           = "productionVariants.1.member.serverlessConfig."
)

func TestValidationRules(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	sm := s.sagemaker()
	ctx := context.Background()

	// The resources every request below is checked against.
	createModel(t, sm, "m", nil)
	createConfig(t, sm, "sl", serverless("m", 1024, 2, 0))
	createConfig(t, sm, "inst", []smtypes.ProductionVariant{instanceVariant("Blue", "m", 1, 1)})
	createEndpoint(t, sm, "ep", "sl")
	createEndpoint(t, sm, "iep", "inst")
	waitStatus(t, sm, "ep", "InService")
	waitStatus(t, sm, "iep", "InService")

	notExecutable := filepath.Join(t.TempDir(), "worker")
	if err := os.WriteFile(notExecutable, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// 64 characters: too long for every name, but each matches its pattern.
	long := strings.Repeat("a", 64)
	longDashed := "a" + strings.Repeat("--a", 21)

	model := func(name string, edit func(*sagemaker.CreateModelInput)) func() error {
		return func() error {
			in := &sagemaker.CreateModelInput{ModelName: aws.String(name), PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(echoBin)}}
			if edit != nil {
				edit(in)
			}
			_, err := sm.CreateModel(ctx, in)
			return err
		}
	}
	withImage := func(image string) func(*sagemaker.CreateModelInput) {
		return func(in *sagemaker.CreateModelInput) { in.PrimaryContainer.Image = aws.String(image) }
	}
	config := func(name string, variants ...smtypes.ProductionVariant) func() error {
		return func() error {
			_, err := sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String(name), ProductionVariants: variants})
			return err
		}
	}
	// sv is a serverless variant named AllTraffic of model m; pc 0 leaves
	// ProvisionedConcurrency out.
	sv := func(mem, maxConc, pc int32) smtypes.ProductionVariant { return serverless("m", mem, maxConc, pc)[0] }
	named := func(v smtypes.ProductionVariant, name string) smtypes.ProductionVariant {
		v.VariantName = aws.String(name)
		return v
	}
	endpoint := func(name, config string) func() error {
		return func() error {
			_, err := sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(config)})
			return err
		}
	}
	update := func(name, config string) func() error {
		return func() error {
			_, err := sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(config)})
			return err
		}
	}
	listModels := func(in sagemaker.ListModelsInput) func() error {
		return func() error { _, err := sm.ListModels(ctx, &in); return err }
	}
	listEndpoints := func(in sagemaker.ListEndpointsInput) func() error {
		return func() error { _, err := sm.ListEndpoints(ctx, &in); return err }
	}
	tags := make([]smtypes.Tag, 51)
	for i := range tags {
		tags[i] = tag(fmt.Sprintf("k%d", i), "v")
	}

	cases := []struct {
		name string
		call func() error
		// code is the error code; msg the exact message when AWS's wording
		// is known, else prefix and contains say what it must hold.
		code, msg, prefix string
		contains          []string
	}{
		// Names.
		{name: "model name too long", call: model(long, nil),
			msg: violation(long, "modelName", maxLen63)},
		{name: "model name with an underscore", call: model("bad_name", nil),
			msg: violation("bad_name", "modelName", modelNameRule)},
		{name: "model name ending in a hyphen", call: model("trailing-", nil),
			msg: violation("trailing-", "modelName", modelNameRule)},
		{name: "model name empty", call: model("", nil),
			msg: violation("", "modelName", modelNameRule)},
		{name: "endpoint config name too long", call: config(longDashed, sv(1024, 1, 0)),
			msg: violation(longDashed, "endpointConfigName", maxLen63)},
		{name: "endpoint config name too long and too many groups", call: config(long, sv(1024, 1, 0)),
			msg: "2 validation errors detected: " +
				"Value '" + long + "' at 'endpointConfigName' failed to satisfy constraint: " + maxLen63 + "; " +
				"Value '" + long + "' at 'endpointConfigName' failed to satisfy constraint: " + entityRule},
		{name: "endpoint config name with an underscore", call: config("bad_config", sv(1024, 1, 0)),
			msg: violation("bad_config", "endpointConfigName", entityRule)},
		{name: "endpoint name too long", call: endpoint(longDashed, "sl"),
			msg: violation(longDashed, "endpointName", maxLen63)},
		{name: "endpoint name starting with a hyphen", call: endpoint("-ep", "sl"),
			msg: violation("-ep", "endpointName", entityRule)},
		{name: "variant name too long", call: config("c", named(sv(1024, 1, 0), longDashed)),
			msg: violation(longDashed, "productionVariants.1.member.variantName", maxLen63)},
		{name: "variant name with an underscore", call: config("c", named(sv(1024, 1, 0), "All_Traffic")),
			msg: violation("All_Traffic", "productionVariants.1.member.variantName", entityRule)},

		// Serverless capacity.
		{name: "memory size between the allowed sizes", call: config("c", sv(1500, 1, 0)),
			prefix: "1 validation error detected: Value '1500' at '" + sc1 + "memorySizeInMB' failed to satisfy constraint: "},
		{name: "memory size below 1024", call: config("c", sv(512, 1, 0)),
			msg: violation("512", sc1+"memorySizeInMB", "Member must have value greater than or equal to 1024")},
		{name: "memory size above 6144", call: config("c", sv(7168, 1, 0)),
			msg: violation("7168", sc1+"memorySizeInMB", "Member must have value less than or equal to 6144")},
		{name: "max concurrency 0", call: config("c", sv(1024, 0, 0)),
			msg: violation("0", sc1+"maxConcurrency", "Member must have value greater than or equal to 1")},
		{name: "max concurrency 201", call: config("c", sv(1024, 201, 0)),
			msg: violation("201", sc1+"maxConcurrency", "Member must have value less than or equal to 200")},
		{name: "provisioned concurrency 0", call: config("c", func() smtypes.ProductionVariant {
			v := sv(1024, 2, 0)
			v.ServerlessConfig.ProvisionedConcurrency = aws.Int32(0)
			return v
		}()), msg: violation("0", sc1+"provisionedConcurrency", "Member must have value greater than or equal to 1")},
		{name: "provisioned concurrency 201", call: config("c", sv(1024, 200, 201)),
			msg: violation("201", sc1+"provisionedConcurrency", "Member must have value less than or equal to 200")},
		{name: "provisioned concurrency above max concurrency", call: config("c", sv(1024, 2, 3)),
			contains: []string{"ProvisionedConcurrency", "MaxConcurrency", "AllTraffic"}},

		// Variants.
		{name: "serverless config with a second variant", call: config("c", sv(1024, 1, 0), instanceVariant("Blue", "m", 1, 1)),
			contains: []string{"exactly one production variant"}},
		{name: "variant both serverless and instance-based", call: config("c", func() smtypes.ProductionVariant {
			v := sv(1024, 1, 0)
			v.InstanceType = smtypes.ProductionVariantInstanceTypeMlM5Large
			return v
		}()), contains: []string{"AllTraffic", "ServerlessConfig", "InstanceType"}},
		{name: "variant neither serverless nor instance-based", call: config("c", smtypes.ProductionVariant{VariantName: aws.String("Bare"), ModelName: aws.String("m")}),
			contains: []string{"Bare", "ServerlessConfig", "InstanceType"}},
		{name: "duplicate variant names", call: config("c", instanceVariant("Blue", "m", 1, 1), instanceVariant("Blue", "m", 1, 1)),
			contains: []string{"Blue", "repeated"}},
		{name: "variant names differing only in case", call: config("c", instanceVariant("Blue", "m", 1, 1), instanceVariant("BLUE", "m", 1, 1)),
			contains: []string{"repeated"}},
		{name: "variant without a model", call: config("c", func() smtypes.ProductionVariant {
			v := sv(1024, 1, 0)
			v.ModelName = nil
			return v
		}()), contains: []string{"ModelName", "AllTraffic"}},
		{name: "variant naming a missing model", call: config("c", serverless("nope", 1024, 1, 0)...),
			msg: `Could not find model "` + arnOf("model", "nope") + `".`},
		{name: "endpoint naming a missing config", call: endpoint("new", "nope"),
			msg: `Could not find endpoint configuration "` + arnOf("endpoint-config", "nope") + `".`},

		// Duplicates, also when only the case differs.
		{name: "duplicate model", call: model("M", nil),
			msg: `Cannot create already existing model "` + arnOf("model", "m") + `".`},
		{name: "duplicate endpoint config", call: config("SL", sv(1024, 1, 0)),
			msg: `Cannot create already existing endpoint configuration "` + arnOf("endpoint-config", "sl") + `".`},
		{name: "duplicate endpoint", call: endpoint("EP", "sl"),
			msg: `Cannot create already existing endpoint "` + arnOf("endpoint", "ep") + `".`},

		// Containers.
		{name: "environment key starting with a digit", call: model("c", func(in *sagemaker.CreateModelInput) {
			in.PrimaryContainer.Environment = map[string]string{"1BAD": "x"}
		}), prefix: "1 validation error detected: ",
			contains: []string{"at 'primaryContainer.environment' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z_][a-zA-Z0-9_]*]"}},
		{name: "image with a space", call: model("c", withImage("a b")),
			msg: violation("a b", "primaryContainer.image", `Member must satisfy regular expression pattern: [\S]+`)},
		{name: "image from a container registry", call: model("c", withImage("123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model:latest")),
			contains: []string{"my-model:latest", "cannot be used"}},
		{name: "image as a relative path", call: model("c", withImage("bin/worker")),
			contains: []string{"bin/worker", "cannot be used"}},
		{name: "image path that does not exist", call: model("c", withImage("/nonexistent/worker")),
			contains: []string{"/nonexistent/worker", "not found"}},
		{name: "image path that is not executable", call: model("c", withImage(notExecutable)),
			contains: []string{"not an executable"}},
		{name: "model data URL with ftp scheme", call: model("c", func(in *sagemaker.CreateModelInput) {
			in.PrimaryContainer.ModelDataUrl = aws.String("ftp://x")
		}), prefix: violation("ftp://x", "primaryContainer.modelDataUrl", `Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$`)},
		{name: "execution role that is a user", call: model("c", func(in *sagemaker.CreateModelInput) {
			in.ExecutionRoleArn = aws.String("arn:aws:iam::123456789012:user/someone")
		}), msg: violation("arn:aws:iam::123456789012:user/someone", "executionRoleArn", roleArnRule)},
		{name: "execution role too short", call: model("c", func(in *sagemaker.CreateModelInput) {
			in.ExecutionRoleArn = aws.String("arn:role")
		}), msg: "2 validation errors detected: " +
			"Value 'arn:role' at 'executionRoleArn' failed to satisfy constraint: Member must have length greater than or equal to 20; " +
			"Value 'arn:role' at 'executionRoleArn' failed to satisfy constraint: " + roleArnRule},
		{name: "51 tags at create", call: model("c", func(in *sagemaker.CreateModelInput) { in.Tags = tags }),
			prefix: "1 validation error detected: ", contains: []string{"at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"}},
		{name: "51 tags added", call: func() error {
			_, err := sm.AddTags(ctx, &sagemaker.AddTagsInput{ResourceArn: aws.String(arnOf("model", "m")), Tags: tags})
			return err
		}, prefix: "1 validation error detected: ", contains: []string{"at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"}},

		// Listing.
		{name: "max results 0", call: listModels(sagemaker.ListModelsInput{MaxResults: aws.Int32(0)}),
			msg: violation("0", "maxResults", "Member must have value greater than or equal to 1")},
		{name: "max results 101", call: listModels(sagemaker.ListModelsInput{MaxResults: aws.Int32(101)}),
			msg: violation("101", "maxResults", "Member must have value less than or equal to 100")},
		{name: "sort by an unknown key", call: listModels(sagemaker.ListModelsInput{SortBy: "Size"}),
			msg: violation("Size", "sortBy", "Member must satisfy enum value set: [Name, CreationTime]")},
		{name: "endpoints sorted by an unknown key", call: listEndpoints(sagemaker.ListEndpointsInput{SortBy: "Size"}),
			msg: violation("Size", "sortBy", "Member must satisfy enum value set: [Name, CreationTime, Status]")},
		{name: "sort order unknown", call: listModels(sagemaker.ListModelsInput{SortOrder: "Upwards"}),
			msg: violation("Upwards", "sortOrder", "Member must satisfy enum value set: [Ascending, Descending]")},
		{name: "name contains an underscore", call: listModels(sagemaker.ListModelsInput{NameContains: aws.String("a_b")}),
			msg: violation("a_b", "nameContains", "Member must satisfy regular expression pattern: [a-zA-Z0-9-]+")},
		{name: "status filter unknown", call: listEndpoints(sagemaker.ListEndpointsInput{StatusEquals: "Sleeping"}),
			msg: violation("Sleeping", "statusEquals", "Member must satisfy enum value set: [OutOfService, Creating, Updating, SystemUpdating, RollingBack, InService, Deleting, Failed, UpdateRollbackFailed]")},
		{name: "next token not from this server", call: listModels(sagemaker.ListModelsInput{NextToken: aws.String("garbage")}),
			contains: []string{"token"}},

		// Updates.
		{name: "instance-based endpoint updated to serverless", call: update("iep", "sl"),
			contains: []string{"serverless"}},
		{name: "update of a missing endpoint", call: update("nope", "sl"),
			msg: `Could not find endpoint "` + arnOf("endpoint", "nope") + `".`},
		{name: "update to a missing config", call: update("ep", "nope"),
			msg: `Could not find endpoint configuration "` + arnOf("endpoint-config", "nope") + `".`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := takeInventory(t, sm)
			code := c.code
			if code == "" {
				code = "ValidationException"
			}
			err := c.call()
			ae := wantAPIError(t, err, code, c.msg)
			if got := httpStatus(err); got != 400 {
				t.Errorf("HTTP status %d, want 400", got)
			}
			msg := ae.ErrorMessage()
			if !strings.HasPrefix(msg, c.prefix) {
				t.Errorf("message %q\nwant prefix %q", msg, c.prefix)
			}
			for _, sub := range c.contains {
				if !strings.Contains(msg, sub) {
					t.Errorf("message %q\nwant it to contain %q", msg, sub)
				}
			}
			if diff := cmp.Diff(before, takeInventory(t, sm)); diff != "" {
				t.Errorf("a refused request changed what is stored (-before +after):\n%s", diff)
			}
		})
	}
	// The refused update left the instance-based endpoint as it was.
	d := waitStatus(t, sm, "iep", "InService")
	if aws.ToString(d.EndpointConfigName) != "inst" {
		t.Fatalf("instance-based endpoint now runs %q", aws.ToString(d.EndpointConfigName))
	}
}

func TestUpdateOfInProgressEndpointIsRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	sm := s.sagemaker()
	ctx := context.Background()
	// Workers take a second to start: long enough to be caught in progress.
	createModel(t, sm, "slow", map[string]string{"ECHO_START_DELAY": "1s"})
	createConfig(t, sm, "first", serverless("slow", 1024, 1, 0))
	createConfig(t, sm, "second", serverless("slow", 2048, 1, 0))
	update := func(config string) error {
		_, err := sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String("Slow-EP"), EndpointConfigName: aws.String(config)})
		return err
	}
	inProgress := `Cannot update in-progress endpoint "` + arnOf("endpoint", "Slow-EP") + `".`

	createEndpoint(t, sm, "Slow-EP", "first")
	err := update("second")
	wantAPIError(t, err, "ValidationException", inProgress)
	if httpStatus(err) != 400 {
		t.Errorf("HTTP status %d, want 400", httpStatus(err))
	}
	d := waitStatus(t, sm, "Slow-EP", "InService")
	if aws.ToString(d.EndpointConfigName) != "first" {
		t.Fatalf("after a refused update while Creating the endpoint runs %q, want first", aws.ToString(d.EndpointConfigName))
	}

	if err := update("second"); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, update("first"), "ValidationException", inProgress)
	d = waitStatus(t, sm, "Slow-EP", "InService")
	if aws.ToString(d.EndpointConfigName) != "second" {
		t.Fatalf("after a refused update while Updating the endpoint runs %q, want second", aws.ToString(d.EndpointConfigName))
	}
}

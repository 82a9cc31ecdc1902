package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/google/go-cmp/cmp"
)

// between fails unless ts is set and lies between lo and hi, give or take
// a second: the API sends epoch seconds with milliseconds, which the Go SDK
// reads truncating (sometimes to one millisecond less), and the wall clock
// the server and the test share may be adjusted while they run. The check
// is that a time is the time of the call, not zero or from elsewhere.
func between(t *testing.T, what string, ts *time.Time, lo, hi time.Time) {
	t.Helper()
	if ts == nil || ts.IsZero() {
		t.Fatalf("%s is not set", what)
	}
	if ts.Before(lo.Add(-time.Second)) || ts.After(hi.Add(time.Second)) {
		t.Fatalf("%s = %s, want between %s and %s", what, ts.UTC(), lo.UTC(), hi.UTC())
	}
}

func TestModelCreateDescribeListDelete(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	sm := s.sagemaker()
	ctx := context.Background()

	before := time.Now()
	out, err := sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName:        aws.String("Echo-Model"),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(echoBin), Environment: map[string]string{"GREETING": "hello"}},
		ExecutionRoleArn: aws.String("arn:aws:iam::123456789012:role/SageMakerRole"),
	})
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	wantArn := "arn:aws:sagemaker:us-east-1:000000000000:model/echo-model"
	if got := aws.ToString(out.ModelArn); got != wantArn {
		t.Fatalf("ModelArn %q, want %q", got, wantArn)
	}

	for _, name := range []string{"Echo-Model", "echo-model"} {
		d, err := sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribeModel %s: %v", name, err)
		}
		if aws.ToString(d.ModelName) != "Echo-Model" || aws.ToString(d.ModelArn) != wantArn ||
			aws.ToString(d.ExecutionRoleArn) != "arn:aws:iam::123456789012:role/SageMakerRole" {
			t.Fatalf("DescribeModel %s: name %q arn %q role %q", name, aws.ToString(d.ModelName), aws.ToString(d.ModelArn), aws.ToString(d.ExecutionRoleArn))
		}
		if d.PrimaryContainer == nil || aws.ToString(d.PrimaryContainer.Image) != echoBin ||
			!cmp.Equal(d.PrimaryContainer.Environment, map[string]string{"GREETING": "hello"}) {
			t.Fatalf("DescribeModel %s: container %+v", name, d.PrimaryContainer)
		}
		between(t, "CreationTime", d.CreationTime, before, after)
	}

	_, err = sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName:        aws.String("ECHO-MODEL"),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(echoBin)},
	})
	wantAPIError(t, err, "ValidationException", `Cannot create already existing model "`+wantArn+`".`)

	list, err := sm.ListModels(ctx, &sagemaker.ListModelsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Models) != 1 || aws.ToString(list.Models[0].ModelName) != "Echo-Model" ||
		aws.ToString(list.Models[0].ModelArn) != wantArn || list.NextToken != nil {
		t.Fatalf("ListModels after one create: %+v", list.Models)
	}
	between(t, "listed CreationTime", list.Models[0].CreationTime, before, after)

	if _, err := sm.DeleteModel(ctx, &sagemaker.DeleteModelInput{ModelName: aws.String("echo-MODEL")}); err != nil {
		t.Fatalf("DeleteModel: %v", err)
	}
	_, err = sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: aws.String("Echo-Model")})
	wantAPIError(t, err, "ValidationException", `Could not find model "`+wantArn+`".`)
	_, err = sm.DeleteModel(ctx, &sagemaker.DeleteModelInput{ModelName: aws.String("Echo-Model")})
	wantAPIError(t, err, "ValidationException", `Could not find model "`+wantArn+`".`)
	if inv := takeInventory(t, sm); len(inv.Models) != 0 {
		t.Fatalf("models left after delete: %v", inv.Models)
	}
}

func TestEndpointConfigCreateDescribeListDelete(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	sm := s.sagemaker()
	ctx := context.Background()
	createModel(t, sm, "m", nil)

	sl := serverless("m", 2048, 5, 0)
	slpc := serverless("m", 1024, 4, 2)
	inst := []smtypes.ProductionVariant{instanceVariant("Blue", "m", 1, 3), instanceVariant("Green", "m", 2, 1)}
	inst[1].InstanceType = smtypes.ProductionVariantInstanceTypeMlC5Xlarge

	before := time.Now()
	for _, c := range []struct {
		name     string
		variants []smtypes.ProductionVariant
	}{{"Serverless", sl}, {"serverless-pc", slpc}, {"instances", inst}} {
		out, err := sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String(c.name), ProductionVariants: c.variants})
		if err != nil {
			t.Fatalf("CreateEndpointConfig %s: %v", c.name, err)
		}
		if got, want := aws.ToString(out.EndpointConfigArn), arnOf("endpoint-config", c.name); got != want {
			t.Fatalf("EndpointConfigArn %q, want %q", got, want)
		}
	}
	after := time.Now()

	// variant is what a user compares in DescribeEndpointConfig's echo.
	type variant struct {
		Name, Model, InstanceType string
		Count                     int32
		Weight                    float32
		Mem, MaxConc, PC          int32
		Serverless                bool
	}
	flatten := func(vs []smtypes.ProductionVariant) []variant {
		var out []variant
		for _, v := range vs {
			fv := variant{Name: aws.ToString(v.VariantName), Model: aws.ToString(v.ModelName), InstanceType: string(v.InstanceType),
				Count: aws.ToInt32(v.InitialInstanceCount)}
			if v.ServerlessConfig != nil {
				fv.Serverless = true
				fv.Mem, fv.MaxConc, fv.PC = aws.ToInt32(v.ServerlessConfig.MemorySizeInMB), aws.ToInt32(v.ServerlessConfig.MaxConcurrency), aws.ToInt32(v.ServerlessConfig.ProvisionedConcurrency)
			} else {
				fv.Weight = aws.ToFloat32(v.InitialVariantWeight)
			}
			out = append(out, fv)
		}
		return out
	}
	for _, c := range []struct {
		name string
		want []variant
	}{
		{"serverless", []variant{{Name: "AllTraffic", Model: "m", Serverless: true, Mem: 2048, MaxConc: 5}}},
		{"Serverless-PC", []variant{{Name: "AllTraffic", Model: "m", Serverless: true, Mem: 1024, MaxConc: 4, PC: 2}}},
		{"instances", []variant{
			{Name: "Blue", Model: "m", InstanceType: "ml.m5.large", Count: 1, Weight: 3},
			{Name: "Green", Model: "m", InstanceType: "ml.c5.xlarge", Count: 2, Weight: 1},
		}},
	} {
		d, err := sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String(c.name)})
		if err != nil {
			t.Fatalf("DescribeEndpointConfig %s: %v", c.name, err)
		}
		if diff := cmp.Diff(c.want, flatten(d.ProductionVariants)); diff != "" {
			t.Errorf("DescribeEndpointConfig %s variants (-want +got):\n%s", c.name, diff)
		}
		if got, want := aws.ToString(d.EndpointConfigArn), arnOf("endpoint-config", c.name); got != want {
			t.Errorf("DescribeEndpointConfig %s: arn %q, want %q", c.name, got, want)
		}
		between(t, "CreationTime", d.CreationTime, before, after)
	}
	// ProvisionedConcurrency left out is absent, not zero.
	d, err := sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String("Serverless")})
	if err != nil {
		t.Fatal(err)
	}
	if pc := d.ProductionVariants[0].ServerlessConfig.ProvisionedConcurrency; pc != nil {
		t.Errorf("ProvisionedConcurrency = %d, want absent", *pc)
	}

	_, err = sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("SERVERLESS"), ProductionVariants: sl})
	wantAPIError(t, err, "ValidationException", `Cannot create already existing endpoint configuration "`+arnOf("endpoint-config", "serverless")+`".`)

	list, err := sm.ListEndpointConfigs(ctx, &sagemaker.ListEndpointConfigsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list.EndpointConfigs {
		names = append(names, aws.ToString(c.EndpointConfigName))
		if got, want := aws.ToString(c.EndpointConfigArn), arnOf("endpoint-config", aws.ToString(c.EndpointConfigName)); got != want {
			t.Errorf("listed arn %q, want %q", got, want)
		}
	}
	// Names keep the case they were created with.
	if want := []string{"Serverless", "instances", "serverless-pc"}; !slices.Equal(slices.Sorted(slices.Values(names)), want) {
		t.Fatalf("ListEndpointConfigs: %v, want %v", names, want)
	}

	if _, err := sm.DeleteEndpointConfig(ctx, &sagemaker.DeleteEndpointConfigInput{EndpointConfigName: aws.String("serverless")}); err != nil {
		t.Fatal(err)
	}
	_, err = sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String("Serverless")})
	wantAPIError(t, err, "ValidationException", `Could not find endpoint configuration "`+arnOf("endpoint-config", "serverless")+`".`)
	if inv := takeInventory(t, sm); len(inv.Configs) != 2 {
		t.Fatalf("configs after one delete: %v", inv.Configs)
	}
}

// serverlessOf flattens a ProductionVariantServerlessConfig for comparison.
func serverlessOf(sc *smtypes.ProductionVariantServerlessConfig) string {
	if sc == nil {
		return "<nil>"
	}
	return fmt.Sprintf("mem=%d max=%d pc=%d", aws.ToInt32(sc.MemorySizeInMB), aws.ToInt32(sc.MaxConcurrency), aws.ToInt32(sc.ProvisionedConcurrency))
}

func TestServerlessEndpointLifecycle(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	sm := s.sagemaker()
	ctx := context.Background()
	// Workers take a moment to start, so Creating and Updating are visible.
	createModel(t, sm, "slow", map[string]string{"ECHO_START_DELAY": "300ms"})
	createConfig(t, sm, "small", serverless("slow", 1024, 2, 1))
	createConfig(t, sm, "large", serverless("slow", 2048, 4, 2))
	const name = "Life-EP"
	wantArn := arnOf("endpoint", name)

	before := time.Now()
	out, err := sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String("small")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.EndpointArn) != wantArn || wantArn != "arn:aws:sagemaker:us-east-1:000000000000:endpoint/life-ep" {
		t.Fatalf("EndpointArn %q", aws.ToString(out.EndpointArn))
	}
	d, err := sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if d.EndpointStatus != smtypes.EndpointStatusCreating {
		t.Fatalf("status right after CreateEndpoint: %s, want Creating", d.EndpointStatus)
	}
	if len(d.ProductionVariants) == 1 {
		if got := serverlessOf(d.ProductionVariants[0].DesiredServerlessConfig); got != "mem=1024 max=2 pc=1" {
			t.Errorf("DesiredServerlessConfig while Creating: %s", got)
		}
	}
	_, err = sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("LIFE-ep"), EndpointConfigName: aws.String("small")})
	wantAPIError(t, err, "ValidationException", `Cannot create already existing endpoint "`+wantArn+`".`)

	d = waitStatus(t, sm, name, "InService")
	after := time.Now()
	if aws.ToString(d.EndpointName) != name || aws.ToString(d.EndpointArn) != wantArn || aws.ToString(d.EndpointConfigName) != "small" {
		t.Fatalf("InService endpoint: name %q arn %q config %q", aws.ToString(d.EndpointName), aws.ToString(d.EndpointArn), aws.ToString(d.EndpointConfigName))
	}
	between(t, "CreationTime", d.CreationTime, before, after)
	between(t, "LastModifiedTime", d.LastModifiedTime, *d.CreationTime, after)
	if len(d.ProductionVariants) != 1 {
		t.Fatalf("ProductionVariants: %+v", d.ProductionVariants)
	}
	pv := d.ProductionVariants[0]
	if aws.ToString(pv.VariantName) != "AllTraffic" || serverlessOf(pv.CurrentServerlessConfig) != "mem=1024 max=2 pc=1" ||
		serverlessOf(pv.DesiredServerlessConfig) != "mem=1024 max=2 pc=1" || pv.CurrentInstanceCount != nil || pv.DesiredInstanceCount != nil {
		t.Fatalf("InService variant: name %s current %s desired %s instances %v/%v", aws.ToString(pv.VariantName),
			serverlessOf(pv.CurrentServerlessConfig), serverlessOf(pv.DesiredServerlessConfig), pv.CurrentInstanceCount, pv.DesiredInstanceCount)
	}
	created, modified := *d.CreationTime, *d.LastModifiedTime

	inv, err := s.runtime().InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(name), Body: []byte("ping")})
	if err != nil {
		t.Fatalf("InvokeEndpoint on the new endpoint: %v", err)
	}
	var echoed struct{ Body string }
	if err := json.Unmarshal(inv.Body, &echoed); err != nil || echoed.Body != "ping" {
		t.Fatalf("invoke answered %s (%v)", inv.Body, err)
	}

	if _, err := sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String("large")}); err != nil {
		t.Fatal(err)
	}
	d, err = sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if d.EndpointStatus != smtypes.EndpointStatusUpdating {
		t.Fatalf("status right after UpdateEndpoint: %s, want Updating", d.EndpointStatus)
	}
	pv = d.ProductionVariants[0]
	if serverlessOf(pv.CurrentServerlessConfig) != "mem=1024 max=2 pc=1" || serverlessOf(pv.DesiredServerlessConfig) != "mem=2048 max=4 pc=2" {
		t.Fatalf("while Updating: current %s desired %s", serverlessOf(pv.CurrentServerlessConfig), serverlessOf(pv.DesiredServerlessConfig))
	}
	d = waitStatus(t, sm, name, "InService")
	pv = d.ProductionVariants[0]
	if aws.ToString(d.EndpointConfigName) != "large" || serverlessOf(pv.CurrentServerlessConfig) != "mem=2048 max=4 pc=2" ||
		serverlessOf(pv.DesiredServerlessConfig) != "mem=2048 max=4 pc=2" {
		t.Fatalf("after update: config %q current %s desired %s", aws.ToString(d.EndpointConfigName),
			serverlessOf(pv.CurrentServerlessConfig), serverlessOf(pv.DesiredServerlessConfig))
	}
	if !d.CreationTime.Equal(created) || !d.LastModifiedTime.After(modified) {
		t.Fatalf("after update: CreationTime %s (was %s), LastModifiedTime %s (was %s): want the first kept and the second moved on",
			d.CreationTime, created, d.LastModifiedTime, modified)
	}

	if _, err := sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	err = waitGone(t, sm, name)
	wantAPIError(t, err, "ValidationException", `Could not find endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/life-ep".`)
	_, err = sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: aws.String(name)})
	wantAPIError(t, err, "ValidationException", `Could not find endpoint "`+wantArn+`".`)
	if inv := takeInventory(t, sm); len(inv.Endpoints) != 0 {
		t.Fatalf("endpoints after delete: %v", inv.Endpoints)
	}
}

func TestInstanceBasedEndpointReportsInstanceCounts(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	sm := s.sagemaker()
	ctx := context.Background()
	createModel(t, sm, "m", nil)
	createConfig(t, sm, "two", []smtypes.ProductionVariant{instanceVariant("Blue", "m", 1, 3), instanceVariant("Green", "m", 2, 1)})
	createEndpoint(t, sm, "inst", "two")
	d := waitStatus(t, sm, "inst", "InService")

	type summary struct {
		Name                 string
		CurCount, DesCount   int32
		CurWeight, DesWeight float32
		Serverless           bool
	}
	var got []summary
	for _, pv := range d.ProductionVariants {
		got = append(got, summary{
			Name:     aws.ToString(pv.VariantName),
			CurCount: aws.ToInt32(pv.CurrentInstanceCount), DesCount: aws.ToInt32(pv.DesiredInstanceCount),
			CurWeight: aws.ToFloat32(pv.CurrentWeight), DesWeight: aws.ToFloat32(pv.DesiredWeight),
			Serverless: pv.CurrentServerlessConfig != nil || pv.DesiredServerlessConfig != nil,
		})
	}
	want := []summary{{"Blue", 1, 1, 3, 3, false}, {"Green", 2, 2, 1, 1, false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("DescribeEndpoint variants (-want +got):\n%s", diff)
	}
	out, err := s.runtime().InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("inst"), Body: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if v := aws.ToString(out.InvokedProductionVariant); v != "Blue" && v != "Green" {
		t.Fatalf("InvokedProductionVariant %q", v)
	}
}

func TestFailedEndpointsSayWhy(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--startup-timeout", "1s")
	sm := s.sagemaker()
	ctx := context.Background()
	createModel(t, sm, "exits", map[string]string{"ECHO_EXIT_AT_START": "7"})
	createModel(t, sm, "never-ready", map[string]string{"ECHO_NEVER_READY": "1"})
	createModel(t, sm, "fine", nil)
	for _, m := range []string{"exits", "never-ready", "fine"} {
		createConfig(t, sm, m, serverless(m, 1024, 1, 0))
		createEndpoint(t, sm, m, m)
	}

	d := waitStatus(t, sm, "exits", "Failed")
	if r := aws.ToString(d.FailureReason); !strings.Contains(r, "exit status 7") {
		t.Errorf("FailureReason of a worker exiting with 7: %q, want it to mention exit status 7", r)
	}
	d = waitStatus(t, sm, "never-ready", "Failed")
	if r := aws.ToString(d.FailureReason); !strings.Contains(r, "/ping") {
		t.Errorf("FailureReason of a worker never ready: %q, want it to mention /ping", r)
	}
	waitStatus(t, sm, "fine", "InService")

	// ListEndpoints filters on status.
	for _, c := range []struct {
		status smtypes.EndpointStatus
		want   []string
	}{
		{smtypes.EndpointStatusFailed, []string{"exits", "never-ready"}},
		{smtypes.EndpointStatusInService, []string{"fine"}},
		{smtypes.EndpointStatusCreating, nil},
	} {
		out, err := sm.ListEndpoints(ctx, &sagemaker.ListEndpointsInput{StatusEquals: c.status, SortBy: smtypes.EndpointSortKeyName, SortOrder: smtypes.OrderKeyAscending})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range out.Endpoints {
			got = append(got, aws.ToString(e.EndpointName))
			if e.EndpointStatus != c.status {
				t.Errorf("StatusEquals %s listed %s with status %s", c.status, aws.ToString(e.EndpointName), e.EndpointStatus)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("ListEndpoints StatusEquals %s: %v, want %v", c.status, got, c.want)
		}
	}

	// A failed endpoint can be fixed by an update to a working config.
	if _, err := sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String("exits"), EndpointConfigName: aws.String("fine")}); err != nil {
		t.Fatalf("UpdateEndpoint of a Failed endpoint: %v", err)
	}
	d = waitStatus(t, sm, "exits", "InService")
	if aws.ToString(d.FailureReason) != "" || aws.ToString(d.EndpointConfigName) != "fine" {
		t.Fatalf("repaired endpoint: config %q, FailureReason %q", aws.ToString(d.EndpointConfigName), aws.ToString(d.FailureReason))
	}
}

func TestListPaginationSortingAndFilters(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	sm := s.sagemaker()
	ctx := context.Background()

	// 25 models created in an order that is not their name order: the
	// i-th created is model-NN with NN = 7i mod 25.
	const n = 25
	var created []string
	create := func(i int) {
		name := fmt.Sprintf("model-%02d", i*7%n)
		createModel(t, sm, name, nil)
		created = append(created, name)
	}
	for i := 0; i < 12; i++ {
		create(i)
	}
	// Leave a gap of a few milliseconds between the two batches' creation
	// times, to filter on.
	gapEnd := time.Now().Truncate(time.Millisecond).Add(4 * time.Millisecond)
	for time.Now().Before(gapEnd) {
		runtime.Gosched()
	}
	for i := 12; i < n; i++ {
		create(i)
	}

	listAll := func(t *testing.T, in sagemaker.ListModelsInput) (names []string, times []time.Time, pages []int) {
		t.Helper()
		for {
			out, err := sm.ListModels(ctx, &in)
			if err != nil {
				t.Fatalf("ListModels %+v: %v", in, err)
			}
			pages = append(pages, len(out.Models))
			for _, m := range out.Models {
				names = append(names, aws.ToString(m.ModelName))
				times = append(times, aws.ToTime(m.CreationTime))
			}
			if out.NextToken == nil {
				return names, times, pages
			}
			in.NextToken = out.NextToken
		}
	}

	names, times, pages := listAll(t, sagemaker.ListModelsInput{MaxResults: aws.Int32(10)})
	if !slices.Equal(pages, []int{10, 10, 5}) {
		t.Fatalf("page sizes %v, want [10 10 5]", pages)
	}
	if got := slices.Sorted(slices.Values(names)); !slices.Equal(got, slices.Sorted(slices.Values(created))) {
		t.Fatalf("pages hold %v, want each of %v once", names, created)
	}
	byTime := map[string]time.Time{}
	for i, name := range names {
		byTime[name] = times[i]
	}
	// The default order is newest first.
	if !slices.IsSortedFunc(times, func(a, b time.Time) int { return b.Compare(a) }) {
		t.Fatalf("default order is not by CreationTime descending: %v %v", names, times)
	}

	sortedNames := slices.Sorted(slices.Values(created))
	batch1Names := slices.Sorted(slices.Values(created[:12]))
	batch2Names := slices.Sorted(slices.Values(created[12:]))
	asSet := func(list []string) []string { return slices.Sorted(slices.Values(list)) }
	for _, c := range []struct {
		name  string
		in    sagemaker.ListModelsInput
		check func(names []string, times []time.Time) bool
	}{
		{"name ascending", sagemaker.ListModelsInput{SortBy: smtypes.ModelSortKeyName, SortOrder: smtypes.OrderKeyAscending},
			func(names []string, _ []time.Time) bool { return slices.Equal(names, sortedNames) }},
		{"name descending", sagemaker.ListModelsInput{SortBy: smtypes.ModelSortKeyName, SortOrder: smtypes.OrderKeyDescending},
			func(names []string, _ []time.Time) bool { return slices.Equal(names, reversed(sortedNames)) }},
		{"creation time ascending", sagemaker.ListModelsInput{SortBy: smtypes.ModelSortKeyCreationTime, SortOrder: smtypes.OrderKeyAscending},
			func(names []string, times []time.Time) bool {
				return len(names) == n && slices.IsSortedFunc(times, time.Time.Compare) &&
					slices.Equal(asSet(names[:12]), batch1Names) && slices.Equal(asSet(names[12:]), batch2Names)
			}},
		{"creation time descending", sagemaker.ListModelsInput{SortBy: smtypes.ModelSortKeyCreationTime, SortOrder: smtypes.OrderKeyDescending},
			func(names []string, times []time.Time) bool {
				return len(names) == n && slices.IsSortedFunc(times, func(a, b time.Time) int { return b.Compare(a) }) &&
					slices.Equal(asSet(names[:13]), batch2Names) && slices.Equal(asSet(names[13:]), batch1Names)
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			in.MaxResults = aws.Int32(7)
			names, times, _ := listAll(t, in)
			if !c.check(names, times) {
				t.Fatalf("order %v, times %v (created %v)", names, times, created)
			}
		})
	}

	// Filter on a time inside the gap. Listed times may read 1 ms early
	// (see between), so the gap of at least 4 ms is entered 2 ms past the
	// last listed time of the first batch.
	last1, first2 := byTime[created[11]], byTime[created[12]]
	if first2.Sub(last1) < 3*time.Millisecond {
		t.Fatalf("batches created at %s and %s: no gap", last1, first2)
	}
	gap := last1.Add(2 * time.Millisecond)
	for _, c := range []struct {
		name string
		in   sagemaker.ListModelsInput
		want []string
	}{
		{"name contains, case-insensitive", sagemaker.ListModelsInput{NameContains: aws.String("MODEL-1")}, sortedNames[10:20]},
		{"name contains a suffix", sagemaker.ListModelsInput{NameContains: aws.String("odel-2")}, sortedNames[20:]},
		{"created before the gap", sagemaker.ListModelsInput{CreationTimeBefore: aws.Time(gap)}, batch1Names},
		{"created after the gap", sagemaker.ListModelsInput{CreationTimeAfter: aws.Time(gap)}, batch2Names},
		{"created after the gap and containing 0", sagemaker.ListModelsInput{CreationTimeAfter: aws.Time(gap), NameContains: aws.String("0")},
			filter(batch2Names, "0")},
		{"created between the first and the last", sagemaker.ListModelsInput{CreationTimeAfter: aws.Time(byTime[created[0]].Add(-time.Hour)),
			CreationTimeBefore: aws.Time(time.Now().Add(time.Hour))}, sortedNames},
		{"created after everything", sagemaker.ListModelsInput{CreationTimeAfter: aws.Time(time.Now().Add(time.Hour))}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			in.SortBy, in.SortOrder, in.MaxResults = smtypes.ModelSortKeyName, smtypes.OrderKeyAscending, aws.Int32(4)
			got, _, _ := listAll(t, in)
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}

	t.Run("SDK paginator", func(t *testing.T) {
		p := sagemaker.NewListModelsPaginator(sm, &sagemaker.ListModelsInput{MaxResults: aws.Int32(10)})
		seen := map[string]int{}
		pagesSeen := 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pagesSeen++
			for _, m := range out.Models {
				seen[aws.ToString(m.ModelName)]++
			}
		}
		if pagesSeen != 3 || len(seen) != n {
			t.Fatalf("paginator: %d pages, %d distinct models, want 3 and %d", pagesSeen, len(seen), n)
		}
		for name, k := range seen {
			if k != 1 {
				t.Fatalf("paginator saw %s %d times", name, k)
			}
		}
	})
}

func reversed(list []string) []string {
	out := slices.Clone(list)
	slices.Reverse(out)
	return out
}

func filter(list []string, sub string) []string {
	var out []string
	for _, x := range list {
		if strings.Contains(x, sub) {
			out = append(out, x)
		}
	}
	return out
}

func TestTagsOnEveryResourceKind(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	sm := s.sagemaker()
	ctx := context.Background()
	createModel(t, sm, "Tagged", nil, tag("team", "ml"))
	createConfig(t, sm, "Tagged", serverless("Tagged", 1024, 1, 0), tag("team", "ml"))
	createEndpoint(t, sm, "Tagged", "Tagged", tag("team", "ml"))
	waitStatus(t, sm, "Tagged", "InService")

	for _, kind := range []string{"model", "endpoint-config", "endpoint"} {
		t.Run(kind, func(t *testing.T) {
			arn := arnOf(kind, "Tagged")
			if got := tagMap(t, sm, arn); !cmp.Equal(got, map[string]string{"team": "ml"}) {
				t.Fatalf("tags given at create: %v", got)
			}
			out, err := sm.AddTags(ctx, &sagemaker.AddTagsInput{ResourceArn: aws.String(arn), Tags: []smtypes.Tag{tag("team", "infra"), tag("cost-centre", "7")}})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Tags) != 2 {
				t.Errorf("AddTags answered %d tags, want the 2 added", len(out.Tags))
			}
			if got := tagMap(t, sm, arn); !cmp.Equal(got, map[string]string{"team": "infra", "cost-centre": "7"}) {
				t.Fatalf("after AddTags overwriting team: %v", got)
			}
			if _, err := sm.DeleteTags(ctx, &sagemaker.DeleteTagsInput{ResourceArn: aws.String(arn), TagKeys: []string{"team", "absent"}}); err != nil {
				t.Fatal(err)
			}
			if got := tagMap(t, sm, arn); !cmp.Equal(got, map[string]string{"cost-centre": "7"}) {
				t.Fatalf("after DeleteTags team: %v", got)
			}
			missing := arnOf(kind, "missing")
			noun := map[string]string{"model": "model", "endpoint-config": "endpoint configuration", "endpoint": "endpoint"}[kind]
			wantMsg := fmt.Sprintf("Could not find %s %q.", noun, missing)
			_, err = sm.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(missing)})
			wantAPIError(t, err, "ValidationException", wantMsg)
			_, err = sm.AddTags(ctx, &sagemaker.AddTagsInput{ResourceArn: aws.String(missing), Tags: []smtypes.Tag{tag("a", "b")}})
			wantAPIError(t, err, "ValidationException", wantMsg)
			_, err = sm.DeleteTags(ctx, &sagemaker.DeleteTagsInput{ResourceArn: aws.String(missing), TagKeys: []string{"a"}})
			wantAPIError(t, err, "ValidationException", wantMsg)
		})
	}
	// Tagging changed nothing else about the resources.
	d, err := sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("Tagged")})
	if err != nil {
		t.Fatal(err)
	}
	if d.EndpointStatus != smtypes.EndpointStatusInService || aws.ToString(d.EndpointConfigName) != "Tagged" {
		t.Fatalf("endpoint after tagging: %s, config %q", d.EndpointStatus, aws.ToString(d.EndpointConfigName))
	}
	if _, err := s.runtime().InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("Tagged"), Body: []byte("x")}); err != nil {
		t.Fatalf("invoke after tagging: %v", err)
	}
}

// clientEnv is a process environment for the Python AWS clients: no
// inherited AWS settings, no user config files, static test credentials.
func clientEnv(t *testing.T) []string {
	dir := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION="+testRegion,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
}

const boto3Script = `
import json, sys, time
import boto3
from botocore.exceptions import ClientError

url, image = sys.argv[1], sys.argv[2]
sm = boto3.client("sagemaker", endpoint_url=url)
rt = boto3.client("sagemaker-runtime", endpoint_url=url)
out = {}
out["ModelArn"] = sm.create_model(ModelName="py-model", PrimaryContainer={"Image": image})["ModelArn"]
out["EndpointConfigArn"] = sm.create_endpoint_config(EndpointConfigName="py-config", ProductionVariants=[{
    "VariantName": "AllTraffic", "ModelName": "py-model",
    "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 3, "ProvisionedConcurrency": 1}}])["EndpointConfigArn"]
out["EndpointArn"] = sm.create_endpoint(EndpointName="py-ep", EndpointConfigName="py-config")["EndpointArn"]
deadline = time.time() + 30
while True:
    d = sm.describe_endpoint(EndpointName="py-ep")
    if d["EndpointStatus"] != "Creating" or time.time() > deadline:
        break
    time.sleep(0.02)
out["Status"] = d["EndpointStatus"]
out["Serverless"] = d["ProductionVariants"][0]["CurrentServerlessConfig"]
out["TimesAreDatetimes"] = all(hasattr(d[k], "tzinfo") for k in ("CreationTime", "LastModifiedTime"))
out["Endpoints"] = [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
r = rt.invoke_endpoint(EndpointName="py-ep", Body=b"from boto3", ContentType="text/plain")
out["Invoked"] = json.loads(r["Body"].read())
out["Variant"] = r["InvokedProductionVariant"]
sm.delete_endpoint(EndpointName="py-ep")
deadline = time.time() + 30
while True:
    try:
        sm.describe_endpoint(EndpointName="py-ep")
    except ClientError as e:
        out["AfterDelete"] = e.response["Error"]
        break
    if time.time() > deadline:
        break
    time.sleep(0.02)
sm.delete_endpoint_config(EndpointConfigName="py-config")
sm.delete_model(ModelName="py-model")
out["ModelsLeft"] = len(sm.list_models()["Models"])
print(json.dumps(out))
`

func TestBoto3EndToEnd(t *testing.T) {
	t.Parallel()
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skipf("boto3 is not installed: %v", err)
	}
	s := startServer(t)
	script := filepath.Join(t.TempDir(), "e2e.py")
	if err := os.WriteFile(script, []byte(boto3Script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", script, s.url(), echoBin)
	cmd.Env = clientEnv(t)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3 script: %v\n%s", err, stderr.String())
	}
	var got struct {
		ModelArn, EndpointConfigArn, EndpointArn, Status, Variant string
		Serverless                                                map[string]int
		TimesAreDatetimes                                         bool
		Endpoints                                                 []string
		Invoked                                                   struct{ Body, ContentType string }
		AfterDelete                                               struct{ Code, Message string }
		ModelsLeft                                                int
	}
	if err := json.Unmarshal(stdout, &got); err != nil {
		t.Fatalf("boto3 output %s: %v", stdout, err)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"ModelArn", got.ModelArn, arnOf("model", "py-model")},
		{"EndpointConfigArn", got.EndpointConfigArn, arnOf("endpoint-config", "py-config")},
		{"EndpointArn", got.EndpointArn, arnOf("endpoint", "py-ep")},
		{"status after Creating", got.Status, "InService"},
		{"CurrentServerlessConfig", got.Serverless, map[string]int{"MemorySizeInMB": 2048, "MaxConcurrency": 3, "ProvisionedConcurrency": 1}},
		{"timestamps parse as datetimes", got.TimesAreDatetimes, true},
		{"list_endpoints", got.Endpoints, []string{"py-ep"}},
		{"invoke body seen by the worker", got.Invoked.Body, "from boto3"},
		{"invoke content type seen by the worker", got.Invoked.ContentType, "text/plain"},
		{"InvokedProductionVariant", got.Variant, "AllTraffic"},
		{"error code after delete", got.AfterDelete.Code, "ValidationException"},
		{"error message after delete", got.AfterDelete.Message, `Could not find endpoint "` + arnOf("endpoint", "py-ep") + `".`},
		{"models left", got.ModelsLeft, 0},
	}
	for _, c := range checks {
		if !cmp.Equal(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestAWSCLIEndToEnd(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the aws CLI is not on PATH")
	}
	s := startServer(t)
	env := clientEnv(t)
	dir := t.TempDir()
	cli := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", s.url(), "--region", testRegion, "--output", "json"}, args...)...)
		cmd.Env = env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		m := map[string]any{}
		if len(strings.TrimSpace(string(out))) > 0 {
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("aws %s printed %s: %v", strings.Join(args, " "), out, err)
			}
		}
		return m
	}
	cliFails := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", s.url(), "--region", testRegion}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("aws %s succeeded, want a failure", strings.Join(args, " "))
		}
		return string(out)
	}

	if got := cli("sagemaker", "create-model", "--model-name", "cli-model", "--primary-container", `{"Image":"`+echoBin+`"}`)["ModelArn"]; got != arnOf("model", "cli-model") {
		t.Fatalf("create-model ModelArn %v", got)
	}
	variants := `[{"VariantName":"AllTraffic","ModelName":"cli-model","ServerlessConfig":{"MemorySizeInMB":1024,"MaxConcurrency":2}}]`
	if got := cli("sagemaker", "create-endpoint-config", "--endpoint-config-name", "cli-config", "--production-variants", variants)["EndpointConfigArn"]; got != arnOf("endpoint-config", "cli-config") {
		t.Fatalf("create-endpoint-config EndpointConfigArn %v", got)
	}
	if got := cli("sagemaker", "create-endpoint", "--endpoint-name", "cli-ep", "--endpoint-config-name", "cli-config")["EndpointArn"]; got != arnOf("endpoint", "cli-ep") {
		t.Fatalf("create-endpoint EndpointArn %v", got)
	}
	waitStatus(t, s.sagemaker(), "cli-ep", "InService")
	d := cli("sagemaker", "describe-endpoint", "--endpoint-name", "cli-ep")
	if d["EndpointStatus"] != "InService" || d["EndpointConfigName"] != "cli-config" {
		t.Fatalf("describe-endpoint: %v", d)
	}
	pv, _ := d["ProductionVariants"].([]any)
	if len(pv) != 1 || !cmp.Equal(pv[0].(map[string]any)["CurrentServerlessConfig"], map[string]any{"MemorySizeInMB": 1024.0, "MaxConcurrency": 2.0}) {
		t.Fatalf("describe-endpoint ProductionVariants: %v", d["ProductionVariants"])
	}
	eps, _ := cli("sagemaker", "list-endpoints")["Endpoints"].([]any)
	if len(eps) != 1 || eps[0].(map[string]any)["EndpointName"] != "cli-ep" || eps[0].(map[string]any)["EndpointStatus"] != "InService" {
		t.Fatalf("list-endpoints: %v", eps)
	}

	in, outFile := filepath.Join(dir, "in.csv"), filepath.Join(dir, "out.json")
	if err := os.WriteFile(in, []byte("1,2,3"), 0o644); err != nil {
		t.Fatal(err)
	}
	inv := cli("sagemaker-runtime", "invoke-endpoint", "--endpoint-name", "cli-ep", "--body", "fileb://"+in, "--content-type", "text/csv", outFile)
	if inv["InvokedProductionVariant"] != "AllTraffic" || inv["ContentType"] != "application/json" {
		t.Fatalf("invoke-endpoint metadata: %v", inv)
	}
	body, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	var echoed struct{ Body, ContentType string }
	if err := json.Unmarshal(body, &echoed); err != nil || echoed.Body != "1,2,3" || echoed.ContentType != "text/csv" {
		t.Fatalf("invoke-endpoint output %s (%v)", body, err)
	}

	cli("sagemaker", "delete-endpoint", "--endpoint-name", "cli-ep")
	waitGone(t, s.sagemaker(), "cli-ep")
	if msg := cliFails("sagemaker", "describe-endpoint", "--endpoint-name", "cli-ep"); !strings.Contains(msg, "ValidationException") ||
		!strings.Contains(msg, `Could not find endpoint "`+arnOf("endpoint", "cli-ep")+`"`) {
		t.Fatalf("describe-endpoint after delete printed %q", msg)
	}
	cli("sagemaker", "delete-endpoint-config", "--endpoint-config-name", "cli-config")
	cli("sagemaker", "delete-model", "--model-name", "cli-model")
	if models, _ := cli("sagemaker", "list-models")["Models"].([]any); len(models) != 0 {
		t.Fatalf("list-models after delete: %v", models)
	}
}

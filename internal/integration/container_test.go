package integration

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/smithy-go"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"hearth/internal/runtime/docker"
	"hearth/internal/runtime/docker/dockertest"
)

// ecrImage is how a user's image pulled from ECR is named in their engine.
const ecrImage = "123456789012.dkr.ecr.us-east-1.amazonaws.com/hearth-test:1"

// modelTarball writes a model.tar.gz holding model.txt.
func modelTarball(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.tar.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "model.txt", Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []interface{ Close() error }{tw, gz, f} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// workerContainers lists the server's worker containers (not its frozen
// standbys) by id.
func workerContainers(t *testing.T, cli *client.Client, s *server) []container.Summary {
	t.Helper()
	var out []container.Summary
	for _, c := range dockertest.Containers(t, cli, docker.LabelScope+"="+s.dataDir) {
		if c.State != "paused" {
			out = append(out, c)
		}
	}
	return out
}

// TestContainerImageEndToEnd runs a user's SageMaker image, named as if
// pulled from ECR, through a real `hearth serve` with the AWS SDK: refused
// while missing, then a serverless endpoint with provisioned concurrency,
// the container contract as docker inspect shows it, concurrent requests
// in separate containers, and no container surviving a kill -9 and
// restart, nor the endpoint's deletion.
func TestContainerImageEndToEnd(t *testing.T) {
	cli := dockertest.Engine(t)
	dockertest.WorkerImage(t, cli, ecrImage)
	s := startServer(t, "--keep-warm", "2s")
	sm, rt := s.sagemaker(), s.runtime()
	ctx := context.Background()

	// An image the engine lacks is refused, naming it (--pull never).
	absent := "123456789012.dkr.ecr.us-east-1.amazonaws.com/not-pulled:1"
	_, err := sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName:        aws.String("absent"),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(absent)},
	})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || !strings.Contains(ae.ErrorMessage(), absent) || !strings.Contains(ae.ErrorMessage(), "--pull missing") {
		t.Fatalf("CreateModel with a missing image: %v; want a ValidationException naming it", err)
	}

	_, err = sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName: aws.String("byoc"),
		PrimaryContainer: &smtypes.ContainerDefinition{
			Image:        aws.String(ecrImage),
			ModelDataUrl: aws.String(modelTarball(t, "byoc-weights")),
			Environment:  map[string]string{"GREETING": "from the model's Environment"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	createConfig(t, sm, "byoc-config", serverless("byoc", 2048, 3, 1))
	createEndpoint(t, sm, "byoc", "byoc-config")
	waitStatus(t, sm, "byoc", "InService")

	out0, err := rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{
		EndpointName: aws.String("byoc"), ContentType: aws.String("text/plain"), Body: []byte("hello"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if body := string(out0.Body); !strings.Contains(body, `"model":"byoc-weights"`) || !strings.Contains(body, `"body":"hello"`) {
		t.Errorf("InvokeEndpoint = %s; want the model artifact and the request echoed", body)
	}
	out, err := rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("byoc"), Body: []byte("env GREETING")})
	if err != nil || string(out.Body) != "from the model's Environment" {
		t.Errorf("worker's $GREETING = %q, %v", out.Body, err)
	}

	// docker inspect shows the SageMaker contract.
	var reply struct{ Host string }
	if err := json.Unmarshal(out0.Body, &reply); err != nil || reply.Host == "" {
		t.Fatalf("invocation reply %s: %v", out0.Body, err)
	}
	ins, err := cli.ContainerInspect(ctx, reply.Host)
	if err != nil {
		t.Fatal(err)
	}
	if ins.Config.Image != ecrImage || !slices.Equal(ins.Config.Cmd, []string{"serve"}) {
		t.Errorf("container runs %s %q, want %s [serve]", ins.Config.Image, ins.Config.Cmd, ecrImage)
	}
	var mounted bool
	for _, m := range ins.Mounts {
		if m.Destination == "/opt/ml/model" {
			mounted = !m.RW
		}
	}
	if !mounted {
		t.Errorf("/opt/ml/model not mounted read-only: %+v", ins.Mounts)
	}
	if ins.HostConfig.Memory != 2048<<20 || ins.HostConfig.MemorySwap != 2048<<20 {
		t.Errorf("Memory %d, MemorySwap %d; want MemorySizeInMB 2048 MiB and no swap", ins.HostConfig.Memory, ins.HostConfig.MemorySwap)
	}

	// Three concurrent requests run in three containers: each reply
	// names its container.
	var wg sync.WaitGroup
	var mu sync.Mutex
	hosts := map[string]bool{}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("byoc"), Body: []byte("sleep 2s")})
			if err != nil {
				t.Errorf("concurrent invocation: %v", err)
				return
			}
			var r struct{ Host string }
			_ = json.Unmarshal(out.Body, &r)
			mu.Lock()
			hosts[r.Host] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(hosts) != 3 {
		t.Errorf("three concurrent requests ran in containers %v, want three different ones", hosts)
	}
	for h := range hosts {
		if c, err := cli.ContainerInspect(ctx, h); err != nil || c.Config.Labels[docker.LabelScope] != s.dataDir {
			t.Errorf("request ran in %q, not one of the server's containers (%v)", h, err)
		}
	}

	// kill -9 leaves the containers behind; the next start removes them.
	before := dockertest.Containers(t, cli, docker.LabelScope+"="+s.dataDir)
	if len(before) == 0 {
		t.Fatal("no containers before the kill")
	}
	s.kill9()
	if after := dockertest.Containers(t, cli, docker.LabelScope+"="+s.dataDir); len(after) == 0 {
		t.Fatal("the killed server's containers vanished by themselves; the sweep is untested")
	}
	s.start()
	for _, c := range dockertest.Containers(t, cli, docker.LabelScope+"="+s.dataDir) {
		for _, old := range before {
			if c.ID == old.ID {
				t.Errorf("container %s of the killed server survived the restart", c.ID[:12])
			}
		}
	}
	waitStatus(t, sm, "byoc", "InService")
	if _, err := rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("byoc"), Body: []byte("hi")}); err != nil {
		t.Errorf("invoke after restart: %v", err)
	}

	// Deleting the endpoint removes its workers' containers.
	if _, err := sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: aws.String("byoc")}); err != nil {
		t.Fatal(err)
	}
	_ = waitGone(t, sm, "byoc")
	deadline := time.Now().Add(30 * time.Second)
	for len(workerContainers(t, cli, s)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("worker containers left after DeleteEndpoint: %+v", workerContainers(t, cli, s))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A graceful shutdown removes the standbys too.
	s.stop()
	if left := dockertest.Containers(t, cli, docker.LabelScope+"="+s.dataDir); len(left) != 0 {
		t.Errorf("containers left after shutdown: %+v", left)
	}
}

// TestContainerImagePull: under --pull missing a model may name an image
// the engine lacks; creating its endpoint pulls it from the registry (a
// real one, on loopback), and an image no registry has fails the endpoint
// with a reason naming it.
func TestContainerImagePull(t *testing.T) {
	cli := dockertest.Engine(t)
	reg := dockertest.Registry(t)
	ref := reg + "/hearth-test/e2e:1"
	dockertest.WorkerImage(t, cli, ref)
	dockertest.Push(t, cli, ref)
	dockertest.RemoveImage(t, cli, ref)
	t.Cleanup(func() { dockertest.RemoveImage(t, cli, ref) })
	s := startServer(t, "--pull", "missing")
	sm, rt := s.sagemaker(), s.runtime()
	ctx := context.Background()

	absent := reg + "/hearth-test/absent:1"
	for name, image := range map[string]string{"pulled": ref, "unpullable": absent} {
		_, err := sm.CreateModel(ctx, &sagemaker.CreateModelInput{
			ModelName:        aws.String(name),
			PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(image)},
		})
		if err != nil {
			t.Fatalf("CreateModel %s under --pull missing: %v", image, err)
		}
		createConfig(t, sm, name, serverless(name, 1024, 1, 1))
		createEndpoint(t, sm, name, name)
	}
	waitStatus(t, sm, "pulled", "InService")
	out, err := rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("pulled"), Body: []byte("env SAGEMAKER_BIND_TO_PORT")})
	if err != nil || string(out.Body) != "8080" {
		t.Errorf("invoke the pulled image: %q, %v", out.Body, err)
	}
	failed := waitStatus(t, sm, "unpullable", "Failed")
	if reason := aws.ToString(failed.FailureReason); !strings.Contains(reason, absent) {
		t.Errorf("FailureReason %q does not name the image %s", reason, absent)
	}

	// An on-demand endpoint too: its creation's health check needs the
	// image.
	createConfig(t, sm, "unpullable-od", serverless("unpullable", 1024, 1, 0))
	createEndpoint(t, sm, "unpullable-od", "unpullable-od")
	failed = waitStatus(t, sm, "unpullable-od", "Failed")
	if reason := aws.ToString(failed.FailureReason); !strings.Contains(reason, absent) {
		t.Errorf("on-demand FailureReason %q does not name the image %s", reason, absent)
	}
}

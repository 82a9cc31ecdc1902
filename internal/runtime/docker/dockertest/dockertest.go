// Package dockertest gives tests a Docker Engine and a SageMaker-contract
// image to run in it: cmd/echo-worker, built static (CGO_ENABLED=0) into a
// FROM-scratch image through the engine's build API, once per test binary.
//
// Engine reports a missing engine as a skip on a developer's machine and
// as a failure in CI (CI=true), so CI never passes without having run the
// container tests.
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
)

// Image is the tag of the built test image.
const Image = "hearth-test-worker:1"

// Engine returns a client of the local engine (DOCKER_HOST or the
// socket), or ends the test: failed in CI, skipped elsewhere.
func Engine(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = cli.Ping(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs a running Docker Engine for the container tests: %v", err)
		}
		t.Skipf("no Docker Engine: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

var (
	buildOnce sync.Once
	buildErr  error
)

// WorkerImage builds the echo-worker image (once per test binary) and
// tags it Image and each of tags.
func WorkerImage(t testing.TB, cli *client.Client, tags ...string) string {
	t.Helper()
	buildOnce.Do(func() { buildErr = build1(cli) })
	if buildErr != nil {
		t.Fatalf("build test image: %v", buildErr)
	}
	ctx := context.Background()
	for _, tag := range tags {
		if err := cli.ImageTag(ctx, Image, tag); err != nil {
			t.Fatalf("tag %s: %v", tag, err)
		}
	}
	return Image
}

func build1(cli *client.Client) error {
	dir, err := os.MkdirTemp("", "hearth-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "echo-worker")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "hearth/cmd/echo-worker")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build echo-worker: %v: %s", err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	// The SageMaker contract: the image's entrypoint takes "serve" and
	// listens on all interfaces inside the container.
	dockerfile := "FROM scratch\nCOPY echo-worker /usr/local/bin/echo-worker\nENV ECHO_LISTEN_HOST=0.0.0.0\nENTRYPOINT [\"/usr/local/bin/echo-worker\"]\n"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"echo-worker", 0o755, exe}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	resp, err := cli.ImageBuild(ctx, &buf, build.ImageBuildOptions{Tags: []string{Image}, Remove: true, ForceRemove: true})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return jsonmessage.DisplayJSONMessagesStream(resp.Body, io.Discard, 0, false, nil)
}

// RemoveImage untags ref from the engine, ignoring a missing one.
func RemoveImage(t testing.TB, cli *client.Client, ref string) {
	t.Helper()
	_, err := cli.ImageRemove(context.Background(), ref, image.RemoveOptions{})
	if err != nil && !strings.Contains(err.Error(), "No such image") {
		t.Fatalf("remove image %s: %v", ref, err)
	}
}

// Containers lists the containers carrying label (key=value), running or
// not.
func Containers(t testing.TB, cli *client.Client, label string) []container.Summary {
	t.Helper()
	list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	return list
}

// Registry starts a Docker registry (Debian's docker-registry) on a
// loopback port for the test and returns its host:port. The engine pulls
// from and pushes to loopback registries over plain HTTP.
func Registry(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs docker-registry (apt-get install docker-registry): %v", err)
		}
		t.Skipf("no docker-registry: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not answer on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Push pushes ref (already tagged in the engine) to its registry.
func Push(t testing.TB, cli *client.Client, ref string) {
	t.Helper()
	auth, _ := registry.EncodeAuthConfig(registry.AuthConfig{})
	rc, err := cli.ImagePush(context.Background(), ref, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	defer rc.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

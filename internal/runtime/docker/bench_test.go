package docker_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"hearth/internal/runtime/docker"
	"hearth/internal/runtime/docker/dockertest"
)

// BenchmarkColdStart compares, round by round on the same image, a bare
// `docker run` to its first /ping answer (create + start through the same
// engine client) with a Hearth cold start (Runtime.Start, which takes the
// configuration's standby container, to the first /ping answer). It
// reports each one's median and their ratio.
//
//	go test -run '^$' -bench ColdStart -benchtime 20x ./internal/runtime/docker/
func BenchmarkColdStart(b *testing.B) {
	cli := dockertest.Engine(b)
	dockertest.WorkerImage(b, cli)
	ctx := context.Background()
	rt, err := docker.New(ctx, docker.Options{Standby: true, Scope: "bench-cold-start"})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		rt.Close()
		sw, _ := docker.New(ctx, docker.Options{Scope: "bench-cold-start"})
		_, _ = sw.Sweep(ctx)
		sw.Close()
	}()
	s := spec(b, "bench")
	// The first start makes the configuration's standby.
	first, err := rt.Start(ctx, s)
	if err != nil {
		b.Fatal(err)
	}
	_ = first.Stop(ctx)

	var bare, hearth []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for rt.Standbys() < 1 {
			time.Sleep(5 * time.Millisecond)
		}
		b.StartTimer()
		t0 := time.Now()
		p, err := rt.Start(ctx, s)
		if err != nil {
			b.Fatal(err)
		}
		pingUntilOK(b, p.Addr())
		hearth = append(hearth, time.Since(t0))
		b.StopTimer()
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_ = p.Stop(sctx)
		cancel()

		d := dockerRun(b, cli, s.ModelDir)
		bare = append(bare, d)
		b.StartTimer()
	}
	b.StopTimer()
	pb, ph := median(bare), median(hearth)
	b.ReportMetric(float64(pb.Milliseconds()), "docker-run-p50-ms")
	b.ReportMetric(float64(ph.Milliseconds()), "hearth-p50-ms")
	b.ReportMetric(float64(ph)/float64(pb), "ratio")
}

// dockerRun is `docker run -d IMAGE serve` with the contract's port and
// model mount, timed to the first /ping answer; the container is removed
// afterwards, untimed.
func dockerRun(b *testing.B, cli *client.Client, modelDir string) time.Duration {
	ctx := context.Background()
	t0 := time.Now()
	cr, err := cli.ContainerCreate(ctx, &container.Config{
		Image: dockertest.Image, Cmd: []string{"serve"},
		Env:    []string{"SAGEMAKER_BIND_TO_PORT=8080"},
		Labels: map[string]string{docker.LabelManaged: "true", docker.LabelScope: "bench-cold-start"},
	}, &container.HostConfig{Binds: []string{modelDir + ":/opt/ml/model:ro"}}, &network.NetworkingConfig{}, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	defer cli.ContainerRemove(ctx, cr.ID, container.RemoveOptions{Force: true})
	if err := cli.ContainerStart(ctx, cr.ID, container.StartOptions{}); err != nil {
		b.Fatal(err)
	}
	ins, err := cli.ContainerInspect(ctx, cr.ID)
	if err != nil {
		b.Fatal(err)
	}
	pingUntilOK(b, ins.NetworkSettings.Networks["bridge"].IPAddress+":8080")
	return time.Since(t0)
}

func pingUntilOK(b *testing.B, addr string) {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := c.Get("http://" + addr + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(250 * time.Microsecond)
	}
	b.Fatalf("no /ping answer from %s", addr)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

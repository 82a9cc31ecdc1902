package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"hearth/internal/runtime"
	"hearth/internal/runtime/process"
)

// BenchmarkXGBoostWorkerStart measures the built-in runtime's start — from
// asking the process runtime for a worker to its first /ping 200 — for a
// freshly executed process and for a standby process handed its model, and
// the worker's resident memory after it answered a request.
func BenchmarkXGBoostWorkerStart(b *testing.B) {
	modelDir := b.TempDir()
	model, err := os.ReadFile(filepath.Join(seedDir, "..", "abalone-regression", "xgboost-model"))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(modelDir, "xgboost-model"), model, 0o644); err != nil {
		b.Fatal(err)
	}
	payload, _ := os.ReadFile(filepath.Join(seedDir, "payload.csv"))
	for _, mode := range []struct {
		name    string
		standby int
	}{{"exec", 0}, {"standby", 1}} {
		b.Run(mode.name, func(b *testing.B) {
			rt := &process.Runtime{Standby: mode.standby}
			defer rt.Close()
			prog := runtime.Spec{Path: hearthBin, Args: []string{"worker", "xgboost", "serve"}, Standby: true}
			rt.Prewarm(prog)
			time.Sleep(200 * time.Millisecond) // let the first standby process start
			var starts []time.Duration
			var rss []float64
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			for i := 0; i < b.N; i++ {
				port := benchFreePort(b)
				spec := prog
				spec.Env = []string{"SAGEMAKER_BIND_TO_PORT=" + strconv.Itoa(port), "SM_MODEL_DIR=" + modelDir}
				spec.Dir = b.TempDir()
				t0 := time.Now()
				p, err := rt.Start(context.Background(), spec)
				if err != nil {
					b.Fatal(err)
				}
				url := fmt.Sprintf("http://127.0.0.1:%d", port)
				for {
					resp, err := client.Get(url + "/ping")
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode == 200 {
							break
						}
					}
					if time.Since(t0) > 10*time.Second {
						b.Fatalf("worker not ready: %s", p.Output())
					}
					time.Sleep(100 * time.Microsecond)
				}
				starts = append(starts, time.Since(t0))
				resp, err := client.Post(url+"/invocations", "text/csv", strings.NewReader(string(payload)))
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("invoke: %v", err)
				}
				resp.Body.Close()
				rss = append(rss, rssMB(p.Pid()))
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = p.Stop(ctx)
				cancel()
				time.Sleep(50 * time.Millisecond) // let the next standby process settle
			}
			sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
			sort.Float64s(rss)
			b.ReportMetric(float64(starts[len(starts)/2].Microseconds())/1000, "start-p50-ms")
			b.ReportMetric(float64(starts[len(starts)*99/100].Microseconds())/1000, "start-p99-ms")
			b.ReportMetric(rss[len(rss)/2], "rss-MB")
		})
	}
}

func benchFreePort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func rssMB(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.Fields(rest)[0])
			return float64(kb) / 1024
		}
	}
	return 0
}

package gateway_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hearth/internal/fleet"
	"hearth/internal/gateway"
	"hearth/internal/runtime"
	"hearth/internal/runtime/inprocess"
	"hearth/internal/runtime/process"
)

const xgbImage = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

// seedPayload is the row the seed example sends to its abalone model.
var seedPayload = []byte(".345,0.224414,.131102,0.042329,.279923,-0.110329,-0.099358,0.0")

// newBuiltinEnv is a bench environment serving the seed XGBoost model on
// the built-in runtime: in-process, or as `hearth worker xgboost serve`
// processes of a freshly built hearth binary.
func newBuiltinEnv(b *testing.B, inProcess bool) *benchEnv {
	b.Helper()
	dir := b.TempDir()
	model := filepath.Join(dir, "model")
	if err := os.MkdirAll(model, 0o755); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("tar", "-xzf", "../xgboost/testdata/seed-abalone-tarball/model.tar.gz", "-C", model).CombinedOutput(); err != nil {
		b.Fatalf("unpack the seed model: %v\n%s", err, out)
	}
	opts := fleet.Options{Artifacts: staticArtifacts{model}}
	if inProcess {
		opts.Builtin = &inprocess.Runtime{}
	} else {
		// One standby process, as hearth serve keeps.
		rt := &process.Runtime{Standby: 1}
		b.Cleanup(rt.Close)
		opts.Runtime, opts.SelfPath = rt, filepath.Join(dir, "hearth")
		if out, err := exec.Command("go", "build", "-o", opts.SelfPath, "hearth/cmd/hearth").CombinedOutput(); err != nil {
			b.Fatalf("build hearth: %v\n%s", err, out)
		}
	}
	return newBenchEnvWith(b, opts)
}

func runtimeName(inProcess bool) string {
	if inProcess {
		return "in-process"
	}
	return "process"
}

// BenchmarkBuiltinColdStart: an on-demand request to the seed XGBoost
// model that must start its worker (the previous one expired by the fake
// clock), over raw HTTP on a kept-alive client connection.
func BenchmarkBuiltinColdStart(b *testing.B) {
	for _, inProcess := range []bool{true, false} {
		b.Run(runtimeName(inProcess), func(b *testing.B) {
			e := newBuiltinEnv(b, inProcess)
			e.deployImage(b, "od", xgbImage, 1, 0)
			url := e.url + "/endpoints/od/invocations"
			post(b, url, seedPayload) // a warm connection to Hearth
			d := make([]time.Duration, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e.clock.Advance(6 * time.Minute)
				for e.fleet.MemoryUsedMB() > 0 {
					time.Sleep(50 * time.Microsecond)
				}
				b.StartTimer()
				t0 := time.Now()
				resp, err := client.Post(url, "text/csv", bytes.NewReader(seedPayload))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				d[i] = time.Since(t0)
				if resp.StatusCode != 200 || resp.Header.Get(gateway.ServedHeader) != "cold" {
					b.Fatalf("request %d: status %d served %q, want 200 cold", i, resp.StatusCode, resp.Header.Get(gateway.ServedHeader))
				}
			}
			b.StopTimer()
			reportPercentiles(b, d)
		})
	}
}

// BenchmarkBuiltinWarmThroughput drives 8 clients at 8 provisioned
// workers of the seed XGBoost model, on each built-in runtime: "fleet"
// calls the data plane (fleet.Invoke) directly, "http" goes through the
// gateway over loopback HTTP as clients do.
func BenchmarkBuiltinWarmThroughput(b *testing.B) {
	const conc = 8
	for _, inProcess := range []bool{true, false} {
		b.Run(runtimeName(inProcess), func(b *testing.B) {
			e := newBuiltinEnv(b, inProcess)
			e.deployImage(b, "tp", xgbImage, conc, conc)
			url := e.url + "/endpoints/tp/invocations"
			run := func(b *testing.B, do func() error) {
				var n atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for range conc {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for n.Add(1) <= int64(b.N) {
							if err := do(); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			}
			b.Run("fleet", func(b *testing.B) {
				run(b, func() error {
					_, err := e.fleet.Invoke(context.Background(), &fleet.Request{Endpoint: "tp", Request: runtime.Request{ContentType: "text/csv", Body: seedPayload}})
					return err
				})
			})
			b.Run("http", func(b *testing.B) {
				run(b, func() error {
					resp, err := client.Post(url, "text/csv", bytes.NewReader(seedPayload))
					if err != nil {
						return err
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					return nil
				})
			})
		})
	}
}

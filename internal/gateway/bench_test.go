package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hearth"
	"hearth/internal/clock"
	"hearth/internal/control"
	"hearth/internal/fleet"
	"hearth/internal/gateway"
	"hearth/internal/httpwire"
	"hearth/internal/runtime/process"
	"hearth/internal/store"
)

// benchEnv is an in-process Hearth (store, control plane, fleet, gateway)
// on a real loopback listener, with real echo-worker processes. url is
// served as hearth serve serves it (gateway.NewServer: the invocation
// route's own server in front of net/http); stdURL by net/http alone.
type benchEnv struct {
	url, stdURL string
	fleet       *fleet.Fleet
	clock       *clock.Fake
	ctl         *control.Service
}

type staticArtifacts struct{ dir string }

func (a staticArtifacts) Fetch(ctx context.Context, url string) (string, error) { return a.dir, nil }

func newBenchEnv(b testing.TB) *benchEnv { return newBenchEnvWith(b, fleet.Options{}) }

// newBenchEnvWith is newBenchEnv with the fleet options given (Builtin,
// SelfPath, Artifacts) in place of the defaults.
func newBenchEnvWith(b testing.TB, opts fleet.Options) *benchEnv {
	b.Helper()
	dir := b.TempDir()
	bin := filepath.Join(dir, "echo-worker")
	if out, err := exec.Command("go", "build", "-o", bin, "hearth/cmd/echo-worker").CombinedOutput(); err != nil {
		b.Fatalf("build echo-worker: %v\n%s", err, out)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "data"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	fc := clock.NewFake(time.Now())
	if opts.Runtime == nil {
		opts.Runtime = &process.Runtime{}
	}
	opts.Clock = fc
	opts.ScratchDir, opts.AccountID = filepath.Join(dir, "scratch"), "000000000000"
	if opts.Artifacts == nil {
		opts.Artifacts = staticArtifacts{dir}
	}
	f := fleet.New(opts)
	b.Cleanup(func() { f.Close(context.Background()) })
	ctl := control.New(st, f, control.Options{Region: "us-east-1", AccountID: "000000000000", Clock: fc})
	f.SetReporter(ctl)
	g := gateway.New(gateway.Options{Control: ctl, Invoker: &gateway.Runtime{Fleet: f, Region: "us-east-1", AccountID: "000000000000"}})
	g.SetReady(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: g}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	os.Setenv("BENCH_ECHO", bin)
	return &benchEnv{url: serve(b, g), stdURL: "http://" + ln.Addr().String(), fleet: f, clock: fc, ctl: ctl}
}

// deploy creates an echo endpoint through the control plane and waits for it.
func (e *benchEnv) deploy(b testing.TB, name string, maxConc, pc int) {
	e.deployImage(b, name, os.Getenv("BENCH_ECHO"), maxConc, pc)
}

// deployImage creates an endpoint of image through the control plane and
// waits for it.
func (e *benchEnv) deployImage(b testing.TB, name, image string, maxConc, pc int) {
	b.Helper()
	ctx := context.Background()
	str := func(s string) *string { return &s }
	i32 := func(n int) *int32 { v := int32(n); return &v }
	if _, err := e.ctl.CreateModel(ctx, &control.CreateModelInput{ModelName: str(name),
		PrimaryContainer: &control.ContainerDefinition{Image: str(image)}}); err != nil {
		b.Fatal(err)
	}
	sc := &control.ServerlessConfig{MemorySizeInMB: i32(1024), MaxConcurrency: i32(maxConc)}
	if pc > 0 {
		sc.ProvisionedConcurrency = i32(pc)
	}
	if _, err := e.ctl.CreateEndpointConfig(ctx, &control.CreateEndpointConfigInput{EndpointConfigName: str(name),
		ProductionVariants: []control.ProductionVariant{{VariantName: str("AllTraffic"), ModelName: str(name), ServerlessConfig: sc}}}); err != nil {
		b.Fatal(err)
	}
	if _, err := e.ctl.CreateEndpoint(ctx, &control.CreateEndpointInput{EndpointName: str(name), EndpointConfigName: str(name)}); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ep, err := e.ctl.DescribeEndpoint(ctx, &control.NameInput{EndpointName: str(name)})
		if err == nil && ep.EndpointStatus == control.StatusInService {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.Fatalf("endpoint %s not in service", name)
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 1024}}

func post(b *testing.B, url string, body []byte) {
	resp, err := client.Post(url, "text/csv", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("%s: status %d", url, resp.StatusCode)
	}
}

// latencies runs b.N sequential requests and reports p50/p99.
func latencies(b *testing.B, do func()) {
	b.Helper()
	for i := 0; i < 50; i++ { // warm connections
		do()
	}
	d := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		do()
		d[i] = time.Since(t0)
	}
	b.StopTimer()
	reportPercentiles(b, d)
}

func reportPercentiles(b *testing.B, d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	pct := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

var payload = []byte("5.1,3.5,1.4,0.2")

// BenchmarkWarmInvoke compares one request sent straight to a worker with
// the same request through Hearth to a warm provisioned worker.
func BenchmarkWarmInvoke(b *testing.B) {
	e := newBenchEnv(b)
	e.deploy(b, "warm", 4, 1)
	worker := e.fleet.WorkerURLs("warm")[0]
	b.Run("direct", func(b *testing.B) { latencies(b, func() { post(b, worker+"/invocations", payload) }) })
	b.Run("hearth", func(b *testing.B) { latencies(b, func() { post(b, e.url+"/endpoints/warm/invocations", payload) }) })
	b.Run("hearth-net-http", func(b *testing.B) { latencies(b, func() { post(b, e.stdURL+"/endpoints/warm/invocations", payload) }) })
}

// BenchmarkProvisionedFirstRequestAfterIdle: a provisioned endpoint idle
// far past the keep-warm period still answers its first request warm.
func BenchmarkProvisionedFirstRequestAfterIdle(b *testing.B) {
	e := newBenchEnv(b)
	e.deploy(b, "pc", 1, 1)
	d := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e.clock.Advance(10 * time.Minute)
		client.CloseIdleConnections() // a client returning after a quiet spell dials anew
		b.StartTimer()
		t0 := time.Now()
		post(b, e.url+"/endpoints/pc/invocations", payload)
		d[i] = time.Since(t0)
	}
	b.StopTimer()
	reportPercentiles(b, d)
}

// BenchmarkColdStart measures an on-demand request that must start its
// worker: the previous one is expired by advancing the fake clock past
// keep-warm before every request.
func BenchmarkColdStart(b *testing.B) {
	e := newBenchEnv(b)
	e.deploy(b, "od", 1, 0)
	d := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e.clock.Advance(6 * time.Minute)
		for len(e.fleet.WorkerURLs("od")) > 0 {
			time.Sleep(100 * time.Microsecond)
		}
		b.StartTimer()
		t0 := time.Now()
		resp, err := client.Post(e.url+"/endpoints/od/invocations", "text/csv", bytes.NewReader(payload))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d[i] = time.Since(t0)
		if resp.Header.Get(gateway.ServedHeader) != "cold" {
			b.Fatalf("request %d served %q, want cold", i, resp.Header.Get(gateway.ServedHeader))
		}
	}
	b.StopTimer()
	reportPercentiles(b, d)
}

// BenchmarkThroughputAtMaxConcurrency drives MaxConcurrency clients at an
// endpoint with as many provisioned workers, and the same clients straight
// at those workers.
func BenchmarkThroughputAtMaxConcurrency(b *testing.B) {
	const conc = 8
	e := newBenchEnv(b)
	e.deploy(b, "tp", conc, conc)
	workers := e.fleet.WorkerURLs("tp")
	run := func(b *testing.B, url func(i int) string) {
		var n atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		start := time.Now()
		for c := 0; c < conc; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n.Add(1) <= int64(b.N) {
					resp, err := client.Post(url(c), "text/csv", bytes.NewReader(payload))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	}
	b.Run("direct", func(b *testing.B) { run(b, func(i int) string { return workers[i%len(workers)] + "/invocations" }) })
	b.Run("hearth", func(b *testing.B) { run(b, func(int) string { return e.url + "/endpoints/tp/invocations" }) })
	b.Run("hearth-net-http", func(b *testing.B) { run(b, func(int) string { return e.stdURL + "/endpoints/tp/invocations" }) })
}

var _ = hearth.Ready
var _ = fmt.Sprint

// BenchmarkWarmInvokeRaw sends warm invocations from a client that
// allocates nothing (one kept-alive connection, its buffers reused), so
// that allocs/op is what Hearth allocates serving one request.
func BenchmarkWarmInvokeRaw(b *testing.B) {
	e := newBenchEnv(b)
	e.deploy(b, "raw", 1, 1)
	conn, err := net.Dial("tcp", e.url[len("http://"):])
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	req := []byte(fmt.Sprintf("POST /endpoints/raw/invocations HTTP/1.1\r\nHost: hearth\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n%s", len(payload), payload))
	buf := make([]byte, 64<<10)
	do := func() {
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			m, err := conn.Read(buf[n:])
			if err != nil {
				b.Fatal(err)
			}
			n += m
			head := bytes.Index(buf[:n], []byte("\r\n\r\n"))
			if head < 0 {
				continue
			}
			if !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 200 ")) {
				b.Fatalf("response: %q", buf[:n])
			}
			i := bytes.Index(buf[:head], []byte("\r\nContent-Length: "))
			if i < 0 {
				b.Fatalf("response without Content-Length: %q", buf[:head])
			}
			value, _, _ := bytes.Cut(buf[i+len("\r\nContent-Length: "):head+2], []byte("\r\n"))
			length, ok := httpwire.ParseLength(value)
			if !ok {
				b.Fatalf("response with Content-Length %q", value)
			}
			if int64(n) >= int64(head+4)+length {
				return
			}
		}
	}
	for i := 0; i < 50; i++ {
		do()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		do()
	}
}

package logs_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"hearth/internal/clock"
	"hearth/internal/logs"
)

// benchLine is a typical 100-byte log line.
var benchLine = []byte(strings.Repeat("x", 83) + " INFO predict ok\n")

func benchStore(b *testing.B, opts logs.Options) *logs.Store {
	b.Helper()
	opts.Clock = clock.Real{}
	st, err := logs.Open(context.Background(), openDB(b), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkStreamWriterLine is what a worker's write of one line costs on
// its own goroutine: split, stamp, queue. The appender writes to SQLite
// meanwhile.
func BenchmarkStreamWriterLine(b *testing.B) {
	st := benchStore(b, logs.Options{})
	w := st.NewStreamWriter(group, "AllTraffic/w1")
	b.ReportAllocs()
	b.SetBytes(int64(len(benchLine)))
	for b.Loop() {
		w.Write(benchLine)
	}
	b.StopTimer()
	b.ReportMetric(float64(st.Dropped()), "dropped")
}

// BenchmarkIngest is the appender's pace: lines written and stored in
// SQLite, per line.
func BenchmarkIngest(b *testing.B) {
	st := benchStore(b, logs.Options{QueueBytes: 1 << 30})
	w := st.NewStreamWriter(group, "AllTraffic/w1")
	ctx := context.Background()
	for b.Loop() {
		w.Write(benchLine)
	}
	if err := st.Flush(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkChattyWorkerInvoke times an invocation of a real worker process
// that prints n lines to stderr for each request, with its output going
// nowhere but the runtime's tail ("no-logging") or to a StreamWriter
// ("logging"), in the same run: the ratio is what logging adds to a
// request.
func BenchmarkChattyWorkerInvoke(b *testing.B) {
	bin := buildEcho(b)
	for _, n := range []int{10, 1000} {
		body := "log " + strings.TrimSuffix(strings.Repeat(string(benchLine), n), "\n")
		for _, mode := range []string{"no-logging", "logging"} {
			b.Run(fmt.Sprintf("lines=%d/%s", n, mode), func(b *testing.B) {
				var out io.Writer
				var st *logs.Store
				if mode == "logging" {
					st = benchStore(b, logs.Options{})
					out = st.NewStreamWriter(group, "AllTraffic/w1")
				}
				p := startEcho(b, bin, out)
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
				url := "http://" + p.Addr() + "/invocations"
				post := func() {
					resp, err := client.Post(url, "text/plain", strings.NewReader(body))
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				post() // warm the connection
				b.ResetTimer()
				for b.Loop() {
					post()
				}
				b.StopTimer()
				if st != nil {
					st.Flush(context.Background())
					b.ReportMetric(float64(st.Dropped()), "dropped")
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				p.Stop(ctx)
			})
		}
	}
}

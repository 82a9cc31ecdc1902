package logs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"hearth/internal/clock"
	"hearth/internal/logs"
	"hearth/internal/runtime"
)

// benchLine is a typical 100-byte log line.
var benchLine = []byte(strings.Repeat("x", 83) + " INFO predict ok\n")

func benchStore(b *testing.B, opts logs.Options) *logs.Store {
	b.Helper()
	opts.Clock = clock.Real{}
	opts.Logger = slog.New(slog.DiscardHandler)
	st, err := logs.Open(context.Background(), openDB(b), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkStreamWriterLine is what a worker's write of one line costs on
// the goroutine that copies its output: split, stamp, queue. The appender
// is held off (a one-hour interval); the queue is written, outside the
// timing, every 1,000 lines, as the appender would. BenchmarkIngest is the
// other side.
func BenchmarkStreamWriterLine(b *testing.B) {
	benchWriter(b, benchLine)
}

// BenchmarkStreamWriterBlock is the same for output read from a pipe in
// 32 KiB blocks of 100-byte lines.
func BenchmarkStreamWriterBlock(b *testing.B) {
	benchWriter(b, []byte(strings.Repeat(string(benchLine), 32<<10/len(benchLine))))
}

func benchWriter(b *testing.B, block []byte) {
	st := benchStore(b, logs.Options{FlushInterval: time.Hour})
	w := st.NewStreamWriter(group, "AllTraffic/w1")
	perWrite := len(block) / len(benchLine)
	ctx := context.Background()
	lines := 0
	b.ReportAllocs()
	for b.Loop() {
		w.Write(block)
		lines += perWrite
		if lines%1000 < perWrite {
			b.StopTimer()
			st.Flush(ctx)
			b.StartTimer()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(lines), "ns/line")
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

// BenchmarkChattyWorkerInvoke times invocations of two real worker
// processes that print n lines to stderr for each request: one whose
// output goes only to the runtime's tail, one whose output also goes to a
// StreamWriter. Requests alternate between them in the same loop, so both
// see the same machine; the metrics are each one's mean latency and their
// ratio.
func BenchmarkChattyWorkerInvoke(b *testing.B) {
	bin := buildEcho(b)
	for _, n := range []int{10, 1000} {
		body := "log " + strings.TrimSuffix(strings.Repeat(string(benchLine), n), "\n")
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			st := benchStore(b, logs.Options{})
			plain := startEcho(b, bin, nil)
			logged := startEcho(b, bin, st.NewStreamWriter(group, "AllTraffic/w1"))
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
			post := func(p runtime.Process) time.Duration {
				start := time.Now()
				resp, err := client.Post("http://"+p.Addr()+"/invocations", "text/plain", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return time.Since(start)
			}
			post(plain) // warm the connections
			post(logged)
			var tPlain, tLogged time.Duration
			i := 0
			for b.Loop() {
				if i%2 == 0 {
					tPlain += post(plain)
					tLogged += post(logged)
				} else {
					tLogged += post(logged)
					tPlain += post(plain)
				}
				i++
			}
			b.StopTimer()
			st.Flush(context.Background())
			b.ReportMetric(float64(tPlain.Nanoseconds())/float64(i), "ns/invoke-no-logging")
			b.ReportMetric(float64(tLogged.Nanoseconds())/float64(i), "ns/invoke-logging")
			b.ReportMetric(float64(tLogged)/float64(tPlain), "ratio")
			b.ReportMetric(float64(st.Dropped())/float64(i*n), "dropped/line")
			for _, p := range []runtime.Process{plain, logged} {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				p.Stop(ctx)
				cancel()
			}
		})
	}
}

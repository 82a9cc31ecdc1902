package metrics

import (
	"sync"
	"testing"
	"time"
)

// BenchmarkSeriesAdd measures recording one datapoint on a resolved series,
// crossing into a new 1 s period every million datapoints.
func BenchmarkSeriesAdd(b *testing.B) {
	s, _ := newTestStore(b, time.Second, &fakeClock{now: t0})
	ser := s.Series("Bench", "Latency", testDims, UnitMicroseconds)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ser.Add(t0.Add(time.Duration(i)*time.Microsecond), float64(i%5000))
		i++
	}
}

// BenchmarkSeriesAddContended has two goroutines record into one series.
func BenchmarkSeriesAddContended(b *testing.B) {
	s, _ := newTestStore(b, time.Second, &fakeClock{now: t0})
	ser := s.Series("Bench", "Latency", testDims, UnitMicroseconds)
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := g; i < b.N; i += 2 {
				ser.Add(t0.Add(time.Duration(i)*time.Microsecond), float64(i%5000))
			}
		})
	}
	wg.Wait()
}

// BenchmarkInvocation measures the whole per-request recording path of a
// variant with provisioned concurrency.
func BenchmarkInvocation(b *testing.B) {
	s, _ := newTestStore(b, time.Minute, &fakeClock{now: t0})
	v := NewRecorder(s, RecorderOptions{}).Variant("ep", "AllTraffic")
	v.SetProvisioned(t0, 2)
	o := Outcome{Served: WarmProvisioned, Status: 200, ModelLatency: 3 * time.Millisecond, OverheadLatency: 200 * time.Microsecond}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v.Invocation(t0.Add(time.Duration(i)*time.Microsecond), o)
		i++
	}
}

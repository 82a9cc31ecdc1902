package metrics

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var testDims = []Dimension{{"VariantName", "AllTraffic"}, {"EndpointName", "ep"}}

func testMetric() MetricID { return MetricID{Namespace: "Test", Name: "Latency", Dimensions: testDims} }

func TestOpenRejectsUnsupportedBasePeriod(t *testing.T) {
	for _, p := range []time.Duration{2 * time.Second, 90 * time.Second, 1500 * time.Millisecond} {
		_, err := Open(context.Background(), nil, Options{BasePeriod: p})
		if err == nil {
			t.Errorf("Open with base period %v succeeded", p)
		}
	}
}

func TestSeriesHandlesAreShared(t *testing.T) {
	s, _ := newTestStore(t, time.Second, &fakeClock{now: t0})
	a := s.Series("Test", "Latency", testDims, UnitMicroseconds)
	b := s.Series("Test", "Latency", []Dimension{testDims[1], testDims[0]}, UnitMicroseconds)
	if a != b {
		t.Error("the same metric with dimensions in another order gave another series")
	}
	if c := s.Series("Test", "Latency", testDims, UnitMilliseconds); c == a {
		t.Error("another unit gave the same series")
	}
	if got := s.Series("Test", "X", nil, "").Unit(); got != UnitNone {
		t.Errorf("empty unit became %q, want None", got)
	}
}

// TestQueryAggregatesAcrossHeadAndDatabase records values over several
// periods, flushes some, and checks every statistic both before and after.
func TestQueryAggregatesAcrossHeadAndDatabase(t *testing.T) {
	clock := &fakeClock{now: t0}
	s, _ := newTestStore(t, time.Second, clock)
	ser := s.Series("Test", "Latency", testDims, UnitMicroseconds)
	// Seconds 0..9, value = 10*second + i for i in 0..4.
	for sec := range 10 {
		for i := range 5 {
			ser.Add(t0.Add(time.Duration(sec)*time.Second+time.Duration(i)*time.Millisecond), float64(10*sec+i))
		}
	}
	want := []Datapoint{
		{Timestamp: t0, Unit: UnitMicroseconds, SampleCount: 25, Minimum: 0, Maximum: 44, Percentiles: []float64{22, 44}},
		{Timestamp: t0.Add(5 * time.Second), Unit: UnitMicroseconds, SampleCount: 25, Minimum: 50, Maximum: 94, Percentiles: []float64{72, 94}},
	}
	for sec := range 10 {
		for i := range 5 {
			want[sec/5].Sum += float64(10*sec + i)
		}
	}
	q := Query{Metric: testMetric(), Start: t0, End: t0.Add(10 * time.Second), Period: 5 * time.Second, Percentiles: []float64{50, 100}}

	clock.Set(t0.Add(10 * time.Second))
	if diff := cmp.Diff(want, query(t, s, q)); diff != "" {
		t.Errorf("from the head (-want +got):\n%s", diff)
	}
	if err := s.Flush(context.Background(), t0.Add(7*time.Second)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, query(t, s, q)); diff != "" {
		t.Errorf("part flushed (-want +got):\n%s", diff)
	}
	if err := s.Flush(context.Background(), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, query(t, s, q)); diff != "" {
		t.Errorf("all flushed (-want +got):\n%s", diff)
	}
}

func TestQueryStartEndAndUnits(t *testing.T) {
	clock := &fakeClock{now: t0.Add(time.Hour)}
	s, _ := newTestStore(t, time.Second, clock)
	us := s.Series("Test", "Latency", testDims, UnitMicroseconds)
	ms := s.Series("Test", "Latency", testDims, UnitMilliseconds)
	for sec := range 120 {
		us.Add(t0.Add(time.Duration(sec)*time.Second), 1)
	}
	ms.Add(t0, 7)
	tests := []struct {
		name string
		q    Query
		want []Datapoint
	}{
		{
			name: "every unit gets its own datapoint",
			q:    Query{Metric: testMetric(), Start: t0, End: t0.Add(time.Minute), Period: time.Minute},
			want: []Datapoint{
				{Timestamp: t0, Unit: UnitMicroseconds, SampleCount: 60, Sum: 60, Minimum: 1, Maximum: 1},
				{Timestamp: t0, Unit: UnitMilliseconds, SampleCount: 1, Sum: 7, Minimum: 7, Maximum: 7},
			},
		},
		{
			name: "a unit filter keeps only that unit",
			q:    Query{Metric: testMetric(), Unit: UnitMilliseconds, Start: t0, End: t0.Add(time.Minute), Period: time.Minute},
			want: []Datapoint{{Timestamp: t0, Unit: UnitMilliseconds, SampleCount: 1, Sum: 7, Minimum: 7, Maximum: 7}},
		},
		{
			name: "end is exclusive",
			q:    Query{Metric: testMetric(), Unit: UnitMicroseconds, Start: t0, End: t0.Add(90 * time.Second), Period: time.Minute},
			want: []Datapoint{
				{Timestamp: t0, Unit: UnitMicroseconds, SampleCount: 60, Sum: 60, Minimum: 1, Maximum: 1},
				{Timestamp: t0.Add(time.Minute), Unit: UnitMicroseconds, SampleCount: 30, Sum: 30, Minimum: 1, Maximum: 1},
			},
		},
		{
			name: "a start inside a minute is rounded down to the minute for minute periods",
			q:    Query{Metric: testMetric(), Unit: UnitMicroseconds, Start: t0.Add(30 * time.Second), End: t0.Add(time.Minute), Period: time.Minute},
			want: []Datapoint{{Timestamp: t0, Unit: UnitMicroseconds, SampleCount: 60, Sum: 60, Minimum: 1, Maximum: 1}},
		},
		{
			name: "sub-minute periods round to the period",
			q:    Query{Metric: testMetric(), Unit: UnitMicroseconds, Start: t0.Add(12 * time.Second), End: t0.Add(20 * time.Second), Period: 10 * time.Second},
			want: []Datapoint{{Timestamp: t0.Add(10 * time.Second), Unit: UnitMicroseconds, SampleCount: 10, Sum: 10, Minimum: 1, Maximum: 1}},
		},
		{
			name: "another metric has nothing",
			q:    Query{Metric: MetricID{Namespace: "Test", Name: "Latency"}, Start: t0, End: t0.Add(time.Minute), Period: time.Minute},
			want: []Datapoint{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := query(t, s, tt.q)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	clock := &fakeClock{now: t0}
	s, _ := newTestStore(t, time.Second, clock)
	tests := []struct {
		name string
		q    Query
		want error
	}{
		{"zero period", Query{Metric: testMetric(), Start: t0, End: t0.Add(time.Hour)}, ErrInvalidQuery},
		{"fractional period", Query{Metric: testMetric(), Start: t0, End: t0.Add(time.Hour), Period: 1500 * time.Millisecond}, ErrInvalidQuery},
		{"end before start", Query{Metric: testMetric(), Start: t0, End: t0.Add(-time.Hour), Period: time.Minute}, ErrInvalidQuery},
		{"percentile over 100", Query{Metric: testMetric(), Start: t0.Add(-time.Hour), End: t0, Period: time.Minute, Percentiles: []float64{101}}, ErrInvalidQuery},
		{"1 s period on data older than 3 hours", Query{Metric: testMetric(), Start: t0.Add(-4 * time.Hour), End: t0, Period: time.Second}, ErrPeriodTooFine},
		{"1 minute period on data older than 15 days", Query{Metric: testMetric(), Start: t0.Add(-16 * day), End: t0, Period: time.Minute}, ErrPeriodTooFine},
		{"5 minute period on data older than 63 days", Query{Metric: testMetric(), Start: t0.Add(-64 * day), End: t0, Period: 5 * time.Minute}, ErrPeriodTooFine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Query(context.Background(), tt.q); !errors.Is(err, tt.want) {
				t.Errorf("Query error = %v, want %v", err, tt.want)
			}
		})
	}
	s60, _ := newTestStore(t, time.Minute, clock)
	_, err := s60.Query(context.Background(), Query{Metric: testMetric(), Start: t0.Add(-time.Minute), End: t0, Period: 10 * time.Second})
	if !errors.Is(err, ErrPeriodTooFine) {
		t.Errorf("10 s period on a 60 s store: error = %v, want ErrPeriodTooFine", err)
	}
}

// TestRollupsAnswerOldQueries records second-resolution data, lets days
// pass, and checks that coarser levels still answer with the same totals
// after the fine data has expired.
func TestRollupsAnswerOldQueries(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: t0}
	s, _ := newTestStore(t, time.Second, clock)
	ser := s.Series("Test", "Latency", testDims, UnitMicroseconds)
	// One value per second for two hours: 1..7200.
	for i := range 7200 {
		ser.Add(t0.Add(time.Duration(i)*time.Second), float64(i+1))
	}
	end := t0.Add(2 * time.Hour)
	for _, now := range []time.Time{end, end.Add(time.Hour), end.Add(4 * time.Hour), end.Add(20 * day), end.Add(70 * day)} {
		clock.Set(now)
		if err := s.Flush(ctx, now); err != nil {
			t.Fatalf("Flush at %v: %v", now, err)
		}
		q := Query{Metric: testMetric(), Start: t0, End: end, Period: time.Hour, Percentiles: []float64{50}}
		got := query(t, s, q)
		if len(got) != 2 {
			t.Fatalf("at %v: %d datapoints, want 2", now, len(got))
		}
		for h, dp := range got {
			lo := float64(h*3600 + 1)
			hi := float64(h*3600 + 3600)
			if dp.SampleCount != 3600 || dp.Minimum != lo || dp.Maximum != hi || dp.Sum != (lo+hi)*1800 {
				t.Errorf("at %v hour %d: %+v, want count 3600 min %v max %v sum %v", now, h, dp, lo, hi, (lo+hi)*1800)
			}
			if med := (lo + hi) / 2; math.Abs(dp.Percentiles[0]-med)/med > 0.01 {
				t.Errorf("at %v hour %d: p50 %v, want %v within 1%%", now, h, dp.Percentiles[0], med)
			}
		}
	}
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM metric_points WHERE resolution IN (1, 60)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows of 1 s and 1 min data remain after 70 days, want 0", n)
	}
}

// TestLateDataReachesRolledUpLevels: data recorded for a period after it
// was rolled up is added to the coarser levels too.
func TestLateDataReachesRolledUpLevels(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: t0}
	s, _ := newTestStore(t, time.Second, clock)
	ser := s.Series("Test", "Latency", testDims, UnitMicroseconds)
	ser.Add(t0, 1)
	now := t0.Add(2 * time.Hour)
	clock.Set(now)
	if err := s.Flush(ctx, now); err != nil {
		t.Fatal(err)
	}
	ser.Add(t0.Add(30*time.Second), 2) // late
	if err := s.Flush(ctx, now); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(5 * time.Hour) // 1 s data gone; minutes answer
	clock.Set(now)
	if err := s.Flush(ctx, now); err != nil {
		t.Fatal(err)
	}
	got := query(t, s, Query{Metric: testMetric(), Start: t0, End: t0.Add(time.Hour), Period: time.Hour})
	want := []Datapoint{{Timestamp: t0, Unit: UnitMicroseconds, SampleCount: 2, Sum: 3, Minimum: 1, Maximum: 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDataSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: t0}
	s, path := newTestStore(t, time.Second, clock)
	ser := s.Series("Test", "Latency", testDims, UnitMicroseconds)
	for i := range 100 {
		ser.Add(t0.Add(time.Duration(i)*100*time.Millisecond), float64(i))
	}
	stats := s.Series("Test", "Latency", testDims, UnitMilliseconds)
	stats.AddStatistics(t0, StatisticSet{SampleCount: 4, Sum: 10, Minimum: 1, Maximum: 4})
	q := Query{Metric: testMetric(), Start: t0, End: t0.Add(time.Minute), Period: time.Minute, Percentiles: []float64{50}}
	clock.Set(t0.Add(time.Minute))
	before := query(t, s, q)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := Open(ctx, openDB(t, path), Options{BasePeriod: time.Second, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	after := query(t, s2, q)
	if diff := cmp.Diff(before, after, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("after restart (-before +after):\n%s", diff)
	}
	if len(after) != 2 || after[0].SampleCount != 100 || after[0].Percentiles[0] != 49 || !math.IsNaN(after[1].Percentiles[0]) {
		t.Errorf("unexpected datapoints %+v", after)
	}
	ms, err := s2.ListMetrics(ctx, MetricFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]MetricID{NewMetricID("Test", "Latency", testDims)}, ms); diff != "" {
		t.Errorf("ListMetrics after restart (-want +got):\n%s", diff)
	}
}

// TestFailedFlushKeepsData breaks the table a flush writes to, and checks
// that the data stays queryable and is written by the next flush.
func TestFailedFlushKeepsData(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: t0}
	s, _ := newTestStore(t, time.Second, clock)
	ser := s.Series("Test", "Latency", testDims, UnitMicroseconds)
	ser.Add(t0, 5)
	if _, err := s.db.Exec(`DROP TABLE metric_points`); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Minute)
	clock.Set(now)
	if err := s.Flush(ctx, now); err == nil {
		t.Fatal("Flush succeeded without its table")
	}
	if _, err := s.db.Exec(schema); err != nil {
		t.Fatal(err)
	}
	q := Query{Metric: testMetric(), Start: t0, End: now, Period: time.Minute}
	want := []Datapoint{{Timestamp: t0, Unit: UnitMicroseconds, SampleCount: 1, Sum: 5, Minimum: 5, Maximum: 5}}
	if diff := cmp.Diff(want, query(t, s, q)); diff != "" {
		t.Errorf("after failed flush (-want +got):\n%s", diff)
	}
	if err := s.Flush(ctx, now); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, query(t, s, q)); diff != "" {
		t.Errorf("after retried flush (-want +got):\n%s", diff)
	}
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM metric_points WHERE resolution = 1`).Scan(&n); err != nil || n != 1 {
		t.Errorf("stored rows = %d (%v), want 1", n, err)
	}
}

func TestListMetrics(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: t0}
	s, _ := newTestStore(t, time.Minute, clock)
	a := NewMetricID("NS1", "A", []Dimension{{"EndpointName", "ep1"}, {"VariantName", "v"}})
	b := NewMetricID("NS1", "B", []Dimension{{"EndpointName", "ep2"}})
	c := NewMetricID("NS2", "A", nil)
	old := NewMetricID("NS1", "Old", nil)
	for _, m := range []MetricID{a, b, c} {
		s.Series(m.Namespace, m.Name, m.Dimensions, UnitCount).Add(t0, 1)
	}
	s.Series(a.Namespace, a.Name, a.Dimensions, UnitSeconds).Add(t0, 1) // same metric, another unit
	s.Series(old.Namespace, old.Name, nil, "").Add(t0.Add(-15*day), 1)
	s.Series("NS1", "Empty", nil, "")                        // never recorded
	if err := s.Flush(ctx, t0.Add(-time.Hour)); err != nil { // writes "old" to the database
		t.Fatal(err)
	}
	clock.Set(t0.Add(time.Hour))
	tests := []struct {
		name string
		f    MetricFilter
		want []MetricID
	}{
		{"everything recent, once per metric", MetricFilter{}, []MetricID{a, b, c}},
		{"by namespace", MetricFilter{Namespace: "NS1"}, []MetricID{a, b}},
		{"by name", MetricFilter{MetricName: "A"}, []MetricID{a, c}},
		{"by dimension name", MetricFilter{Dimensions: []DimensionFilter{{Name: "EndpointName"}}}, []MetricID{a, b}},
		{"by dimension value", MetricFilter{Dimensions: []DimensionFilter{{Name: "EndpointName", Value: "ep2"}}}, []MetricID{b}},
		{"every dimension filter must match", MetricFilter{Dimensions: []DimensionFilter{{Name: "EndpointName"}, {Name: "VariantName"}}}, []MetricID{a}},
		{"recently active excludes older data", MetricFilter{ActiveSince: t0.Add(30 * time.Minute)}, []MetricID{}},
		{"an older window includes metrics stored long ago", MetricFilter{Namespace: "NS1", ActiveSince: t0.Add(-16 * day)}, []MetricID{a, b, old}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListMetrics(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAddValuesAndStatistics(t *testing.T) {
	clock := &fakeClock{now: t0.Add(time.Minute)}
	s, _ := newTestStore(t, time.Minute, clock)
	tests := []struct {
		name   string
		record func(*Series)
		want   Datapoint
	}{
		{
			name:   "values with counts",
			record: func(ser *Series) { ser.AddValues(t0, []float64{1, 2, 3}, []float64{1, 0, 2}) },
			want:   Datapoint{SampleCount: 3, Sum: 7, Minimum: 1, Maximum: 3, Percentiles: []float64{3}},
		},
		{
			name:   "values without counts",
			record: func(ser *Series) { ser.AddValues(t0, []float64{4, 2}, nil) },
			want:   Datapoint{SampleCount: 2, Sum: 6, Minimum: 2, Maximum: 4, Percentiles: []float64{2}},
		},
		{
			name:   "a constant statistic set keeps percentiles",
			record: func(ser *Series) { ser.AddStatistics(t0, StatisticSet{SampleCount: 3, Sum: 6, Minimum: 2, Maximum: 2}) },
			want:   Datapoint{SampleCount: 3, Sum: 6, Minimum: 2, Maximum: 2, Percentiles: []float64{2}},
		},
		{
			name:   "a spread statistic set has no percentiles",
			record: func(ser *Series) { ser.AddStatistics(t0, StatisticSet{SampleCount: 3, Sum: 6, Minimum: 1, Maximum: 3}) },
			want:   Datapoint{SampleCount: 3, Sum: 6, Minimum: 1, Maximum: 3, Percentiles: []float64{math.NaN()}},
		},
		{
			name:   "an empty statistic set is ignored",
			record: func(ser *Series) { ser.AddStatistics(t0, StatisticSet{}); ser.Add(t0, 1) },
			want:   Datapoint{SampleCount: 1, Sum: 1, Minimum: 1, Maximum: 1, Percentiles: []float64{1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ser := s.Series("Test", tt.name, nil, UnitCount)
			tt.record(ser)
			got := query(t, s, Query{Metric: MetricID{Namespace: "Test", Name: tt.name}, Start: t0, End: t0.Add(time.Minute), Period: time.Minute, Percentiles: []float64{50}})
			tt.want.Timestamp, tt.want.Unit = t0, UnitCount
			if diff := cmp.Diff([]Datapoint{tt.want}, got, cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunFlushesOnTicks(t *testing.T) {
	clock := &fakeClock{now: t0}
	s, _ := newTestStore(t, time.Second, clock)
	s.Series("Test", "Latency", testDims, UnitMicroseconds).Add(t0, 1)
	ctx, cancel := context.WithCancel(context.Background())
	ticks := make(chan time.Time)
	done := make(chan error)
	go func() { done <- s.Run(ctx, ticks) }()
	ticks <- t0.Add(time.Minute) // unbuffered: returns once Run has received it
	ticks <- t0.Add(time.Minute) // and this once the first flush is over
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM metric_points WHERE resolution = 1`).Scan(&n); err != nil || n != 1 {
		t.Errorf("stored rows = %d (%v), want 1", n, err)
	}
}

// TestQuerySpansLevels: a query starting long ago is answered from a
// coarse level for the past and from finer data not yet rolled up for the
// recent part.
func TestQuerySpansLevels(t *testing.T) {
	ctx := context.Background()
	now := t0.Add(16*day + 4*time.Minute)
	clock := &fakeClock{now: now}
	s, _ := newTestStore(t, time.Minute, clock)
	ser := s.Series("Test", "Latency", testDims, UnitCount)
	ser.Add(t0, 1)
	ser.Add(t0.Add(16*day+time.Minute), 2)
	if err := s.Flush(ctx, now); err != nil {
		t.Fatal(err)
	}
	got := query(t, s, Query{Metric: testMetric(), Start: t0, End: now, Period: day})
	want := []Datapoint{
		{Timestamp: t0, Unit: UnitCount, SampleCount: 1, Sum: 1, Minimum: 1, Maximum: 1},
		{Timestamp: t0.Add(16 * day), Unit: UnitCount, SampleCount: 1, Sum: 2, Minimum: 2, Maximum: 2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestConcurrentAddFlushQuery records from two goroutines while flushing
// and querying: no query may see a period twice or lose one, so the count
// never decreases and never exceeds what was recorded.
func TestConcurrentAddFlushQuery(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: t0.Add(time.Minute)}
	s, _ := newTestStore(t, time.Second, clock)
	ser := s.Series("Test", "Latency", testDims, UnitMicroseconds)
	const perWriter = 20000
	done := make(chan struct{})
	for w := range 2 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range perWriter {
				// Spread over 30 s, each writer a little behind the other.
				ser.Add(t0.Add(time.Duration(i)*1500*time.Microsecond+time.Duration(w)*time.Second), 1)
			}
		}()
	}
	q := Query{Metric: testMetric(), Start: t0, End: t0.Add(time.Minute), Period: time.Minute}
	var last float64
	running := 2
	for flushAt := t0; running > 0; flushAt = flushAt.Add(time.Second) {
		select {
		case <-done:
			running--
		default:
		}
		if err := s.Flush(ctx, flushAt); err != nil {
			t.Fatal(err)
		}
		dps := query(t, s, q)
		var n float64
		if len(dps) == 1 {
			n = dps[0].SampleCount
		}
		if n < last || n > 2*perWriter {
			t.Fatalf("count went from %v to %v (total %d)", last, n, 2*perWriter)
		}
		last = n
	}
	if err := s.Flush(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if dps := query(t, s, q); len(dps) != 1 || dps[0].SampleCount != 2*perWriter || dps[0].Sum != 2*perWriter {
		t.Errorf("final datapoints %+v, want count and sum %d", dps, 2*perWriter)
	}
}

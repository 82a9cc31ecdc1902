package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// nearestRank is the reference definition of a percentile.
func nearestRank(sorted []float64, p float64) float64 {
	if p == 0 {
		return sorted[0]
	}
	r := int(math.Ceil(p/100*float64(len(sorted)) - 1e-9))
	return sorted[max(r, 1)-1]
}

func sketchOf(vals ...float64) *sketch {
	var s sketch
	for _, v := range vals {
		s.add(v, 1)
	}
	return &s
}

func TestDigestQuantilesExact(t *testing.T) {
	oneTo := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(n - i) // descending, to exercise sorting
		}
		return v
	}
	tests := []struct {
		name   string
		values []float64
		ps     []float64
		want   []float64
	}{
		{"a single value is every percentile", []float64{7}, []float64{0, 50, 100}, []float64{7, 7, 7}},
		{"1..100 nearest rank", oneTo(100), []float64{0, 1, 50, 99, 99.9, 100}, []float64{1, 1, 50, 99, 100, 100}},
		{"1..128 stays exact at the raw capacity", oneTo(128), []float64{50, 99}, []float64{64, 127}},
		{"zeros count", []float64{0, 0, 0, 10}, []float64{50, 75, 76}, []float64{0, 0, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sketchOf(tt.values...)
			lo, hi := slices.Min(tt.values), slices.Max(tt.values)
			got := s.digest().quantiles(tt.ps, lo, hi)
			if !slices.Equal(got, tt.want) {
				t.Errorf("quantiles(%v) = %v, want %v", tt.ps, got, tt.want)
			}
		})
	}
}

func TestDigestUnavailable(t *testing.T) {
	s := sketchOf(1, 2, -3)
	got := s.digest().quantiles([]float64{50}, -3, 2)
	if !math.IsNaN(got[0]) {
		t.Errorf("p50 with a negative value = %v, want NaN", got[0])
	}
}

// TestDigestRelativeError checks the documented bound: once values no
// longer fit exactly, every percentile is within 1% of the exact one.
func TestDigestRelativeError(t *testing.T) {
	tests := []struct {
		name string
		gen  func(r *rand.Rand) float64
	}{
		{"lognormal latencies", func(r *rand.Rand) float64 { return math.Exp(r.NormFloat64()*2 + 8) }},
		{"uniform 0..1", func(r *rand.Rand) float64 { return r.Float64() }},
		{"wide range with zeros", func(r *rand.Rand) float64 {
			if r.IntN(10) == 0 {
				return 0
			}
			return math.Pow(10, r.Float64()*30-10)
		}},
	}
	ps := []float64{0, 1, 10, 25, 50, 75, 90, 99, 99.9, 100}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var s sketch
			vals := make([]float64, 20000)
			for i := range vals {
				vals[i] = tt.gen(r)
				s.add(vals[i], 1)
			}
			if !s.overflowed {
				t.Fatal("sketch still exact after 20000 values")
			}
			slices.Sort(vals)
			got := s.digest().quantiles(ps, vals[0], vals[len(vals)-1])
			for i, p := range ps {
				want := nearestRank(vals, p)
				if rel := math.Abs(got[i]-want) / want; want != 0 && rel > 0.01 || want == 0 && got[i] != 0 {
					t.Errorf("p%v = %v, want %v (relative error %.4f)", p, got[i], want, rel)
				}
			}
		})
	}
}

func TestHistogramSpanIsBounded(t *testing.T) {
	var h histogram
	for e := -300; e <= 300; e++ {
		h.add(math.Pow(10, float64(e)), 1)
	}
	if len(h.bins) > maxBins {
		t.Fatalf("histogram has %d bins, limit %d", len(h.bins), maxBins)
	}
	var total float64
	for _, w := range h.bins {
		total += w
	}
	if total != 601 {
		t.Errorf("total weight %v, want 601 (folding must not lose values)", total)
	}
	d := digest{hist: &h}
	got := d.quantiles([]float64{100}, 1e-300, 1e300)
	if rel := math.Abs(got[0]-1e300) / 1e300; rel > 0.01 {
		t.Errorf("p100 = %v, want 1e300 within 1%%", got[0])
	}
}

func TestDigestMergeKeepsExactUpToLimit(t *testing.T) {
	a := sketchOf(1, 2, 3).digest()
	b := sketchOf(4, 5).digest()
	a.merge(b, 5)
	if a.hist != nil || len(a.exact) != 5 {
		t.Fatalf("merge within limit: exact=%d hist=%v, want 5 exact values", len(a.exact), a.hist != nil)
	}
	a.merge(sketchOf(6).digest(), 5)
	if a.hist == nil {
		t.Fatal("merge beyond limit stayed exact")
	}
	got := a.quantiles([]float64{50}, 1, 6)
	if math.Abs(got[0]-3)/3 > 0.01 {
		t.Errorf("p50 after merge = %v, want 3 within 1%%", got[0])
	}
}

func TestDigestMarshalRoundTrip(t *testing.T) {
	big := &sketch{}
	for i := range 1000 {
		big.add(float64(i)*1.5, 1)
	}
	weighted := digest{exact: []wv{{1, 2.5}, {3, 1}}}
	fracHist := digest{hist: &histogram{zero: 0.5, lo: -3, bins: []float64{1.5, 0, 2}}}
	tests := []struct {
		name string
		d    digest
	}{
		{"empty", digest{}},
		{"unavailable", digest{invalid: true}},
		{"exact unit weights", sketchOf(3, 1, 2).digest()},
		{"exact weighted", weighted},
		{"histogram", big.digest()},
		{"histogram fractional weights", fracHist},
	}
	ps := []float64{0, 50, 90, 100}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := unmarshalDigest(tt.d.marshal())
			if err != nil {
				t.Fatal(err)
			}
			want := tt.d.quantiles(ps, 0, 2000)
			have := got.quantiles(ps, 0, 2000)
			for i := range ps {
				if !(want[i] == have[i] || math.IsNaN(want[i]) && math.IsNaN(have[i])) {
					t.Errorf("p%v after round trip = %v, want %v", ps[i], have[i], want[i])
				}
			}
		})
	}
}

func TestUnmarshalDigestRejectsCorruptData(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
	}{
		{"nothing", nil},
		{"unknown kind", []byte{9}},
		{"truncated exact", []byte{kindExact, 2, 0, 1, 2, 3}},
		{"huge count", []byte{kindExact, 0xff, 0xff, 0xff, 0xff, 0x0f, 0}},
		{"trailing bytes", []byte{kindEmpty, 0}},
		{"too many bins", append([]byte{kindHist, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0x81, 0x40, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := unmarshalDigest(tt.b); !errors.Is(err, ErrCorrupt) {
				t.Errorf("unmarshalDigest(%x) error = %v, want ErrCorrupt", tt.b, err)
			}
		})
	}
}

func FuzzUnmarshalDigest(f *testing.F) {
	f.Add(sketchOf(1, 2, 3).digest().marshal())
	f.Add(digest{exact: []wv{{1, 2.5}}}.marshal())
	big := &sketch{}
	for i := range 300 {
		big.add(float64(i), 1)
	}
	f.Add(big.digest().marshal())
	f.Add([]byte{kindInvalid})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := unmarshalDigest(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		d.quantiles([]float64{0, 50, 100}, 0, 1)
		again, err := unmarshalDigest(d.marshal())
		if err != nil {
			t.Fatalf("re-encoding a decoded digest fails: %v", err)
		}
		d.merge(again, rawCap)
	})
}

func TestFastLog(t *testing.T) {
	// ref is ln(v); math.Log itself is inexact for subnormal numbers on
	// some architectures, so those are scaled into the normal range first.
	ref := func(v float64) float64 {
		if v < 0x1p-1022 {
			return math.Log(v*0x1p100) - 100*math.Ln2
		}
		return math.Log(v)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		v := math.Exp(r.Float64()*1400 - 700)
		if d := math.Abs(fastLog(v) - ref(v)); d > 2e-7 {
			t.Fatalf("fastLog(%v) off by %v", v, d)
		}
	}
	for _, v := range []float64{math.SmallestNonzeroFloat64, math.MaxFloat64, 1, 2, 0.5} {
		if d := math.Abs(fastLog(v) - ref(v)); d > 2e-7 {
			t.Errorf("fastLog(%v) off by %v", v, d)
		}
	}
}

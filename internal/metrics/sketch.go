package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Percentiles are computed from a digest of each bucket's values:
//
//   - Up to rawCap (value, weight) pairs are kept exactly. While every
//     bucket contributing to a datapoint is exact, percentiles are exact.
//   - Beyond that the values move into a log-bucketed histogram: bin i holds
//     values in (γ^(i-1), γ^i] with γ = 1.02 and reports 2γ^i/(γ+1), so any
//     percentile is within (γ-1)/(γ+1) ≈ 0.99% (< 1%) of the value at
//     that rank.
//     Zero has a bin of its own. The histogram spans at most maxBins bins
//     (a ratio of 1.02^4096 ≈ 1e35 between the smallest and largest
//     values); beyond that the lowest bins are folded together, so only the
//     smallest values lose precision.
//   - Results are clamped to the bucket's exact minimum and maximum.
//
// A percentile is the nearest-rank value: the smallest recorded value v such
// that the weight of values ≤ v is at least p% of the total weight (p0 is
// the minimum, p100 the maximum). As in CloudWatch, percentiles are
// unavailable for data containing negative values or statistic sets whose
// minimum and maximum differ.
const (
	rawCap  = 128
	gamma   = 1.02
	maxBins = 4096
	// maxBinIndex bounds decoded bin indexes; the largest float64 needs
	// about 35,900.
	maxBinIndex = 1 << 16
)

var logGamma = math.Log(gamma)

// lnTable[i] = ln(1 + i/lnTableSize); fastLog interpolates it linearly,
// with an absolute error below 2e-7 — negligible next to the bin width
// (ln γ ≈ 0.0198), so bins stay within the documented error.
const lnTableSize = 1024

var lnTable = func() (t [lnTableSize + 1]float64) {
	for i := range t {
		t[i] = math.Log1p(float64(i) / lnTableSize)
	}
	return t
}()

// fastLog is ln(v) for finite v > 0.
func fastLog(v float64) float64 {
	frac, exp := math.Frexp(v) // v = frac × 2^exp, frac in [0.5, 1)
	x := (frac*2 - 1) * lnTableSize
	i := int(x)
	f := x - float64(i)
	return float64(exp-1)*math.Ln2 + lnTable[i] + f*(lnTable[i+1]-lnTable[i])
}

// ErrCorrupt reports stored metric data that cannot be decoded.
var ErrCorrupt = errors.New("metrics: corrupt stored data")

func binIndex(v float64) int { return int(math.Ceil(fastLog(v) / logGamma)) }

func binValue(i int) float64 { return 2 * math.Pow(gamma, float64(i)) / (gamma + 1) }

// histogram counts values in log-spaced bins; bins[k] is bin lo+k.
type histogram struct {
	zero float64
	lo   int
	bins []float64
}

func (h *histogram) reset() {
	h.zero = 0
	h.lo = 0
	h.bins = h.bins[:0]
}

func (h *histogram) clone() *histogram {
	return &histogram{zero: h.zero, lo: h.lo, bins: slices.Clone(h.bins)}
}

func (h *histogram) add(v, w float64) {
	if v == 0 {
		h.zero += w
		return
	}
	h.addIndex(binIndex(v), w)
}

func (h *histogram) addIndex(i int, w float64) {
	if len(h.bins) == 0 {
		h.lo = i
		h.bins = append(h.bins[:0], w)
		return
	}
	hi := h.lo + len(h.bins) - 1
	switch {
	case i >= h.lo && i <= hi:
		h.bins[i-h.lo] += w
	case i < h.lo:
		if hi-i+1 > maxBins {
			i = hi - maxBins + 1 // fold into the lowest bin we may keep
			if i >= h.lo {
				h.bins[i-h.lo] += w
				return
			}
		}
		n := h.lo - i
		newLen := len(h.bins) + n
		if cap(h.bins) >= newLen {
			old := len(h.bins)
			h.bins = h.bins[:newLen]
			copy(h.bins[n:], h.bins[:old])
			clear(h.bins[:n])
		} else {
			nb := make([]float64, newLen, newLen+newLen/2)
			copy(nb[n:], h.bins)
			h.bins = nb
		}
		h.lo = i
		h.bins[0] += w
	default: // i > hi
		if i-h.lo+1 > maxBins {
			newLo := i - maxBins + 1
			shift := newLo - h.lo
			if shift >= len(h.bins) {
				var total float64
				for _, x := range h.bins {
					total += x
				}
				h.bins = append(h.bins[:0], total)
			} else {
				var folded float64
				for _, x := range h.bins[:shift] {
					folded += x
				}
				h.bins[shift] += folded
				n := copy(h.bins, h.bins[shift:])
				h.bins = h.bins[:n]
			}
			h.lo = newLo
		}
		for len(h.bins) < i-h.lo+1 {
			h.bins = append(h.bins, 0)
		}
		h.bins[i-h.lo] += w
	}
}

func (h *histogram) merge(o *histogram) {
	h.zero += o.zero
	for k, w := range o.bins {
		if w != 0 {
			h.addIndex(o.lo+k, w)
		}
	}
}

// wv is one exactly kept value with its weight.
type wv struct{ v, w float64 }

// sketch is the mutable digest inside a head bucket. It does not allocate
// until more than rawCap values arrive, and reuses its histogram when reset.
type sketch struct {
	n          int
	raw        [rawCap]wv
	overflowed bool
	invalid    bool
	hist       histogram
}

func (s *sketch) reset() {
	s.n = 0
	s.overflowed = false
	s.invalid = false
	s.hist.reset()
}

func (s *sketch) add(v, w float64) {
	if s.invalid {
		return
	}
	if !(v >= 0 && v <= math.MaxFloat64) { // negative, NaN or infinite
		s.invalid = true
		return
	}
	if !s.overflowed {
		if s.n < rawCap {
			s.raw[s.n] = wv{v, w}
			s.n++
			return
		}
		s.overflowed = true
		for _, p := range s.raw[:s.n] {
			s.hist.add(p.v, p.w)
		}
		s.n = 0
	}
	s.hist.add(v, w)
}

// digest returns an independent copy of the sketch's contents.
func (s *sketch) digest() digest {
	switch {
	case s.invalid:
		return digest{invalid: true}
	case s.overflowed:
		return digest{hist: s.hist.clone()}
	default:
		return digest{exact: slices.Clone(s.raw[:s.n])}
	}
}

// digest is the immutable-by-convention form of a sketch used for merging,
// storage and percentile queries.
type digest struct {
	invalid bool
	exact   []wv       // used while hist is nil
	hist    *histogram // non-nil once the values no longer fit exactly
}

// merge adds o into d. Exact values stay exact while their number stays at
// or below limit (limit < 0: no limit).
func (d *digest) merge(o digest, limit int) {
	if d.invalid {
		return
	}
	if o.invalid {
		*d = digest{invalid: true}
		return
	}
	if d.hist == nil && o.hist == nil && (limit < 0 || len(d.exact)+len(o.exact) <= limit) {
		d.exact = append(d.exact, o.exact...)
		return
	}
	if d.hist == nil {
		h := &histogram{}
		for _, p := range d.exact {
			h.add(p.v, p.w)
		}
		d.hist, d.exact = h, nil
	}
	if o.hist != nil {
		d.hist.merge(o.hist)
		return
	}
	for _, p := range o.exact {
		d.hist.add(p.v, p.w)
	}
}

// limitTo converts d to a histogram when it holds more than limit exact values.
func (d *digest) limitTo(limit int) {
	if d.invalid || d.hist != nil || len(d.exact) <= limit {
		return
	}
	h := &histogram{}
	for _, p := range d.exact {
		h.add(p.v, p.w)
	}
	d.hist, d.exact = h, nil
}

// quantiles returns the nearest-rank percentile for each p in ps (0–100),
// clamped to [lo, hi]; NaN when unavailable.
func (d digest) quantiles(ps []float64, lo, hi float64) []float64 {
	out := make([]float64, len(ps))
	if d.invalid {
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	var total float64
	var exact []wv
	if d.hist == nil {
		exact = slices.Clone(d.exact)
		slices.SortFunc(exact, func(a, b wv) int {
			switch {
			case a.v < b.v:
				return -1
			case a.v > b.v:
				return 1
			}
			return 0
		})
		for _, p := range exact {
			total += p.w
		}
	} else {
		total = d.hist.zero
		for _, w := range d.hist.bins {
			total += w
		}
	}
	for i, p := range ps {
		if total <= 0 {
			out[i] = math.NaN()
			continue
		}
		target := p / 100 * total
		eps := total * 1e-9
		v := math.NaN()
		if exact != nil {
			var cum float64
			for _, e := range exact {
				cum += e.w
				if e.w > 0 && cum >= target-eps {
					v = e.v
					break
				}
			}
		} else {
			cum := d.hist.zero
			if d.hist.zero > 0 && cum >= target-eps {
				v = 0
			} else {
				for k, w := range d.hist.bins {
					cum += w
					if w > 0 && cum >= target-eps {
						v = binValue(d.hist.lo + k)
						break
					}
				}
			}
		}
		if math.IsNaN(v) { // rounding left the target unreached: the maximum
			v = hi
		}
		out[i] = math.Min(math.Max(v, lo), hi)
	}
	return out
}

// Stored digest encoding (all integers little-endian or varint):
//
//	byte kind: 0 empty, 1 exact, 2 histogram, 3 unavailable
//	exact:     uvarint n; byte wmode; n × float64 value; if wmode == 1, n × float64 weight
//	histogram: float64 zero; varint lo; uvarint nbins; byte wmode; nbins weights
//	           (wmode 0: uvarint integer weights, 1: float64 weights)
//
// For exact digests wmode 0 means every weight is 1.
const (
	kindEmpty   = 0
	kindExact   = 1
	kindHist    = 2
	kindInvalid = 3
)

func (d digest) marshal() []byte {
	switch {
	case d.invalid:
		return []byte{kindInvalid}
	case d.hist != nil:
		b := make([]byte, 0, 16+len(d.hist.bins)*2)
		b = append(b, kindHist)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(d.hist.zero))
		b = binary.AppendVarint(b, int64(d.hist.lo))
		b = binary.AppendUvarint(b, uint64(len(d.hist.bins)))
		integral := true
		for _, w := range d.hist.bins {
			if w != math.Trunc(w) || w > 1<<53 {
				integral = false
				break
			}
		}
		if integral {
			b = append(b, 0)
			for _, w := range d.hist.bins {
				b = binary.AppendUvarint(b, uint64(w))
			}
		} else {
			b = append(b, 1)
			for _, w := range d.hist.bins {
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(w))
			}
		}
		return b
	case len(d.exact) == 0:
		return []byte{kindEmpty}
	default:
		b := make([]byte, 0, 12+len(d.exact)*8)
		b = append(b, kindExact)
		b = binary.AppendUvarint(b, uint64(len(d.exact)))
		ones := true
		for _, p := range d.exact {
			if p.w != 1 {
				ones = false
				break
			}
		}
		if ones {
			b = append(b, 0)
		} else {
			b = append(b, 1)
		}
		for _, p := range d.exact {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.v))
		}
		if !ones {
			for _, p := range d.exact {
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.w))
			}
		}
		return b
	}
}

type byteReader struct {
	b   []byte
	err error
}

func (r *byteReader) fail(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, a...)...)
	}
}

func (r *byteReader) byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *byteReader) float() float64 {
	if r.err != nil || len(r.b) < 8 {
		r.fail("truncated")
		return 0
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return f
}

// weight reads a non-negative finite weight.
func (r *byteReader) weight() float64 {
	w := r.float()
	if r.err == nil && (math.IsNaN(w) || math.IsInf(w, 0) || w < 0) {
		r.fail("bad weight %v", w)
	}
	return w
}

func (r *byteReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *byteReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// unmarshalDigest decodes the output of digest.marshal. Errors wrap ErrCorrupt.
func unmarshalDigest(b []byte) (digest, error) {
	r := &byteReader{b: b}
	var d digest
	switch kind := r.byte(); kind {
	case kindEmpty:
	case kindInvalid:
		d.invalid = true
	case kindExact:
		n := r.uvarint()
		mode := r.byte()
		if mode > 1 {
			r.fail("bad weight mode %d", mode)
		}
		if r.err == nil && n > uint64(len(r.b)/8) {
			r.fail("%d values in %d bytes", n, len(r.b))
		}
		if r.err != nil {
			return digest{}, r.err
		}
		d.exact = make([]wv, n)
		for i := range d.exact {
			v := r.float()
			if r.err == nil && (math.IsNaN(v) || math.IsInf(v, 0) || v < 0) {
				r.fail("bad value %v", v)
			}
			d.exact[i] = wv{v: v, w: 1}
		}
		if mode == 1 {
			for i := range d.exact {
				d.exact[i].w = r.weight()
			}
		}
	case kindHist:
		h := &histogram{}
		h.zero = r.weight()
		lo := r.varint()
		n := r.uvarint()
		mode := r.byte()
		if r.err == nil {
			switch {
			case lo < -maxBinIndex || lo > maxBinIndex:
				r.fail("bin index %d out of range", lo)
			case n > maxBins:
				r.fail("%d bins", n)
			case mode > 1:
				r.fail("bad weight mode %d", mode)
			}
		}
		if r.err != nil {
			return digest{}, r.err
		}
		h.lo = int(lo)
		h.bins = make([]float64, n)
		for i := range h.bins {
			if mode == 0 {
				u := r.uvarint()
				if u > 1<<53 {
					r.fail("weight %d too large", u)
				}
				h.bins[i] = float64(u)
			} else {
				h.bins[i] = r.weight()
			}
		}
		d.hist = h
	default:
		r.fail("unknown kind %d", kind)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return digest{}, r.err
	}
	return d, nil
}

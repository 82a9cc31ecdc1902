package xgbserve

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// appendRepr appends f as Python's repr (and str, and json.dumps for finite
// values) writes a float: the shortest digits that read back to f, in
// positional notation when the decimal exponent is in [-4, 16), else
// scientific with at least two exponent digits; always with a '.' or an
// exponent. NaN and the infinities follow json when forJSON, else repr.
func appendRepr(b []byte, f float64, forJSON bool) []byte {
	switch {
	case math.IsNaN(f):
		if forJSON {
			return append(b, "NaN"...)
		}
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		if forJSON {
			return append(b, "Infinity"...)
		}
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		if forJSON {
			return append(b, "-Infinity"...)
		}
		return append(b, "-inf"...)
	}
	if math.Signbit(f) {
		b = append(b, '-')
		f = -f
	}
	// Shortest digits and exponent, from Go's 'e' format: d.ddddde±XX.
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	var digits [24]byte
	nd, x, i := 0, 0, 0
	for ; e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[nd] = e[i]
			nd++
		}
	}
	neg := e[i+1] == '-'
	for _, c := range e[i+2:] {
		x = x*10 + int(c-'0')
	}
	if neg {
		x = -x
	}
	d := digits[:nd]
	decpt := x + 1 // d[0] is worth 10^(decpt-1)
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			b = append(b, "0."...)
			for range -decpt {
				b = append(b, '0')
			}
			b = append(b, d...)
		case decpt >= nd:
			b = append(b, d...)
			for range decpt - nd {
				b = append(b, '0')
			}
			b = append(b, ".0"...)
		default:
			b = append(b, d[:decpt]...)
			b = append(b, '.')
			b = append(b, d[decpt:]...)
		}
		return b
	}
	b = append(b, d[0])
	if nd > 1 {
		b = append(b, '.')
		b = append(b, d[1:]...)
	}
	b = append(b, 'e')
	if x < 0 {
		b = append(b, '-')
		x = -x
	} else {
		b = append(b, '+')
	}
	if x < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(x), 10)
}

// appendJSONString appends s as a JSON string, escaping as json.dumps does
// (non-ASCII as \uXXXX).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r >= 0x20 && r < 0x7f:
			b = append(b, byte(r))
		case r > 0xffff:
			r -= 0x10000
			b = fmt.Appendf(b, "\\u%04x\\u%04x", 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			b = fmt.Appendf(b, "\\u%04x", r)
		}
	}
	return append(b, '"')
}

// appendCSV writes one row per line, a row's values comma-separated.
func appendCSV(b []byte, preds []float32, width int) []byte {
	for i, v := range preds {
		b = appendRepr(b, float64(v), false)
		if (i+1)%width == 0 {
			b = append(b, '\n')
		} else {
			b = append(b, ',')
		}
	}
	return b
}

// appendScore writes {"score": v} for a row, v a list when the row has
// several values.
func appendScore(b []byte, row []float32) []byte {
	b = append(b, `{"score": `...)
	if len(row) == 1 {
		b = appendRepr(b, float64(row[0]), true)
	} else {
		b = appendFloatList(b, row, true)
	}
	return append(b, '}')
}

func appendFloatList(b []byte, row []float32, forJSON bool) []byte {
	b = append(b, '[')
	for i, v := range row {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendRepr(b, float64(v), forJSON)
	}
	return append(b, ']')
}

// appendJSON writes {"predictions": [{"score": ...}, ...]} in json.dumps'
// layout.
func appendJSON(b []byte, preds []float32, width int) []byte {
	b = append(b, `{"predictions": [`...)
	for i := 0; i < len(preds); i += width {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendScore(b, preds[i:i+width])
	}
	return append(b, "]}"...)
}

// appendJSONLines writes one {"score": ...} object per line.
func appendJSONLines(b []byte, preds []float32, width int) []byte {
	for i := 0; i < len(preds); i += width {
		b = appendScore(b, preds[i:i+width])
		b = append(b, '\n')
	}
	return b
}

// Selectable inference output (SAGEMAKER_INFERENCE_OUTPUT), after the
// container's serve_utils.

const (
	keyPredictedLabel = "predicted_label"
	keyLabels         = "labels"
	keyProbability    = "probability"
	keyProbabilities  = "probabilities"
	keyRawScore       = "raw_score"
	keyRawScores      = "raw_scores"
	keyPredictedScore = "predicted_score"
)

// orderedKeys returns the keys in the order the container's dict gets them.
func orderedKeys() []string {
	return []string{keyPredictedLabel, keyLabels, keyProbability, keyProbabilities, keyRawScore, keyRawScores, keyPredictedScore}
}

// validKeys returns the keys an objective supports, or false if selectable
// output is not available for it.
func validKeys(objective string) ([]string, bool) {
	switch objective {
	case "reg:squarederror", "reg:logistic", "reg:gamma", "reg:tweedie":
		return []string{keyPredictedScore}, true
	case "binary:logistic", "multi:softprob":
		return []string{keyPredictedLabel, keyLabels, keyProbability, keyProbabilities, keyRawScore, keyRawScores}, true
	case "binary:logitraw", "binary:hinge", "multi:softmax":
		return []string{keyPredictedLabel, keyLabels, keyRawScore, keyRawScores}, true
	}
	return nil, false
}

// pyValue is a value of the container's prediction dicts.
type pyValue struct {
	kind   byte // 'i' int, 'f' float, 'I' int list, 'F' float list
	i      int
	f      float64
	ints   []int
	floats []float64
}

func (v pyValue) appendTo(b []byte, forJSON bool) []byte {
	switch v.kind {
	case 'i':
		return strconv.AppendInt(b, int64(v.i), 10)
	case 'I':
		b = append(b, '[')
		for i, x := range v.ints {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = strconv.AppendInt(b, int64(x), 10)
		}
		return append(b, ']')
	case 'F':
		b = append(b, '[')
		for i, x := range v.floats {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendRepr(b, x, forJSON)
		}
		return append(b, ']')
	}
	return appendRepr(b, v.f, forJSON)
}

func pyFloat(f float64) pyValue { return pyValue{kind: 'f', f: f} }
func pyInt(i int) pyValue       { return pyValue{kind: 'i', i: i} }
func pyNaN() pyValue            { return pyFloat(math.NaN()) }

// selector computes the selected keys of each prediction.
type selector struct {
	objective string
	numClass  int
	keys      []string // as configured, in order, duplicates kept (CSV columns)
	dictKeys  []string // the keys of each prediction dict, in the container's order
	valid     map[string]bool
}

// newSelector parses SAGEMAKER_INFERENCE_OUTPUT for a model's objective.
func newSelector(env, objective string, numClass int) (*selector, error) {
	valid, ok := validKeys(objective)
	if !ok {
		return nil, fmt.Errorf("Objective `%s` unsupported for selectable inference predictions.", objective)
	}
	s := &selector{objective: objective, numClass: numClass, valid: map[string]bool{}}
	s.keys = strings.Split(strings.ToLower(strings.ReplaceAll(env, " ", "")), ",")
	for _, k := range valid {
		s.valid[k] = true
	}
	selected := map[string]bool{}
	for _, k := range s.keys {
		selected[k] = true
	}
	for _, k := range orderedKeys() {
		if selected[k] && s.valid[k] {
			s.dictKeys = append(s.dictKeys, k)
		}
	}
	seen := map[string]bool{}
	for _, k := range s.keys {
		if !s.valid[k] && !seen[k] {
			s.dictKeys = append(s.dictKeys, k) // invalid keys come out as NaN
			seen[k] = true
		}
	}
	return s, nil
}

// value computes one key for one prediction row (one value, or a class
// probability row for multi:softprob), as serve_utils does.
func (s *selector) value(key string, row []float32) pyValue {
	if !s.valid[key] {
		return pyNaN()
	}
	x := float64(row[0])
	softprob := s.objective == "multi:softprob"
	switch key {
	case keyPredictedLabel:
		switch s.objective {
		case "binary:hinge", "multi:softmax":
			return pyFloat(x)
		case "binary:logistic":
			return pyInt(b2i(x > 0.5))
		case "binary:logitraw":
			return pyInt(b2i(x > 0))
		case "multi:softprob":
			best := 0
			for i, v := range row {
				if v > row[best] {
					best = i
				}
			}
			return pyInt(best)
		}
	case keyLabels:
		if strings.HasPrefix(s.objective, "binary:") {
			return pyValue{kind: 'I', ints: []int{0, 1}}
		}
		if strings.HasPrefix(s.objective, "multi:") {
			labels := make([]int, s.numClass)
			for i := range labels {
				labels[i] = i
			}
			return pyValue{kind: 'I', ints: labels}
		}
	case keyProbability, keyRawScore:
		if softprob {
			return pyFloat(float64(maxOf(row)))
		}
		if key == keyRawScore || s.objective == "binary:logistic" {
			return pyFloat(x)
		}
	case keyProbabilities, keyRawScores:
		if softprob {
			fl := make([]float64, len(row))
			for i, v := range row {
				fl[i] = float64(v)
			}
			return pyValue{kind: 'F', floats: fl}
		}
		return pyValue{kind: 'F', floats: []float64{1 - x, x}}
	case keyPredictedScore:
		return pyFloat(x)
	}
	return pyNaN()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func maxOf(row []float32) float32 {
	m := row[0]
	for _, v := range row[1:] {
		if v > m {
			m = v
		}
	}
	return m
}

// appendSelected encodes the selected keys of every prediction for accept.
func (s *selector) appendSelected(b []byte, preds []float32, width int, accept string) []byte {
	dict := func(b []byte, row []float32) []byte {
		b = append(b, '{')
		for i, k := range s.dictKeys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendJSONString(b, k)
			b = append(b, ": "...)
			b = s.value(k, row).appendTo(b, true)
		}
		return append(b, '}')
	}
	switch accept {
	case acceptJSON:
		b = append(b, `{"predictions": [`...)
		for i := 0; i < len(preds); i += width {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = dict(b, preds[i:i+width])
		}
		return append(b, "]}"...)
	case acceptJSONLines:
		for i := 0; i < len(preds); i += width {
			b = dict(b, preds[i:i+width])
			b = append(b, '\n')
		}
		return b
	}
	for i := 0; i < len(preds); i += width {
		for j, k := range s.keys {
			if j > 0 {
				b = append(b, ',')
			}
			v := s.value(k, preds[i:i+width])
			if v.kind == 'I' || v.kind == 'F' {
				b = append(b, '"')
				b = v.appendTo(b, false)
				b = append(b, '"')
			} else {
				b = v.appendTo(b, false)
			}
		}
		b = append(b, '\n')
	}
	return b
}

package xgbserve

import (
	"math"
	"strconv"
	"testing"
)

func TestAppendRepr(t *testing.T) {
	// Expected strings are what Python's repr() prints for each float.
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{0.5, "0.5"},
		{1e-05, "1e-05"},
		{0.0001, "0.0001"},
		{0.00012345, "0.00012345"},
		{1e16, "1e+16"},
		{1e15, "1000000000000000.0"},
		{123456789012345678, "1.2345678901234568e+17"},
		{0.43861907720565796, "0.43861907720565796"},
		{float64(float32(9.31629467)), "9.31629467010498"},
		{1.5e-300, "1.5e-300"},
		{2.5e+300, "2.5e+300"},
		{float64(float32(0.1)), "0.10000000149011612"},
		{-3.0e-7, "-3e-07"},
		{100, "100.0"},
		{1234567, "1234567.0"},
		{float64(float32(1e-39)), "1.0000002153053333e-39"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	}
	for _, tc := range tests {
		if got := string(appendRepr(nil, tc.in, false)); got != tc.want {
			t.Errorf("repr(%v) = %q, want %q", tc.in, got, tc.want)
		}
		if math.IsInf(tc.in, 0) || math.IsNaN(tc.in) {
			continue
		}
		// Whatever the layout, the digits must read back to the same float.
		if back, err := strconv.ParseFloat(tc.want, 64); err != nil || back != tc.in {
			t.Errorf("%q reads back as %v, %v", tc.want, back, err)
		}
	}
	for in, want := range map[float64]string{math.NaN(): "NaN", math.Inf(1): "Infinity", math.Inf(-1): "-Infinity"} {
		if got := string(appendRepr(nil, in, true)); got != want {
			t.Errorf("json repr(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestAppendReprRoundTripsFloat32(t *testing.T) {
	for _, f := range []float32{1, 0.1, 3.4028235e38, 1.4e-45, 9.316295, -0.0065, 16777216, 0.99999994} {
		s := string(appendRepr(nil, float64(f), false))
		back, err := strconv.ParseFloat(s, 64)
		if err != nil || float32(back) != f || back != float64(f) {
			t.Errorf("%v printed as %q reads back as %v", f, s, back)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	tests := map[string]string{
		"predicted_label": `"predicted_label"`,
		`a"b\c`:           `"a\"b\\c"`,
		"tab\there":       `"tab\u0009here"`,
		"é":               `"\u00e9"`,
		"😀":               `"\ud83d\ude00"`,
	}
	for in, want := range tests {
		if got := string(appendJSONString(nil, in)); got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestOutputLayouts(t *testing.T) {
	preds := []float32{0.5, 0.25, 0.125, 1, 2, 3}
	tests := []struct {
		name  string
		width int
		enc   func([]byte, []float32, int) []byte
		want  string
	}{
		{"csv, one value per row", 1, appendCSV, "0.5\n0.25\n0.125\n1.0\n2.0\n3.0\n"},
		{"csv, three classes", 3, appendCSV, "0.5,0.25,0.125\n1.0,2.0,3.0\n"},
		{"json, one value per row", 1, appendJSON, `{"predictions": [{"score": 0.5}, {"score": 0.25}, {"score": 0.125}, {"score": 1.0}, {"score": 2.0}, {"score": 3.0}]}`},
		{"json, three classes", 3, appendJSON, `{"predictions": [{"score": [0.5, 0.25, 0.125]}, {"score": [1.0, 2.0, 3.0]}]}`},
		{"jsonlines, three classes", 3, appendJSONLines, "{\"score\": [0.5, 0.25, 0.125]}\n{\"score\": [1.0, 2.0, 3.0]}\n"},
	}
	for _, tc := range tests {
		if got := string(tc.enc(nil, preds, tc.width)); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestSelectedOutput(t *testing.T) {
	// Expected layouts follow the container's serve_utils tests: keys in
	// its fixed order then unknown keys as NaN, lists quoted in CSV.
	tests := []struct {
		name      string
		env       string
		objective string
		numClass  int
		preds     []float32
		width     int
		accept    string
		want      string
	}{
		{"binary logistic, json", "predicted_label,probabilities", "binary:logistic", 0, []float32{0.75, 0.125}, 1, acceptJSON,
			`{"predictions": [{"predicted_label": 1, "probabilities": [0.25, 0.75]}, {"predicted_label": 0, "probabilities": [0.875, 0.125]}]}`},
		{"binary logistic, csv in the configured order", "probabilities, predicted_label", "binary:logistic", 0, []float32{0.75}, 1, acceptCSV,
			"\"[0.25, 0.75]\",1\n"},
		{"binary logistic, every key", "predicted_label,labels,probability,probabilities,raw_score,raw_scores", "binary:logistic", 0, []float32{0.75}, 1, acceptJSONLines,
			"{\"predicted_label\": 1, \"labels\": [0, 1], \"probability\": 0.75, \"probabilities\": [0.25, 0.75], \"raw_score\": 0.75, \"raw_scores\": [0.25, 0.75]}\n"},
		{"softprob", "PREDICTED_LABEL,labels,probability,probabilities", "multi:softprob", 3, []float32{0.25, 0.5, 0.25}, 3, acceptJSON,
			`{"predictions": [{"predicted_label": 1, "labels": [0, 1, 2], "probability": 0.5, "probabilities": [0.25, 0.5, 0.25]}]}`},
		{"softmax label is the class as a float", "predicted_label,raw_scores", "multi:softmax", 3, []float32{2}, 1, acceptCSV,
			"2.0,\"[-1.0, 2.0]\"\n"},
		{"logitraw", "predicted_label,raw_score", "binary:logitraw", 0, []float32{-0.5}, 1, acceptJSON,
			`{"predictions": [{"predicted_label": 0, "raw_score": -0.5}]}`},
		{"regression with a classification key", "predicted_score,predicted_label,foo", "reg:squarederror", 0, []float32{3.5}, 1, acceptJSON,
			`{"predictions": [{"predicted_score": 3.5, "predicted_label": NaN, "foo": NaN}]}`},
		{"regression csv", "predicted_score,predicted_label", "reg:squarederror", 0, []float32{3.5}, 1, acceptCSV,
			"3.5,nan\n"},
	}
	for _, tc := range tests {
		s, err := newSelector(tc.env, tc.objective, tc.numClass)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := string(s.appendSelected(nil, tc.preds, tc.width, tc.accept)); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
	if _, err := newSelector("predicted_score", "count:poisson", 0); err == nil ||
		err.Error() != "Objective `count:poisson` unsupported for selectable inference predictions." {
		t.Errorf("count:poisson: err = %v", err)
	}
}

package xgboost

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// formats encodes a hand-built model in every format that can hold it.
func formats(m testModel, categorical bool) map[string][]byte {
	out := map[string][]byte{"json": m.json(), "ubjson": m.ubjson()}
	if !categorical { // the legacy binary format has no categorical splits
		out["binary"] = m.binary(1)
	}
	return out
}

func mustLoad(t *testing.T, data []byte) *Model {
	t.Helper()
	m, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func near(got float32, want float64) bool {
	d := math.Abs(float64(got) - want)
	return d <= 1e-6 || d <= 1e-5*math.Abs(want) || (math.IsNaN(want) && got != got)
}

// Expected values below come from XGBoost's documented definitions: the base
// margin is the objective's link of base_score (logit for logistic
// objectives, log for those predicting through exp, identity otherwise), the
// margin is that plus the leaves, and the prediction is the objective's
// transform of the margin.
func TestObjectiveTransforms(t *testing.T) {
	sigmoid := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	logit := func(p float64) float64 { return math.Log(p / (1 - p)) }
	identity := func(x float64) float64 { return x }
	hinge := func(x float64) float64 {
		if x > 0 {
			return 1
		}
		return 0
	}
	tests := []struct {
		objective string
		base      float64
		link      func(float64) float64
		transform func(float64) float64
	}{
		{"reg:squarederror", 0.5, identity, identity},
		{"reg:linear", 0.5, identity, identity},
		{"reg:squaredlogerror", 0.3, identity, identity},
		{"reg:pseudohubererror", 0.3, identity, identity},
		{"reg:absoluteerror", 0.3, identity, identity},
		{"reg:quantileerror", 0.3, identity, identity},
		{"reg:logistic", 0.3, logit, sigmoid},
		{"binary:logistic", 0.3, logit, sigmoid},
		{"binary:logitraw", 0.3, identity, identity},
		{"binary:hinge", 0.3, identity, hinge},
		{"count:poisson", 0.3, math.Log, math.Exp},
		{"reg:gamma", 0.3, math.Log, math.Exp},
		{"reg:tweedie", 0.3, math.Log, math.Exp},
		{"survival:cox", 0.3, math.Log, math.Exp},
		{"survival:aft", 0.3, math.Log, math.Exp},
		{"rank:pairwise", 0.3, identity, identity},
		{"rank:ndcg", 0.3, identity, identity},
		{"rank:map", 0.3, identity, identity},
	}
	const lo, hi = -0.625, 0.75
	rows := []float32{0.2, 0.9, nan, -3}
	leaves := []float64{lo, hi, lo, lo} // NaN goes left by default here
	for _, tc := range tests {
		model := testModel{
			objective:  tc.objective,
			baseScore:  float32(tc.base),
			numFeature: 1,
			trees:      []testTree{stump(0, 0.5, lo, hi, true)},
		}
		for name, data := range formats(model, false) {
			t.Run(tc.objective+"/"+name, func(t *testing.T) {
				m := mustLoad(t, data)
				margin, err := m.Predict(rows, len(rows), true)
				if err != nil {
					t.Fatal(err)
				}
				pred, err := m.Predict(rows, len(rows), false)
				if err != nil {
					t.Fatal(err)
				}
				for i, leaf := range leaves {
					// base_score is float32 in the model.
					wantMargin := tc.link(float64(float32(tc.base))) + leaf
					if !near(margin[i], wantMargin) {
						t.Errorf("row %d: margin %v, want %v", i, margin[i], wantMargin)
					}
					if want := tc.transform(wantMargin); !near(pred[i], want) {
						t.Errorf("row %d: prediction %v, want %v", i, pred[i], want)
					}
				}
			})
		}
	}
}

func TestSigmoidSaturates(t *testing.T) {
	// XGBoost clamps the exponent at 88.7: a very negative margin gives a tiny
	// positive probability, not 0 (XGBoost 1.7.4 gives 3.0066358e-39 here).
	model := testModel{objective: "binary:logistic", baseScore: 0.5, numFeature: 1,
		trees: []testTree{stump(0, 0.5, -200, 200, true)}}
	m := mustLoad(t, model.json())
	got, err := m.Predict([]float32{0, 1}, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 / (math.Exp(88.7) + 1); !near(got[0], want) || got[0] <= 0 {
		t.Errorf("sigmoid(-200) = %v, want %v", got[0], want)
	}
	if got[1] != 1 {
		t.Errorf("sigmoid(200) = %v, want 1", got[1])
	}
}

func TestMultiClass(t *testing.T) {
	// Two rounds of three classes; tree i belongs to class i%3.
	var trees []testTree
	leaves := [][2]float32{{0.5, -0.25}, {-0.125, 0.375}, {0.25, 0.0625}, {0.125, -0.5}, {0.25, 0.25}, {-0.375, 0.75}}
	for i, l := range leaves {
		tr := stump(i%2, 0.5, l[0], l[1], i%2 == 0)
		tr.group = i % 3
		trees = append(trees, tr)
	}
	rows := []float32{0.1, 0.9, 0.7, 0.2, nan, nan}
	softmax := func(m []float64) []float64 {
		mx := math.Max(m[0], math.Max(m[1], m[2]))
		var s float64
		out := make([]float64, len(m))
		for i, v := range m {
			out[i] = math.Exp(v - mx)
			s += out[i]
		}
		for i := range out {
			out[i] /= s
		}
		return out
	}
	// Margins by hand, before the 0.5 base: row 0 (f0=0.1, f1=0.9), row 1
	// (0.7, 0.2), row 2 missing (trees on feature 0 default left, on feature
	// 1 default right).
	wantMargins := [][]float64{
		{0.5 - 0.5, 0.375 + 0.25, 0.25 + 0.75},
		{-0.25 + 0.125, -0.125 + 0.25, 0.0625 - 0.375},
		{0.5 - 0.5, 0.375 + 0.25, 0.25 + 0.75},
	}
	for _, objective := range []string{"multi:softprob", "multi:softmax"} {
		model := testModel{objective: objective, baseScore: 0.5, numFeature: 2, numClass: 3, trees: trees}
		for name, data := range formats(model, false) {
			t.Run(objective+"/"+name, func(t *testing.T) {
				m := mustLoad(t, data)
				if m.NumGroups() != 3 || m.NumClass() != 3 {
					t.Fatalf("NumGroups %d, NumClass %d, want 3, 3", m.NumGroups(), m.NumClass())
				}
				margin, err := m.Predict(rows, 3, true)
				if err != nil {
					t.Fatal(err)
				}
				pred, err := m.Predict(rows, 3, false)
				if err != nil {
					t.Fatal(err)
				}
				for r, wm := range wantMargins {
					for k := range wm {
						if want := 0.5 + wm[k]; !near(margin[r*3+k], want) { // base_score 0.5, identity link
							t.Errorf("row %d class %d: margin %v, want %v", r, k, margin[r*3+k], want)
						}
					}
					p := softmax(wm) // the base shifts every class alike
					if objective == "multi:softprob" {
						for k := range p {
							if !near(pred[r*3+k], p[k]) {
								t.Errorf("row %d class %d: probability %v, want %v", r, k, pred[r*3+k], p[k])
							}
						}
						continue
					}
					best := 0
					for k := range p {
						if p[k] > p[best] {
							best = k
						}
					}
					if len(pred) != 3 || pred[r] != float32(best) {
						t.Errorf("row %d: class %v, want %d (of %v)", r, pred, best, p)
					}
				}
			})
		}
	}
}

func TestCategoricalSplits(t *testing.T) {
	// Root splits feature 0 on categories {1, 3, 4}: in the set goes right
	// (leaf 1), anything else left (leaf -1); XGBoost 1.7.4 was checked to
	// agree on every row below, including the out-of-range ones.
	for _, defaultLeft := range []bool{true, false} {
		tree := stump(0, 0, -1, 1, defaultLeft)
		tree.categories = map[int][]int{0: {4, 1, 3}}
		missing := float64(1)
		if defaultLeft {
			missing = -1
		}
		model := testModel{objective: "reg:squarederror", baseScore: 0, numFeature: 2, trees: []testTree{tree}}
		tests := []struct {
			name  string
			value float32
			want  float64
		}{
			{"in the set", 1, 1},
			{"in the set, last", 4, 1},
			{"fraction truncates into the set", 3.7, 1},
			{"not in the set", 2, -1},
			{"zero, not in the set", 0, -1},
			{"past the largest category", 5, -1},
			{"negative", -1, -1},
			{"small negative fraction", -0.5, -1},
			{"too large to be a category", 1 << 24, -1},
			{"huge", 1e9, -1},
			{"missing", nan, missing},
		}
		for name, data := range formats(model, true) {
			m := mustLoad(t, data)
			for _, tc := range tests {
				got, err := m.Predict([]float32{tc.value, 0}, 1, false)
				if err != nil {
					t.Fatal(err)
				}
				if !near(got[0], tc.want) {
					t.Errorf("%s, default left %v: %s (%v) = %v, want %v", name, defaultLeft, tc.name, tc.value, got[0], tc.want)
				}
			}
		}
	}
}

func TestMissingValues(t *testing.T) {
	// Tree: f1 < 0 ? (f0 < 1 ? 10 : 20) : 30; f1 missing goes right, f0
	// missing goes left.
	tree := testTree{
		left:        []int{1, 3, -1, -1, -1},
		right:       []int{2, 4, -1, -1, -1},
		feature:     []int{1, 0, 0, 0, 0},
		cond:        []float32{0, 1, 30, 10, 20},
		defaultLeft: []bool{false, true, false, false, false},
	}
	model := testModel{objective: "reg:squarederror", numFeature: 3, trees: []testTree{tree}}
	tests := []struct {
		name string
		row  []float32
		want float32
	}{
		{"both present, left left", []float32{0.5, -1, 0}, 10},
		{"both present, left right", []float32{1, -1, 0}, 20},
		{"split value goes right", []float32{0, 0, 0}, 30},
		{"f1 missing goes right", []float32{0.5, nan, 0}, 30},
		{"f0 missing goes left", []float32{nan, -1, 0}, 10},
		{"float32 comparison: 0.99999999 is 1 in float32", []float32{float32(0.99999999), -1, 0}, 20},
		{"short row: f1 absent is missing", []float32{0.5}, 30},
		{"short row: two columns", []float32{nan, -2}, 10},
	}
	for name, data := range formats(model, false) {
		m := mustLoad(t, data)
		for _, tc := range tests {
			got, err := m.Predict(tc.row, 1, false)
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != tc.want {
				t.Errorf("%s: %s: got %v, want %v", name, tc.name, got[0], tc.want)
			}
		}
	}
}

func TestDartWeights(t *testing.T) {
	model := testModel{
		objective: "reg:squarederror", booster: "dart", baseScore: 0.5, numFeature: 1,
		trees:      []testTree{stump(0, 0.5, 1, 2, true), stump(0, 0.25, 4, 8, true)},
		weightDrop: []float32{0.5, 0.25},
	}
	for name, data := range formats(model, false) {
		m := mustLoad(t, data)
		got, err := m.Predict([]float32{0.3, 0.1}, 2, false)
		if err != nil {
			t.Fatal(err)
		}
		// 0.3: tree 1 → 1, tree 2 → 8; 0.1: 1 and 4.
		want := []float32{0.5 + 0.5*1 + 0.25*8, 0.5 + 0.5*1 + 0.25*4}
		if got[0] != want[0] || got[1] != want[1] {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
}

func TestGBLinear(t *testing.T) {
	// Two features, two groups: weight(f, g) at f*2+g, then the biases.
	model := testModel{
		objective: "reg:squarederror", booster: "gblinear", baseScore: 0.5, numFeature: 2, numClass: 0,
		linear: []float32{2, -1, 3, 0.5, 0.25, 1},
	}
	for name, data := range formats(model, false) {
		if _, err := Load(data); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: 6 weights for 2 features and 1 group: err = %v, want ErrMalformed", name, err)
		}
	}
	model.numClass = 2
	model.objective = "multi:softprob"
	for name, data := range formats(model, false) {
		m := mustLoad(t, data)
		got, err := m.Predict([]float32{1, 2, nan, 4}, 2, true)
		if err != nil {
			t.Fatal(err)
		}
		want := []float32{
			0.5 + 0.25 + 1*2 + 2*3, 0.5 + 1 + 1*-1 + 2*0.5, // row 0
			0.5 + 0.25 + 4*3, 0.5 + 1 + 4*0.5, // row 1: feature 0 missing
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: margin %d = %v, want %v", name, i, got[i], want[i])
			}
		}
	}
}

func TestPre10BinaryBaseScore(t *testing.T) {
	// Before XGBoost 1.0 base_score was stored through the link; XGBoost
	// maps it back with the output transform when loading, except for
	// multi-class objectives.
	tests := []struct {
		objective  string
		stored     float32
		wantBase   float64
		wantMargin float64
	}{
		{"binary:logistic", 0.4, 1 / (1 + math.Exp(-0.4)), 0.4},
		{"count:poisson", 0.2, math.Exp(0.2), 0.2},
		{"reg:squarederror", 0.7, 0.7, 0.7},
		{"binary:hinge", 0.5, 1, 1}, // the hinge transform turns 0.5 into 1
		{"multi:softprob", 0.5, 0.5, 0.5},
	}
	for _, tc := range tests {
		model := testModel{objective: tc.objective, baseScore: tc.stored, numFeature: 1,
			trees: []testTree{stump(0, 0.5, 0, 0, true)}}
		if tc.objective == "multi:softprob" {
			model.numClass = 1
		}
		m := mustLoad(t, model.binary(0))
		if !near(m.BaseScore(), tc.wantBase) {
			t.Errorf("%s: BaseScore %v, want %v", tc.objective, m.BaseScore(), tc.wantBase)
		}
		got, err := m.Predict([]float32{0}, 1, true)
		if err != nil {
			t.Fatal(err)
		}
		if !near(got[0], tc.wantMargin) {
			t.Errorf("%s: margin %v, want %v", tc.objective, got[0], tc.wantMargin)
		}
	}
}

func TestAppendPredictReusesBuffer(t *testing.T) {
	model := testModel{objective: "reg:squarederror", numFeature: 1, trees: []testTree{stump(0, 0.5, 1, 2, true)}}
	m := mustLoad(t, model.json())
	buf := make([]float32, 0, 8)
	buf = append(buf, 42)
	out, err := m.AppendPredict(buf, []float32{0, 1}, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || out[0] != 42 || out[1] != 1 || out[2] != 2 || &out[0] != &buf[0] {
		t.Errorf("AppendPredict = %v; want [42 1 2] in the caller's buffer", out)
	}
	allocs := testing.AllocsPerRun(100, func() {
		out, _ = m.AppendPredict(out[:0], []float32{0, 1}, 2, false)
	})
	if allocs != 0 {
		t.Errorf("AppendPredict into a large enough buffer allocates %v times", allocs)
	}
}

func TestPredictRejectsBadShapes(t *testing.T) {
	model := testModel{objective: "reg:squarederror", numFeature: 2, trees: []testTree{stump(0, 0.5, 1, 2, true)}}
	m := mustLoad(t, model.json())
	var fce *FeatureCountError
	if _, err := m.Predict(make([]float32, 3), 1, false); !errors.As(err, &fce) || fce.Got != 3 || fce.Want != 2 {
		t.Errorf("3 columns for 2 features: err = %v, want a FeatureCountError{3, 2}", err)
	}
	if _, err := m.Predict(make([]float32, 3), 2, false); err == nil {
		t.Error("3 values as 2 rows: no error")
	}
	if _, err := m.Predict(nil, -1, false); err == nil {
		t.Error("-1 rows: no error")
	}
	if got, err := m.Predict(nil, 0, false); err != nil || len(got) != 0 {
		t.Errorf("0 rows: %v, %v; want nothing", got, err)
	}
}

func TestConcurrentPredict(t *testing.T) {
	m, err := LoadFile("testdata/iris-multiclass/model.ubj")
	if err != nil {
		t.Fatal(err)
	}
	rows, nrow := readMatrix(t, "testdata/iris-multiclass/input.csv")
	want, err := m.Predict(rows, nrow, false)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := m.Predict(rows, nrow, false)
			if err == nil && !slices.Equal(got, want) {
				err = errors.New("concurrent predictions differ")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

package xgboost

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load: it must return a model or an error,
// never panic, hang or allocate much more than its input, and a model it
// accepts must predict without trouble.
func FuzzLoad(f *testing.F) {
	stumpModel := testModel{objective: "binary:logistic", baseScore: 0.3, numFeature: 2,
		trees: []testTree{stump(0, 0.5, -1, 1, true)}}
	catTree := stump(1, 0, -1, 1, false)
	catTree.categories = map[int][]int{0: {2, 5}}
	catModel := testModel{objective: "reg:squarederror", baseScore: 0.5, numFeature: 2, trees: []testTree{catTree}}
	seeds := [][]byte{stumpModel.json(), stumpModel.ubjson(), stumpModel.binary(1), stumpModel.binary(0),
		catModel.json(), catModel.ubjson()}
	for _, name := range []string{
		"diabetes-gblinear/model.json", "diabetes-gblinear/model.ubj", "diabetes-gblinear/xgboost-model",
		"iris-softmax/xgboost-model", "pickle/iris-softmax.p2.pkl", "pickle/iris-softmax.legacy-handle.p3.pkl",
		"pickle/os-system.p0.pkl", "pickle/not-a-booster.p4.pkl",
	} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	for _, s := range seeds {
		f.Add(s)
		for _, cut := range []int{1, 5, len(s) / 3, len(s) / 2, len(s) - 1} {
			f.Add(s[:cut])
		}
		for _, at := range []int{0, 3, 9, len(s) / 4, len(s) / 2, len(s) - 2} {
			flipped := append([]byte(nil), s...)
			flipped[at] ^= 0x41
			f.Add(flipped)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m, err := Load(data)
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(256*len(data)+1<<20) {
			t.Fatalf("loading %d bytes allocated %d bytes", len(data), grew)
		}
		if err != nil {
			if m != nil {
				t.Fatal("model and error both returned")
			}
			return
		}
		n := min(m.NumFeatures(), 64)
		rows := make([]float32, 3*n)
		for i := range n {
			rows[i] = float32(math.NaN())
			rows[n+i] = float32(i)
			rows[2*n+i] = -1e30
		}
		out, err := m.Predict(rows, 3, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 3*m.NumOutputs() {
			t.Fatalf("%d outputs for 3 rows of %d", len(out), m.NumOutputs())
		}
		if _, err := m.Predict(rows, 3, true); err != nil {
			t.Fatal(err)
		}
	})
}

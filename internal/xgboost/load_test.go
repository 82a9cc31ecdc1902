package xgboost

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadRejects(t *testing.T) {
	good := testModel{objective: "reg:squarederror", baseScore: 0.5, numFeature: 2,
		trees: []testTree{stump(0, 0.5, 1, 2, true)}}
	with := func(edit func(*testModel)) testModel {
		m := good
		m.trees = []testTree{stump(0, 0.5, 1, 2, true)}
		edit(&m)
		return m
	}
	cycle := with(func(m *testModel) { m.trees[0].left[0] = 0 })
	shared := with(func(m *testModel) { m.trees[0].right[0] = 1 })
	outOfRange := with(func(m *testModel) { m.trees[0].right[0] = 7 })
	negChild := with(func(m *testModel) { m.trees[0].right[0] = -5 })
	badGroup := with(func(m *testModel) { m.trees[0].group = 1 })
	badObjective := with(func(m *testModel) { m.objective = "reg:made-up" })
	badBooster := with(func(m *testModel) { m.booster = "forest" })
	badLogistic := with(func(m *testModel) { m.objective = "binary:logistic"; m.baseScore = 1.5 })
	badDart := with(func(m *testModel) { m.booster = "dart"; m.weightDrop = []float32{1, 1} })
	badCategory := with(func(m *testModel) { m.trees[0].categories = map[int][]int{0: {-3}} })
	seed, err := os.ReadFile(filepath.Join("testdata", "abalone-regression", "xgboost-model"))
	if err != nil {
		t.Fatal(err)
	}
	hugeTrees := bytes.Clone(seed)
	binary.LittleEndian.PutUint32(hugeTrees[4+learnerParamSize+8+16+8+6:], 1<<30) // num_trees
	vectorLeaf := good.ubjson()
	vectorLeaf = bytes.Replace(vectorLeaf, []byte("size_leaf_vectorSL\x00\x00\x00\x00\x00\x00\x00\x010"), []byte("size_leaf_vectorSL\x00\x00\x00\x00\x00\x00\x00\x013"), -1)

	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"binary truncated in the learner parameters", good.binary(1)[:50], ErrMalformed},
		{"binary truncated in a tree", good.binary(1)[:len(good.binary(1))-60], ErrMalformed},
		{"binary with a tree count past the input", hugeTrees, ErrMalformed},
		{"base64 model", []byte("bs64AAAA"), ErrUnsupported},
		{"JSON truncated", good.json()[:100], ErrMalformed},
		{"UBJSON truncated", good.ubjson()[:100], ErrMalformed},
		{"child pointing back at the root", cycle.json(), ErrMalformed},
		{"node reached twice", shared.ubjson(), ErrMalformed},
		{"child out of range", outOfRange.binary(1), ErrMalformed},
		{"negative child", negChild.json(), ErrMalformed},
		{"tree output group past num_class", badGroup.json(), ErrMalformed},
		{"unknown objective", badObjective.json(), ErrUnsupported},
		{"unknown booster", badBooster.json(), ErrUnsupported},
		{"logistic base_score outside (0,1)", badLogistic.binary(1), ErrMalformed},
		{"dart weights not one per tree", badDart.json(), ErrMalformed},
		{"negative category", badCategory.json(), ErrMalformed},
		{"vector leaves", vectorLeaf, ErrUnsupported},
		{"JSON nested too deep", []byte("{\"a\":" + strings.Repeat("[", 10000)), ErrMalformed},
		{"UBJSON nested too deep", append([]byte("{L\x00\x00\x00\x00\x00\x00\x00\x01a"), bytes.Repeat([]byte("["), 10000)...), ErrMalformed},
		{"UBJSON typed array count past the input", []byte("{L\x00\x00\x00\x00\x00\x00\x00\x01a[$d#L\x00\x00\x00\x00\x7f\xff\xff\xff"), ErrMalformed},
		{"UBJSON negative length", []byte("{L\xff\xff\xff\xff\xff\xff\xff\xffa"), ErrMalformed},
		{"garbage", []byte("hello, world"), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(tc.data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Load = %v, %v; want error %v", m, err, tc.want)
			}
		})
	}
}

func TestLoadDetectsFormats(t *testing.T) {
	model := testModel{objective: "binary:logistic", baseScore: 0.3, numFeature: 1,
		trees: []testTree{stump(0, 0.5, -1, 1, true)}}
	bin := model.binary(1)
	noHeader := bin[len(headerBinf):]
	snapshot := append([]byte(headerSnapshot), make([]byte, 8)...)
	binary.LittleEndian.PutUint64(snapshot[len(headerSnapshot):], uint64(len(noHeader)))
	snapshot = append(append(snapshot, noHeader...), `{"learner":{}}`...)
	pretty := bytes.ReplaceAll(model.json(), []byte(`{"`), []byte("{\n  \""))

	tests := []struct {
		name string
		data []byte
		want Format
	}{
		{"binary with binf header", bin, FormatBinary},
		{"binary without header", noHeader, FormatBinary},
		{"serialised booster (XGBoost 1.0-1.5 pickle payload)", snapshot, FormatBinary},
		{"JSON", model.json(), FormatJSON},
		{"JSON with whitespace", pretty, FormatJSON},
		{"UBJSON", model.ubjson(), FormatUBJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if m.Format() != tc.want || m.Pickled() {
				t.Errorf("Format %v, Pickled %v; want %v, false", m.Format(), m.Pickled(), tc.want)
			}
			got, err := m.Predict([]float32{0, 1}, 2, false)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got[0], sigmoidOf(-0.8472979-1)) || !near(got[1], sigmoidOf(-0.8472979+1)) {
				t.Errorf("predictions %v", got)
			}
			if v, ok := m.Attr("best_iteration"); !ok || v != "0" {
				t.Errorf("Attr(best_iteration) = %q, %v; want \"0\", true", v, ok)
			}
		})
	}
}

func sigmoidOf(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func TestLoadDir(t *testing.T) {
	model := testModel{objective: "reg:squarederror", baseScore: 0.5, numFeature: 1,
		trees: []testTree{stump(0, 0.5, 1, 2, true)}}
	write := func(dir, name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("first regular non-dot file by name", func(t *testing.T) {
		dir := t.TempDir()
		write(dir, ".hidden", []byte("not a model"))
		if err := os.Mkdir(filepath.Join(dir, "a-directory"), 0o755); err != nil {
			t.Fatal(err)
		}
		write(dir, "b-model", model.json())
		write(dir, "c-other", []byte("not a model"))
		m, err := LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if m.Format() != FormatJSON {
			t.Errorf("loaded %v, want the JSON model", m.Format())
		}
	})
	t.Run("symlink to a file counts", func(t *testing.T) {
		dir := t.TempDir()
		write(dir, ".real", model.binary(1))
		if err := os.Symlink(filepath.Join(dir, ".real"), filepath.Join(dir, "xgboost-model")); err != nil {
			t.Skip(err)
		}
		if _, err := LoadDir(dir); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no model file", func(t *testing.T) {
		dir := t.TempDir()
		write(dir, ".only-hidden", model.json())
		if _, err := LoadDir(dir); !errors.Is(err, ErrNoModel) {
			t.Fatalf("err = %v, want ErrNoModel", err)
		}
	})
	t.Run("bad model names the file", func(t *testing.T) {
		dir := t.TempDir()
		write(dir, "model.bin", []byte("garbage"))
		if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "model.bin") {
			t.Fatalf("err = %v, want one naming model.bin", err)
		}
	})
}

package xgboost

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The fixtures are models trained with XGBoost 1.7.4 and the predictions that
// library gives (see testdata/README.md). The shared copy, when present beside
// the repository, is checked too so that the two cannot drift apart.
var fixtureRoots = []string{
	"testdata",
	filepath.Join("..", "..", "..", "shared", "fixtures", "xgboost"),
}

var parityCases = []string{
	"abalone-regression",
	"breast-cancer-binary",
	"diabetes-dart",
	"diabetes-gblinear",
	"iris-multiclass",
	"iris-softmax",
	"poisson-count",
}

var modelFiles = map[string]Format{
	"model.json":    FormatJSON,
	"model.ubj":     FormatUBJSON,
	"xgboost-model": FormatBinary,
}

func TestParityWithXGBoost(t *testing.T) {
	for _, root := range fixtureRoots {
		t.Run(root, func(t *testing.T) {
			if _, err := os.Stat(root); err != nil {
				t.Skipf("fixtures not present: %v", err)
			}
			for _, c := range parityCases {
				dir := filepath.Join(root, c)
				meta := readMeta(t, dir)
				rows, nrow := readMatrix(t, filepath.Join(dir, "input.csv"))
				want := readCSV(t, filepath.Join(dir, "expected.csv"))
				wantMargin := readCSV(t, filepath.Join(dir, "expected_margin.csv"))
				for file, format := range modelFiles {
					t.Run(c+"/"+file, func(t *testing.T) {
						m, err := LoadFile(filepath.Join(dir, file))
						if err != nil {
							t.Fatal(err)
						}
						if m.Format() != format {
							t.Errorf("Format() = %v, want %v", m.Format(), format)
						}
						if m.NumFeatures() != meta.Features {
							t.Errorf("NumFeatures() = %d, want %d", m.NumFeatures(), meta.Features)
						}
						if obj := meta.Params["objective"]; m.Objective() != obj {
							t.Errorf("Objective() = %q, want %q", m.Objective(), obj)
						}
						if b, ok := meta.Params["booster"]; ok && m.Booster() != b {
							t.Errorf("Booster() = %q, want %q", m.Booster(), b)
						}
						got, err := m.Predict(rows, nrow, false)
						if err != nil {
							t.Fatal(err)
						}
						compare(t, "predict", got, want, nrow)
						if m.NumOutputs()*nrow != len(want) {
							t.Errorf("NumOutputs() = %d, expected.csv has %d values per row", m.NumOutputs(), len(want)/nrow)
						}
						gotMargin, err := m.Predict(rows, nrow, true)
						if err != nil {
							t.Fatal(err)
						}
						compare(t, "margin", gotMargin, wantMargin, nrow)
					})
				}
			}
		})
	}
}

func TestSeedTarball(t *testing.T) {
	for _, root := range fixtureRoots {
		t.Run(root, func(t *testing.T) {
			dir := filepath.Join(root, "seed-abalone-tarball")
			if _, err := os.Stat(dir); err != nil {
				t.Skipf("fixtures not present: %v", err)
			}
			modelDir := extractTarball(t, filepath.Join(dir, "model.tar.gz"))
			m, err := LoadDir(modelDir)
			if err != nil {
				t.Fatal(err)
			}
			if m.Format() != FormatBinary || m.Objective() != "reg:squarederror" || m.NumTrees() != 50 {
				t.Errorf("seed model: format %v, objective %q, %d trees; want legacy binary reg:linear (read as reg:squarederror) with 50 trees",
					m.Format(), m.Objective(), m.NumTrees())
			}
			rows, nrow := readMatrix(t, filepath.Join(dir, "payload.csv"))
			got, err := m.Predict(rows, nrow, false)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "seed", got, readCSV(t, filepath.Join(dir, "expected.txt")), nrow)
		})
	}
}

// within reports whether got matches want to 1e-5 relative, or 1e-6 absolute
// near zero.
func within(got float32, want float64) bool {
	d := math.Abs(float64(got) - want)
	return d <= 1e-6 || d <= 1e-5*math.Abs(want)
}

func compare(t *testing.T, what string, got []float32, want []float64, nrow int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	width := len(want) / nrow
	bad := 0
	for i := range got {
		if !within(got[i], want[i]) {
			if bad < 5 {
				t.Errorf("%s: row %d col %d = %v, want %v", what, i/width, i%width, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(got))
	}
}

type fixtureMeta struct {
	Params   map[string]any `json:"params"`
	Rows     int            `json:"rows"`
	Features int            `json:"features"`
}

func readMeta(t *testing.T, dir string) fixtureMeta {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m fixtureMeta
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Params["objective"] == "reg:linear" {
		m.Params["objective"] = "reg:squarederror"
	}
	return m
}

// readMatrix reads a CSV of features as the SageMaker container does: an
// empty field is missing, values parse as float64 and become float32.
func readMatrix(t *testing.T, path string) ([]float32, int) {
	t.Helper()
	var rows []float32
	nrow := 0
	for _, line := range readLines(t, path) {
		for _, f := range strings.Split(line, ",") {
			v := float32(math.NaN())
			if f != "" {
				x, err := strconv.ParseFloat(f, 64)
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				v = float32(x)
			}
			rows = append(rows, v)
		}
		nrow++
	}
	return rows, nrow
}

func readCSV(t *testing.T, path string) []float64 {
	t.Helper()
	var out []float64
	for _, line := range readLines(t, path) {
		for _, f := range strings.Split(line, ",") {
			x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			out = append(out, x)
		}
	}
	return out
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

// extractTarball unpacks a model.tar.gz into a temporary directory, as
// SageMaker unpacks ModelDataUrl into /opt/ml/model.
func extractTarball(tb testing.TB, path string) string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			tb.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || strings.Contains(h.Name, "..") {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(h.Name)), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

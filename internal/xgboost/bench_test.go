package xgboost

import (
	"os"
	"path/filepath"
	"testing"
)

// The benchmarks score the seed model: the abalone regression model
// (reg:linear, 50 trees of depth up to 5, legacy binary) that a SageMaker
// training job leaves in model.tar.gz.

func seedModelBytes(b *testing.B) []byte {
	b.Helper()
	dir := extractTarball(b, filepath.Join("testdata", "seed-abalone-tarball", "model.tar.gz"))
	data, err := os.ReadFile(filepath.Join(dir, "xgboost-model"))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkLoadSeed(b *testing.B) {
	data := seedModelBytes(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Load(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadJSON(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "abalone-regression", "model.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Load(data); err != nil {
			b.Fatal(err)
		}
	}
}

// abaloneRows returns n rows of the abalone fixture's inputs (8 features,
// some missing), repeated as needed.
func abaloneRows(b *testing.B, n int) []float32 {
	b.Helper()
	t := &testing.T{}
	rows, nrow := readMatrix(t, filepath.Join("testdata", "abalone-regression", "input.csv"))
	ncol := len(rows) / nrow
	out := make([]float32, 0, n*ncol)
	for len(out) < n*ncol {
		out = append(out, rows[:min(len(rows), n*ncol-len(out))]...)
	}
	return out
}

func benchmarkPredict(b *testing.B, n int) {
	m, err := Load(seedModelBytes(b))
	if err != nil {
		b.Fatal(err)
	}
	rows := abaloneRows(b, n)
	out := make([]float32, 0, n)
	b.ReportAllocs()
	for b.Loop() {
		if out, err = m.AppendPredict(out[:0], rows, n, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/row")
}

func BenchmarkPredict1Row(b *testing.B)     { benchmarkPredict(b, 1) }
func BenchmarkPredict1000Rows(b *testing.B) { benchmarkPredict(b, 1000) }

package xgbserve

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestParseCSV(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name       string
		body       string
		nrow, ncol int
		want       []float32
	}{
		{"one row", "1,2.5,-3", 1, 3, []float32{1, 2.5, -3}},
		{"rows, trailing newline", "1,2\n3,4\n", 2, 2, []float32{1, 2, 3, 4}},
		{"CRLF line ends", "1,2\r\n3,4\r\n", 2, 2, []float32{1, 2, 3, 4}},
		{"empty fields are missing", ",2\n3,", 2, 2, []float32{nan, 2, 3, nan}},
		{"spaces after commas", "1, 2, 3", 1, 3, []float32{1, 2, 3}},
		{"surrounding whitespace", "  \n1,2\n\n ", 1, 2, []float32{1, 2}},
		{"python number forms", ".5,5.,1e3,+2,-0,nan,NaN", 1, 7, []float32{0.5, 5, 1000, 2, 0, nan, nan}},
		{"float64 then float32", "0.1", 1, 1, []float32{float32(0.1)}},
		{"tab delimited", "1\t2\n3\t4", 2, 2, []float32{1, 2, 3, 4}},
		{"semicolon delimited", "1;2", 1, 2, []float32{1, 2}},
		{"single column", "7\n8", 2, 1, []float32{7, 8}},
		{"whitespace-only body is one missing value", " \n ", 1, 1, []float32{nan}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseCSV(tc.body, nil)
			if err != nil {
				t.Fatal(err)
			}
			if m.nrow != tc.nrow || m.ncol != tc.ncol {
				t.Fatalf("%d×%d, want %d×%d", m.nrow, m.ncol, tc.nrow, tc.ncol)
			}
			if !slices.EqualFunc(m.values, tc.want, func(a, b float32) bool { return a == b || (a != a && b != b) }) {
				t.Errorf("values %v, want %v", m.values, tc.want)
			}
		})
	}
}

func TestParseCSVErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not a number", "1,2\n3,abc", "row 2, column 2: could not convert string to float: 'abc'"},
		{"ragged rows", "1,2,3\n4,5", "row 2 has 2 fields but row 1 has 3"},
		{"blank line inside", "1,2\n\n3,4", "row 2 has 1 fields but row 1 has 2"},
		{"infinity", "1,inf", "row 1, column 2: Input data contains `inf`"},
		{"too large for float32", "1e39", "row 1, column 1: Input data contains `inf`"},
		{"hex is not a python float", "0x10", "could not convert string to float: '0x10'"},
		{"invalid utf-8", "1,\xff", "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCSV(tc.body, nil)
			var pe *payloadError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a payloadError mentioning %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "Loading csv data failed with Exception, please ensure data is in csv format:") {
				t.Errorf("err = %q, want the container's wording", err)
			}
		})
	}
}

func TestParseLibSVM(t *testing.T) {
	type entry struct {
		row, col int32
		val      float32
	}
	tests := []struct {
		name       string
		body       string
		nrow, ncol int
		want       []entry
	}{
		{"labels skipped, indices as written", "1 0:0.5 3:2\n0 1:-1", 2, 4, []entry{{0, 0, 0.5}, {0, 3, 2}, {1, 1, -1}}},
		{"no labels", "2:1.5", 1, 3, []entry{{0, 2, 1.5}}},
		{"blank line keeps its row", "0:1\n\n0:2", 3, 1, []entry{{0, 0, 1}, {2, 0, 2}}},
		{"trailing lines without pairs add no rows", "0:1\n1\n", 1, 1, []entry{{0, 0, 1}}},
		{"a third colon part is ignored", "0:1:9", 1, 1, []entry{{0, 0, 1}}},
		{"double spaces", "1  0:1   2:3", 1, 3, []entry{{0, 0, 1}, {0, 2, 3}}},
		{"CRLF", "0:1\r\n1:2\r\n", 2, 2, []entry{{0, 0, 1}, {1, 1, 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var sp sparse
			if err := parseLibSVM(tc.body, &sp); err != nil {
				t.Fatal(err)
			}
			if sp.nrow != tc.nrow || sp.ncol != tc.ncol {
				t.Fatalf("%d×%d, want %d×%d", sp.nrow, sp.ncol, tc.nrow, tc.ncol)
			}
			var got []entry
			for i := range sp.rows {
				got = append(got, entry{sp.rows[i], sp.cols[i], sp.vals[i]})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("entries %v, want %v", got, tc.want)
			}
		})
	}
	for _, bad := range []struct{ name, body, want string }{
		{"no pairs", "1\n0", "no index:value pairs"},
		{"negative index", "-1:2", "invalid feature index '-1'"},
		{"fractional index", "1.5:2", "invalid feature index '1.5'"},
		{"bad value", "3:x", "row 1, feature 3: could not convert string to float: 'x'"},
		{"tab separated", "0:1\t1:2", "could not convert string to float"},
	} {
		var sp sparse
		err := parseLibSVM(bad.body, &sp)
		if err == nil || !strings.Contains(err.Error(), bad.want) ||
			!strings.HasPrefix(err.Error(), "Loading libsvm data failed with Exception") {
			t.Errorf("%s: err = %v, want one mentioning %q", bad.name, err, bad.want)
		}
	}
}

func TestMediaType(t *testing.T) {
	tests := []struct {
		in     string
		typ    string
		params map[string]string
	}{
		{"text/csv", "text/csv", nil},
		{"Text/CSV; charset=utf-8", "text/csv", map[string]string{"charset": "utf-8"}},
		{"text/csv;label_size = 1", "text/csv", map[string]string{"label_size": "1"}},
		{`text/csv; label_size="1"; x`, "text/csv", map[string]string{"label_size": "1"}},
		{"", "", nil},
	}
	for _, tc := range tests {
		typ, params := mediaType(tc.in)
		if typ != tc.typ || len(params) != len(tc.params) {
			t.Errorf("mediaType(%q) = %q, %v; want %q, %v", tc.in, typ, params, tc.typ, tc.params)
			continue
		}
		for k, v := range tc.params {
			if params[k] != v {
				t.Errorf("mediaType(%q): %s = %q, want %q", tc.in, k, params[k], v)
			}
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{"1,2,3", "1,2\n3,4\n", ",,\n1,,", ".345,0.224414,.131102,0.042329,.279923,-0.110329,-0.099358,0.0",
		"1;2", "a,b", "1e39", "nan,inf", "\xff", "1\t2\r\n3\t4", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		m, err := parseCSV(body, nil)
		if err != nil {
			var pe *payloadError
			if !errors.As(err, &pe) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if m.nrow < 1 || m.ncol < 1 || len(m.values) != m.nrow*m.ncol {
			t.Fatalf("%d values for %d×%d", len(m.values), m.nrow, m.ncol)
		}
		if len(m.values) > len(body)+1 {
			t.Fatalf("%d values from %d bytes", len(m.values), len(body))
		}
		for _, v := range m.values {
			if math.IsInf(float64(v), 0) {
				t.Fatal("infinity accepted")
			}
		}
	})
}

func FuzzParseLibSVM(f *testing.F) {
	for _, s := range []string{"1 0:1 2:3", "0:1\n\n1:2", "1:2:3", "x:1", "0:abc", "-1:2", "2147483647:1", "1\n0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var sp sparse
		if err := parseLibSVM(body, &sp); err != nil {
			var pe *payloadError
			if !errors.As(err, &pe) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		n := len(sp.rows)
		if n == 0 || len(sp.cols) != n || len(sp.vals) != n || n > len(body)/2 {
			t.Fatalf("%d rows, %d cols, %d values from %d bytes", n, len(sp.cols), len(sp.vals), len(body))
		}
		for i := range n {
			if sp.rows[i] < 0 || int(sp.rows[i]) >= sp.nrow || sp.cols[i] < 0 || int(sp.cols[i]) >= sp.ncol ||
				(i > 0 && sp.rows[i] < sp.rows[i-1]) || math.IsInf(float64(sp.vals[i]), 0) {
				t.Fatalf("entry %d: row %d col %d value %v of %d×%d", i, sp.rows[i], sp.cols[i], sp.vals[i], sp.nrow, sp.ncol)
			}
		}
	})
}

package xgbserve

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"hearth/internal/xgboost"
)

// testdata is the xgboost package's: XGBoost 1.7.4 models and predictions.
const testdata = "../testdata"

// seedPayload is the row the provisioned-concurrency example notebook sends.
const seedPayload = ".345,0.224414,.131102,0.042329,.279923,-0.110329,-0.099358,0.0"

// seedDir unpacks the seed model.tar.gz as SageMaker unpacks ModelDataUrl
// into the model directory.
func seedDir(tb testing.TB) string {
	tb.Helper()
	f, err := os.Open(filepath.Join(testdata, "seed-abalone-tarball", "model.tar.gz"))
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
		data, err := io.ReadAll(tr)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(h.Name)), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func seedModel(tb testing.TB) *xgboost.Model {
	tb.Helper()
	m, err := xgboost.LoadDir(seedDir(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// seedWant is XGBoost 1.7.4's prediction for seedPayload.
func seedWant(tb testing.TB) float64 {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(testdata, "seed-abalone-tarball", "expected.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(data)), 64)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func loadFixture(t *testing.T, name string) *xgboost.Model {
	t.Helper()
	m, err := xgboost.LoadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

type response struct {
	status int
	ctype  string
	body   string
}

// post sends a request; contentType "-" sends no Content-Type header.
func post(t *testing.T, srv *httptest.Server, contentType, accept, body string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/invocations", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "-" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

func near(got, want float64) bool {
	d := math.Abs(got - want)
	return d <= 1e-6 || d <= 1e-5*math.Abs(want)
}

// csvValues parses a CSV answer into rows of numbers.
func csvValues(t *testing.T, body string) [][]float64 {
	t.Helper()
	if !strings.HasSuffix(body, "\n") {
		t.Errorf("CSV answer %q is not newline-terminated", body)
	}
	var rows [][]float64
	for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		var row []float64
		for _, f := range strings.Split(line, ",") {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatalf("CSV answer %q: %v", body, err)
			}
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	return rows
}

func TestPing(t *testing.T) {
	srv := httptest.NewServer(NewHandler(seedModel(t), env()))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Errorf("GET /ping = %d %q, want 200 and an empty body", resp.StatusCode, body)
	}
}

func TestSeedPayload(t *testing.T) {
	srv := httptest.NewServer(NewHandler(seedModel(t), env()))
	defer srv.Close()
	want := seedWant(t)
	libsvm := "0 "
	for i, f := range strings.Split(seedPayload, ",") {
		libsvm += fmt.Sprintf(" %d:%s", i, f)
	}
	tests := []struct {
		name, contentType, body string
	}{
		{"text/csv", "text/csv", seedPayload},
		{"text/csv with charset", "text/csv; charset=utf-8", seedPayload},
		{"text/csv with label_size=1", "text/csv;label_size=1", seedPayload},
		{"csv", "csv", seedPayload + "\n"},
		{"text/libsvm", "text/libsvm", libsvm},
		{"text/x-libsvm", "text/x-libsvm", libsvm},
		{"no Content-Type is libsvm", "-", libsvm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, srv, tc.contentType, "", tc.body)
			if r.status != http.StatusOK || r.ctype != "text/csv; charset=utf-8" {
				t.Fatalf("%d %q: %s", r.status, r.ctype, r.body)
			}
			rows := csvValues(t, r.body)
			if len(rows) != 1 || len(rows[0]) != 1 || !near(rows[0][0], want) {
				t.Errorf("answer %q, want %v", r.body, want)
			}
		})
	}
}

func TestAccept(t *testing.T) {
	m := seedModel(t)
	want := seedWant(t)
	body := seedPayload + "\n" + seedPayload + "\n"
	tests := []struct {
		name, defaultAccept, accept string
		wantType                    string
	}{
		{"none", "", "", "text/csv"},
		{"any", "", "*/*", "text/csv"},
		{"csv", "", "text/csv", "text/csv"},
		{"json", "", "application/json", "application/json"},
		{"json with parameters", "", "application/json; verbose=True", "application/json"},
		{"jsonlines", "", "application/jsonlines", "application/jsonlines"},
		{"default from the environment", "application/json", "", "application/json"},
		{"default from the environment for */*", "application/jsonlines", "*/*", "application/jsonlines"},
		{"explicit accept beats the default", "application/json", "text/csv", "text/csv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(NewHandler(m, env(EnvDefaultAccept, tc.defaultAccept)))
			defer srv.Close()
			r := post(t, srv, "text/csv", tc.accept, body)
			if r.status != http.StatusOK || !strings.HasPrefix(r.ctype, tc.wantType) {
				t.Fatalf("%d %q: %s; want 200 %s", r.status, r.ctype, r.body, tc.wantType)
			}
			var got []float64
			switch tc.wantType {
			case "text/csv":
				for _, row := range csvValues(t, r.body) {
					got = append(got, row...)
				}
			case "application/json":
				var doc struct {
					Predictions []struct{ Score float64 } `json:"predictions"`
				}
				if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
					t.Fatalf("%v: %s", err, r.body)
				}
				for _, p := range doc.Predictions {
					got = append(got, p.Score)
				}
			case "application/jsonlines":
				for _, line := range strings.Split(strings.TrimSuffix(r.body, "\n"), "\n") {
					var p struct{ Score float64 }
					if err := json.Unmarshal([]byte(line), &p); err != nil {
						t.Fatalf("%v: %s", err, r.body)
					}
					got = append(got, p.Score)
				}
			}
			if len(got) != 2 || !near(got[0], want) || !near(got[1], want) {
				t.Errorf("answer %q, want two predictions of %v", r.body, want)
			}
		})
	}
}

func TestNumbersPrintAsTheContainerPrintsThem(t *testing.T) {
	// The container's own test: a float32 prediction of 0.43861908 prints
	// as 0.43861907720565796 (the float32 widened to float64, repr'd).
	model := `{"learner":{"attributes":{},"feature_names":[],"feature_types":[],
	 "gradient_booster":{"model":{"gbtree_model_param":{"num_parallel_tree":"1","num_trees":"1"},"tree_info":[0],
	  "trees":[{"default_left":[1,0,0],"id":0,"left_children":[1,-1,-1],"right_children":[2,-1,-1],
	   "split_conditions":[0.5,0.43861908,0.4533972],"split_indices":[0,0,0],"split_type":[0,0,0],
	   "tree_param":{"num_feature":"1","num_nodes":"3","size_leaf_vector":"0"}}]},"name":"gbtree"},
	 "learner_model_param":{"base_score":"0E0","num_class":"0","num_feature":"1","num_target":"1"},
	 "objective":{"name":"reg:squarederror"}},"version":[1,7,4]}`
	m, err := xgboost.Load([]byte(model))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(m, env()))
	defer srv.Close()
	r := post(t, srv, "text/csv", "application/json", "0\n1")
	if want := `{"predictions": [{"score": 0.43861907720565796}, {"score": 0.4533972144126892}]}`; r.body != want {
		t.Errorf("JSON answer\n %s\nwant\n %s", r.body, want)
	}
	r = post(t, srv, "text/csv", "text/csv", "0\n1")
	if want := "0.43861907720565796\n0.4533972144126892\n"; r.body != want {
		t.Errorf("CSV answer %q, want %q", r.body, want)
	}
}

func TestMultiClassOutputs(t *testing.T) {
	m := loadFixture(t, "iris-multiclass/model.json")
	srv := httptest.NewServer(NewHandler(m, env()))
	defer srv.Close()
	input, err := os.ReadFile(filepath.Join(testdata, "iris-multiclass", "input.csv"))
	if err != nil {
		t.Fatal(err)
	}
	expected, err := os.ReadFile(filepath.Join(testdata, "iris-multiclass", "expected.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := csvValues(t, string(expected))
	r := post(t, srv, "text/csv", "text/csv", string(input))
	got := csvValues(t, r.body)
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		for k := range want[i] {
			if len(got[i]) != 3 || !near(got[i][k], want[i][k]) {
				t.Fatalf("row %d: %v, want %v", i, got[i], want[i])
			}
		}
	}
	r = post(t, srv, "text/csv", "application/json", "5.1,3.5,1.4,0.2")
	var doc struct {
		Predictions []struct{ Score []float64 } `json:"predictions"`
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil || len(doc.Predictions) != 1 || len(doc.Predictions[0].Score) != 3 {
		t.Errorf("JSON answer %s (%v): want one prediction with a score list of 3", r.body, err)
	}
}

func TestErrors(t *testing.T) {
	m := seedModel(t) // 8 features
	srv := httptest.NewServer(NewHandler(m, env(EnvMaxContent, "200")))
	defer srv.Close()
	nine := seedPayload + ",1"
	tests := []struct {
		name, contentType, accept, body string
		status                          int
		want                            string
	}{
		{"empty body", "text/csv", "", "", http.StatusNoContent, ""},
		{"more columns than features", "text/csv", "", nine, http.StatusBadRequest,
			"Unable to evaluate payload provided: Feature size of csv inference data 9 is not consistent with feature size of trained model 8."},
		{"libsvm index past the features", "text/libsvm", "", "1 8:1", http.StatusBadRequest,
			"Unable to evaluate payload provided: Feature size of libsvm inference data 9 is larger than feature size of trained model 8."},
		{"one-based libsvm of 8 features has 9 columns", "text/libsvm", "", "1:1 8:1", http.StatusBadRequest, "inference data 9"},
		{"unparsable number", "text/csv", "", "1,2,3,4,5,6,7,8\n1,2,x,4,5,6,7,8", http.StatusBadRequest,
			"row 2, column 3: could not convert string to float: 'x'"},
		{"ragged rows", "text/csv", "", "1,2,3,4,5,6,7,8\n1,2", http.StatusBadRequest, "row 2 has 2 fields but row 1 has 8"},
		{"bad libsvm", "text/libsvm", "", "1 a:b", http.StatusBadRequest, "Loading libsvm data failed"},
		{"json input", "application/json", "", `{"instances":[[1,2]]}`, http.StatusUnsupportedMediaType,
			"application/json is not an accepted ContentType"},
		{"empty Content-Type", "", "", seedPayload, http.StatusUnsupportedMediaType, "is not an accepted ContentType"},
		{"recordio-protobuf input", "application/x-recordio-protobuf", "", "\x0a\xd7\x23\xce", http.StatusUnsupportedMediaType,
			"Content-type application/x-recordio-protobuf is not supported."},
		{"label_size other than 1", "text/csv; label_size=2", "", seedPayload, http.StatusUnsupportedMediaType,
			"Optional parameter label_size must be equal to 1"},
		{"unsupported accept", "text/csv", "application/xml", seedPayload, http.StatusNotAcceptable,
			"Accept type application/xml is not supported."},
		{"recordio accept", "text/csv", "application/x-recordio-protobuf", seedPayload, http.StatusNotAcceptable, "is not supported"},
		{"payload over MAX_CONTENT_LENGTH", "text/csv", "", strings.Repeat(seedPayload+"\n", 4), http.StatusRequestEntityTooLarge, "MAX_CONTENT_LENGTH"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, srv, tc.contentType, tc.accept, tc.body)
			if r.status != tc.status || !strings.Contains(r.body, tc.want) {
				t.Errorf("%d %q; want %d with %q", r.status, r.body, tc.status, tc.want)
			}
		})
	}
	t.Run("fewer columns than features are missing values", func(t *testing.T) {
		r := post(t, srv, "text/csv", "", ".345,0.224414")
		if r.status != http.StatusOK || len(csvValues(t, r.body)) != 1 {
			t.Errorf("%d %q; want one prediction", r.status, r.body)
		}
	})
	t.Run("wrong method and path", func(t *testing.T) {
		resp, err := srv.Client().Get(srv.URL + "/invocations")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /invocations = %d, want 405", resp.StatusCode)
		}
		resp, err = srv.Client().Get(srv.URL + "/nope")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /nope = %d, want 404", resp.StatusCode)
		}
	})
}

func TestPickledModelFeatureCheck(t *testing.T) {
	// For a pickled model the container also refuses CSV with fewer columns
	// than features, except exactly one fewer.
	tests := []struct {
		file   string
		body   string
		status int
	}{
		{"pickle/iris-softmax.legacy-handle.p3.pkl", "5.1,3.5,1.4,0.2", http.StatusOK},
		{"pickle/iris-softmax.legacy-handle.p3.pkl", "5.1,3.5,1.4", http.StatusOK},
		{"pickle/iris-softmax.legacy-handle.p3.pkl", "5.1,3.5", http.StatusBadRequest},
		{"iris-softmax/xgboost-model", "5.1,3.5", http.StatusOK},
	}
	for _, tc := range tests {
		srv := httptest.NewServer(NewHandler(loadFixture(t, tc.file), env()))
		r := post(t, srv, "text/csv", "", tc.body)
		srv.Close()
		if r.status != tc.status {
			t.Errorf("%s with %q: %d %q, want %d", tc.file, tc.body, r.status, r.body, tc.status)
		}
	}
}

func TestSelectableInferenceOutput(t *testing.T) {
	m := loadFixture(t, "breast-cancer-binary/xgboost-model")
	input, err := os.ReadFile(filepath.Join(testdata, "breast-cancer-binary", "input.csv"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(input), "\n")
	preds, err := m.Predict(mustRow(t, first), 1, false)
	if err != nil {
		t.Fatal(err)
	}
	prob := float64(preds[0])
	srv := httptest.NewServer(NewHandler(m, env(EnvOutput, "predicted_label, probabilities")))
	defer srv.Close()

	r := post(t, srv, "text/csv", "application/json", first)
	var doc struct {
		Predictions []struct {
			Label int       `json:"predicted_label"`
			Probs []float64 `json:"probabilities"`
		} `json:"predictions"`
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	wantLabel := 0
	if prob > 0.5 {
		wantLabel = 1
	}
	if len(doc.Predictions) != 1 || doc.Predictions[0].Label != wantLabel || len(doc.Predictions[0].Probs) != 2 ||
		doc.Predictions[0].Probs[1] != prob || doc.Predictions[0].Probs[0] != 1-prob {
		t.Errorf("answer %s; want label %d and probabilities [1-p, p] for p=%v", r.body, wantLabel, prob)
	}
	r = post(t, srv, "text/csv", "", first)
	if want := fmt.Sprintf("%d,\"[%s, %s]\"\n", wantLabel, appendRepr(nil, 1-prob, false), appendRepr(nil, prob, false)); r.body != want {
		t.Errorf("CSV answer %q, want %q", r.body, want)
	}
	r = post(t, srv, "text/csv", "text/html", first)
	if r.status != http.StatusNotAcceptable {
		t.Errorf("text/html accept: %d, want 406", r.status)
	}

	poisson := httptest.NewServer(NewHandler(loadFixture(t, "poisson-count/model.json"), env(EnvOutput, "predicted_score")))
	defer poisson.Close()
	r = post(t, poisson, "text/csv", "", "1,2,3,4,5,6,7,8")
	if r.status != http.StatusInternalServerError || !strings.Contains(r.body, "Objective `count:poisson` unsupported") {
		t.Errorf("count:poisson: %d %q; want 500 naming the objective", r.status, r.body)
	}
}

func mustRow(t *testing.T, line string) []float32 {
	t.Helper()
	m, err := parseCSV(line, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m.values
}

func TestLibSVMRepeatedIndexAddsUp(t *testing.T) {
	m := seedModel(t)
	srv := httptest.NewServer(NewHandler(m, env()))
	defer srv.Close()
	a := post(t, srv, "text/libsvm", "", "0:0.3 0:0.045 1:0.224414")
	b := post(t, srv, "text/libsvm", "", "0:0.345 1:0.224414")
	if a.status != http.StatusOK || a.body != b.body {
		t.Errorf("0:0.3 0:0.045 gave %q, 0:0.345 gave %q; want the same", a.body, b.body)
	}
	c := post(t, srv, "text/libsvm", "", "0:1\n\n0:1")
	if rows := csvValues(t, c.body); len(rows) != 3 {
		t.Errorf("three lines gave %d predictions (%q), want 3", len(rows), c.body)
	}
}

func TestMainEntryPoint(t *testing.T) {
	dir := seedDir(t)
	t.Run("serves until the context ends", func(t *testing.T) {
		port := freePort(t)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- Main(ctx, env(EnvPort, port, EnvModelDir, dir), slog.New(slog.DiscardHandler))
		}()
		url := "http://127.0.0.1:" + port
		// The model loads before the port opens, so the first answered ping
		// is a 200; until the port opens, connections are refused.
		var resp *http.Response
		for resp == nil {
			var err error
			if resp, err = http.Get(url + "/ping"); err != nil {
				select {
				case err := <-done:
					t.Fatalf("Main returned early: %v", err)
				default:
				}
			}
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("first ping: %d", resp.StatusCode)
		}
		resp, err := http.Post(url+"/invocations", "text/csv", strings.NewReader(seedPayload))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		v, err := strconv.ParseFloat(strings.TrimSpace(string(body)), 64)
		if err != nil || !near(v, seedWant(t)) {
			t.Errorf("prediction %q, want %v", body, seedWant(t))
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Main = %v after cancel, want nil", err)
		}
	})
	tests := []struct {
		name string
		env  func(string) string
		want string
	}{
		{"no model", env(EnvModelDir, t.TempDir(), EnvPort, "1"), "no model file"},
		{"bad model", env(EnvModelDir, writeFile(t, "xgboost-model", "garbage"), EnvPort, "1"), "unable to load model"},
		{"bad port", env(EnvModelDir, dir, EnvPort, "eighty"), "not a port number"},
		{"bad MAX_CONTENT_LENGTH", env(EnvModelDir, dir, EnvMaxContent, "6MB"), "not an integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Main(t.Context(), tc.env, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Main = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestExecutionParameters(t *testing.T) {
	srv := httptest.NewServer(NewHandler(seedModel(t), env()))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/execution-parameters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct {
		MaxConcurrentTransforms int
		BatchStrategy           string
		MaxPayloadInMB          int
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p.BatchStrategy != "MULTI_RECORD" || p.MaxPayloadInMB != 6 || p.MaxConcurrentTransforms < 1 {
		t.Errorf("execution parameters %+v", p)
	}
}

func TestHandlerAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops buffers at random under -race")
	}
	h := NewHandler(seedModel(t), env())
	body := []byte(seedPayload)
	req := httptest.NewRequest(http.MethodPost, "/invocations", bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/csv")
	w := discard{http.Header{}}
	allocs := testing.AllocsPerRun(200, func() {
		req.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, req)
	})
	// The body is copied to a string once, and MaxBytesReader wraps it;
	// buffers for values, predictions and output are reused.
	if allocs > 8 {
		t.Errorf("%v allocations per single-row request", allocs)
	}
}

type discard struct{ h http.Header }

func (d discard) Header() http.Header       { return d.h }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}

func TestConcurrentRequests(t *testing.T) {
	srv := httptest.NewServer(NewHandler(seedModel(t), env()))
	defer srv.Close()
	want := seedWant(t)
	bodies := []string{seedPayload, seedPayload + "\n" + seedPayload, strings.Repeat(seedPayload+"\n", 50)}
	errs := make(chan error, 12)
	for i := range 12 {
		go func() {
			body := bodies[i%len(bodies)]
			resp, err := srv.Client().Post(srv.URL+"/invocations", "text/csv", strings.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			out, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if err == nil && len(lines) != strings.Count(strings.TrimSpace(body), "\n")+1 {
				err = fmt.Errorf("%d predictions for %q", len(lines), body)
			}
			for _, l := range lines {
				if v, perr := strconv.ParseFloat(l, 64); err == nil && (perr != nil || !near(v, want)) {
					err = fmt.Errorf("prediction %q, want %v", l, want)
				}
			}
			errs <- err
		}()
	}
	for range 12 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

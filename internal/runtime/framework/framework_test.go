package framework

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hearth/internal/runtime"
	"hearth/internal/runtime/process"
)

// testPython is the Python the tests run models on: $HEARTH_TEST_PYTHON,
// or Debian's /usr/bin/python3, where python3-sklearn and python3-torch
// install (a python3 earlier on PATH, e.g. pyenv's, may lack them).
func testPython() string {
	if py := os.Getenv("HEARTH_TEST_PYTHON"); py != "" {
		return py
	}
	return "/usr/bin/python3"
}

// runPython runs script with py in dir.
func runPython(py, dir, script string) error {
	cmd := exec.Command(py, "-c", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	return nil
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixture is a model trained once per test binary, in the background from
// TestMain, with the framework's own predictions for a fixed input and
// that input encoded as the decoders take it.
type fixture struct {
	modules string // what the Python must import
	script  string // trains and saves the model in the current directory
	dir     string
	ready   chan struct{}
	skip    string // why the tests that need it skip
	err     error
}

var fixtures = struct{ sklearn, torch *fixture }{
	sklearn: &fixture{modules: "sklearn, joblib", script: `
import json, joblib, numpy as np
from sklearn.ensemble import RandomForestRegressor
rng = np.random.RandomState(0)
X = rng.rand(200, 4)
y = X @ np.array([1.5, -2.0, 0.5, 3.0]) + 0.1 * rng.rand(200)
m = RandomForestRegressor(n_estimators=10, random_state=0).fit(X, y)
joblib.dump(m, "model.joblib")
q = np.array([[0.1, 0.2, 0.3, 0.4], [0.9, 0.8, 0.7, 0.6]], dtype=np.float32)
np.save("input.npy", q)
json.dump({"input": q.tolist(), "predict": m.predict(q).tolist()}, open("expected.json", "w"))
`},
	// A TorchScript model (a small MLP, scripted).
	torch: &fixture{modules: "torch, scipy", script: `
import json, torch, numpy as np, scipy.sparse as sp
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
torch.jit.script(m).save("model.pt")
q = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.9, 0.8, 0.7, 0.6]])
with torch.no_grad():
    out = m(q)
np.save("input.npy", q.numpy())
sp.save_npz("input.npz", sp.csr_matrix(q.numpy()))
json.dump({"input": q.tolist(), "output": out.tolist()}, open("expected.json", "w"))
`},
}

// build trains f's model in a directory of root, skipping when the
// Python lacks f's modules.
func (f *fixture) build(py, root string) {
	defer close(f.ready)
	if err := runPython(py, "", "import "+f.modules); err != nil {
		f.skip = fmt.Sprintf("%s cannot import %s (install python3-sklearn python3-torch python3-joblib, or set HEARTH_TEST_PYTHON): %v", py, f.modules, err)
		return
	}
	dir, err := os.MkdirTemp(root, "model-")
	if err == nil {
		err = runPython(py, dir, f.script)
	}
	f.dir, f.err = dir, err
}

// get waits for f and returns its directory, or skips or fails t.
func (f *fixture) get(t testing.TB) string {
	t.Helper()
	<-f.ready
	if f.skip != "" {
		t.Skip(f.skip)
	}
	if f.err != nil {
		t.Fatalf("train the test model: %v", f.err)
	}
	return f.dir
}

// modelDir is a model directory of the test's own holding f's model and,
// if inference is not empty, code/inference.py.
func (f *fixture) modelDir(t testing.TB, inference string) string {
	t.Helper()
	src := f.get(t)
	dir := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	if inference != "" {
		writeFile(t, filepath.Join(dir, "code", "inference.py"), inference)
	}
	return dir
}

func (f *fixture) file(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.get(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const sklearnInference = `
import os, joblib

def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
`

type expected struct {
	Input   [][]float64 `json:"input"`
	Predict []float64   `json:"predict"`
}

func readExpected(t testing.TB, dir string) expected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// start starts a worker for framework's model in modelDir with env, and
// waits for its /ping.
func start(t testing.TB, rt *Runtime, framework, modelDir string, env ...string) (runtime.Process, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := rt.Start(ctx, runtime.Spec{
		Name: t.Name(), Framework: framework, ModelDir: modelDir, Dir: t.TempDir(), Output: out,
		Env: append([]string{"PATH=/usr/bin:/bin"}, env...),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Stop(ctx)
	})
	if err := waitPing(ctx, p); err != nil {
		t.Fatalf("%v\noutput:\n%s", err, out.String())
	}
	return p, out
}

// waitPing polls the worker's /ping as the fleet does, every 250µs, until
// it answers 200.
func waitPing(ctx context.Context, p runtime.Process) error {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		resp, err := client.Get("http://" + p.Addr() + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-p.Done():
			return fmt.Errorf("worker exited before answering /ping: %v", p.Err())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Microsecond):
		}
	}
}

// invoke POSTs body to the worker's /invocations.
func invoke(t testing.TB, p runtime.Process, contentType, accept string, body []byte) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.Addr()+"/invocations", bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// shared is the runtime the tests share, so that each framework is
// imported once per test binary: TestMain starts its fork servers while
// the fixtures train, and closes it.
var shared *Runtime

func TestMain(m *testing.M) {
	py := testPython()
	root, err := os.MkdirTemp("", "hearth-framework-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared = New(Options{Python: py})
	for _, f := range []*fixture{fixtures.sklearn, fixtures.torch} {
		f.ready = make(chan struct{})
		go f.build(py, root)
	}
	shared.Prewarm(runtime.Spec{Framework: SKLearn})
	shared.Prewarm(runtime.Spec{Framework: PyTorch})
	code := m.Run()
	shared.Close()
	<-fixtures.sklearn.ready
	<-fixtures.torch.ready
	os.RemoveAll(root)
	os.Exit(code)
}

func closeTo(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-5*math.Max(1, math.Abs(b[i])) {
			return false
		}
	}
	return true
}

func TestSKLearnDefaults(t *testing.T) {
	t.Parallel()
	dir := fixtures.sklearn.modelDir(t, sklearnInference)
	want := readExpected(t, dir)
	p, out := start(t, shared, SKLearn, dir, "SAGEMAKER_PROGRAM=inference.py", "SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code")

	body, _ := json.Marshal(want.Input)
	var csv strings.Builder
	for _, row := range want.Input {
		fmt.Fprintf(&csv, "%g,%g,%g,%g\n", row[0], row[1], row[2], row[3])
	}
	npy := fixtures.sklearn.file(t, "input.npy")

	for _, in := range []struct {
		name, ct string
		body     []byte
	}{{"json", "application/json", body}, {"csv", "text/csv", []byte(csv.String())}, {"npy", "application/x-npy", npy}, {"no content type", "", body}} {
		// Default Accept: JSON.
		code, ct, got := invoke(t, p, in.ct, "", in.body)
		var pred []float64
		if code != 200 || ct != "application/json" || json.Unmarshal(got, &pred) != nil || !closeTo(pred, want.Predict) {
			t.Errorf("%s: %d %s %s; want 200 application/json %v\n%s", in.name, code, ct, got, want.Predict, out)
		}
	}
	// Encoders per Accept.
	code, ct, got := invoke(t, p, "application/json", "text/csv", body)
	var csvPred []float64
	for _, line := range strings.Fields(string(got)) {
		var f float64
		fmt.Sscan(line, &f)
		csvPred = append(csvPred, f)
	}
	if code != 200 || ct != "text/csv" || !closeTo(csvPred, want.Predict) {
		t.Errorf("Accept text/csv: %d %s %q", code, ct, got)
	}
	code, ct, got = invoke(t, p, "application/json", "application/x-npy", body)
	if code != 200 || ct != "application/x-npy" || !bytes.HasPrefix(got, []byte("\x93NUMPY")) {
		t.Errorf("Accept application/x-npy: %d %s %q", code, ct, got)
	}
	// Unsupported types: 415 for the request, 406 for Accept.
	if code, _, got = invoke(t, p, "application/x-unknown", "", body); code != 415 || !strings.Contains(string(got), "UnsupportedFormatError") {
		t.Errorf("unknown content type: %d %s", code, got)
	}
	if code, _, got = invoke(t, p, "application/json", "image/png", body); code != 406 {
		t.Errorf("unknown accept: %d %s", code, got)
	}
	if p.Pid() <= 0 {
		t.Errorf("pid %d", p.Pid())
	}
}

func TestSKLearnUserHandlersAndErrors(t *testing.T) {
	t.Parallel()
	// A script as written for the real container: its own input_fn,
	// predict_fn and output_fn, using the containers' modules.
	dir := fixtures.sklearn.modelDir(t, sklearnInference+`
import json
import numpy as np
from sagemaker_containers.beta.framework import encoders, worker
from sagemaker_inference import content_types, decoder

def input_fn(body, content_type):
    if content_type == content_types.JSON:
        data = json.loads(body)
        if data == "boom":
            raise ValueError("the payload says boom")
        return np.array(data["instances"])
    return decoder.decode(body, content_type)

def predict_fn(data, model):
    return {"predictions": model.predict(data).tolist()}

def output_fn(prediction, accept):
    return worker.Response(encoders.encode(prediction, "application/json"), mimetype="application/vnd.hearth+json")
`)
	want := readExpected(t, dir)
	p, out := start(t, shared, SKLearn, dir, "SAGEMAKER_PROGRAM=inference.py")
	body, _ := json.Marshal(map[string]any{"instances": want.Input})
	code, ct, got := invoke(t, p, "application/json", "", body)
	var res struct{ Predictions []float64 }
	if code != 200 || ct != "application/vnd.hearth+json" || json.Unmarshal(got, &res) != nil || !closeTo(res.Predictions, want.Predict) {
		t.Fatalf("%d %s %s; want %v\n%s", code, ct, got, want.Predict, out)
	}
	code, _, got = invoke(t, p, "application/json", "", []byte(`"boom"`))
	if code != 500 || !strings.Contains(string(got), "the payload says boom") {
		t.Errorf("user error: %d %s, want 500 naming the error", code, got)
	}
	if o := out.String(); !strings.Contains(o, "Traceback (most recent call last)") || !strings.Contains(o, `raise ValueError("the payload says boom")`) {
		t.Errorf("worker output lacks the traceback:\n%s", o)
	}
}

func TestSKLearnWithoutModelFn(t *testing.T) {
	t.Parallel()
	dir := fixtures.sklearn.modelDir(t, "# no model_fn\n")
	writeFile(t, filepath.Join(dir, "code", "requirements.txt"), "pandas==2.0\n")
	out := &syncBuffer{}
	p, err := shared.Start(context.Background(), runtime.Spec{Framework: SKLearn, ModelDir: dir, Dir: t.TempDir(), Output: out,
		Env: []string{"SAGEMAKER_PROGRAM=inference.py", "SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code"}})
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	var e *runtime.Exit
	if !errors.As(p.Err(), &e) || e.Code != 2 {
		t.Errorf("exit %v, want status 2", p.Err())
	}
	for _, want := range []string{"model_fn", "requirements.txt lists pandas==2.0: not installed"} {
		if !strings.Contains(p.Output(), want) {
			t.Errorf("output lacks %q:\n%s", want, p.Output())
		}
	}
}

func TestSubmitDirectoryURL(t *testing.T) {
	t.Parallel()
	dir := fixtures.sklearn.modelDir(t, sklearnInference)
	p, err := shared.Start(context.Background(), runtime.Spec{Framework: SKLearn, ModelDir: dir, Dir: t.TempDir(),
		Env: []string{"SAGEMAKER_PROGRAM=inference.py", "SAGEMAKER_SUBMIT_DIRECTORY=s3://bucket/code/sourcedir.tar.gz"}})
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if !strings.Contains(p.Output(), "tarball URL is not supported") {
		t.Errorf("output: %s", p.Output())
	}
}

func TestPyTorchDefaults(t *testing.T) {
	t.Parallel()
	dir := fixtures.torch.modelDir(t, "")
	var want struct {
		Input  [][]float64
		Output [][]float64
	}
	b, _ := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	flat := func(rows [][]float64) (f []float64) {
		for _, r := range rows {
			f = append(f, r...)
		}
		return f
	}
	p, out := start(t, shared, PyTorch, dir)
	body, _ := json.Marshal(want.Input)
	npy, npz := fixtures.torch.file(t, "input.npy"), fixtures.torch.file(t, "input.npz")
	for _, in := range []struct {
		name, ct string
		body     []byte
	}{{"json", "application/json", body}, {"csv", "text/csv", []byte("0.1,0.2,0.3,0.4\n0.9,0.8,0.7,0.6\n")}, {"npy", "application/x-npy", npy}, {"npz", "application/x-npz", npz}} {
		code, ct, got := invoke(t, p, in.ct, "*/*", in.body)
		var res [][]float64
		if code != 200 || ct != "application/json" || json.Unmarshal(got, &res) != nil || !closeTo(flat(res), flat(want.Output)) {
			t.Errorf("%s: %d %s %s; want %v\n%s", in.name, code, ct, got, want.Output, out)
		}
	}
	code, ct, got := invoke(t, p, "application/json", "text/csv", body)
	if code != 200 || ct != "text/csv" || strings.Count(string(got), "\n") != 2 {
		t.Errorf("Accept text/csv: %d %s %q", code, ct, got)
	}
	code, _, got = invoke(t, p, "application/json", "image/png, application/x-npy", body)
	if code != 200 || !bytes.HasPrefix(got, []byte("\x93NUMPY")) {
		t.Errorf("Accept list: %d %q", code, got)
	}
	// An unsupported content type is an error the toolkit answers 500.
	code, _, got = invoke(t, p, "application/x-unknown", "", body)
	if code != 500 || !strings.Contains(string(got), "Content type application/x-unknown is not supported") || !strings.Contains(string(got), "Traceback") {
		t.Errorf("unsupported content type: %d %s", code, got)
	}
}

func TestPyTorchUserScript(t *testing.T) {
	t.Parallel()
	dir := fixtures.torch.modelDir(t, `
import os, torch
from sagemaker_inference import decoder, encoder, errors, utils

def model_fn(model_dir, context):
    assert context.system_properties["model_dir"] == model_dir
    return torch.jit.load(os.path.join(model_dir, "model.pt"))

def input_fn(body, content_type):
    if content_type != "application/json":
        raise errors.GenericInferenceToolkitError(400, "send JSON")
    return torch.FloatTensor(decoder.decode(body, content_type))

def predict_fn(data, model):
    if data.shape[-1] != 4:
        raise RuntimeError("want 4 features, got %d" % data.shape[-1])
    return model(data)

def output_fn(prediction, accept):
    return encoder.encode(prediction.detach().numpy().argmax(axis=1), "application/json"), "application/json"
`)
	p, out := start(t, shared, PyTorch, dir, "SAGEMAKER_PROGRAM=inference.py", "SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code")
	code, _, got := invoke(t, p, "application/json", "", []byte(`[[0.1,0.2,0.3,0.4]]`))
	if code != 200 || (string(got) != "[0]" && string(got) != "[1]") {
		t.Errorf("%d %s\n%s", code, got, out)
	}
	if code, _, got = invoke(t, p, "text/csv", "", []byte("1,2,3,4")); code != 400 || !strings.HasPrefix(string(got), "send JSON") {
		t.Errorf("toolkit error: %d %s, want 400", code, got)
	}
	code, _, got = invoke(t, p, "application/json", "", []byte(`[[1,2]]`))
	if code != 500 || !strings.Contains(string(got), "want 4 features, got 2") || !strings.Contains(out.String(), "Traceback") {
		t.Errorf("user error: %d %s\noutput: %s", code, got, out)
	}
}

// TestShimModules runs the toolkits' modules' behaviour checks in Python.
func TestShimModules(t *testing.T) {
	t.Parallel()
	fixtures.torch.get(t) // numpy and scipy are there
	py := testPython()
	shared.mu.Lock()
	dir, err := shared.extractLocked()
	shared.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", `
import io, json, numpy as np, scipy.sparse as sp
from sagemaker_inference import content_types, decoder, encoder, errors, utils
from sagemaker_containers.beta.framework import content_types as cct, encoders, errors as cerr, worker

a = np.array([[1.5, 2.0], [3.0, 4.25]])
assert content_types.NPZ == "application/x-npz" and content_types.UTF8_TYPES == ["application/json", "text/csv"]
assert (decoder.decode("[[1.5,2.0],[3.0,4.25]]", "application/json") == a).all()
assert (decoder.decode("1.5,2\n3,4.25\n", "text/csv") == a).all()
assert (decoder.decode(encoder.encode(a, "application/x-npy"), "application/x-npy") == a).all()
buf = io.BytesIO(); sp.save_npz(buf, sp.csr_matrix(a))
assert (decoder.decode(buf.getvalue(), "application/x-npz").toarray() == a).all()
assert json.loads(encoder.encode(a, "application/json")) == a.tolist()
assert encoder.encode(a, "text/csv") == "1.5,2.0\n3.0,4.25\n", encoder.encode(a, "text/csv")
assert encoder.SUPPORTED_CONTENT_TYPES == {"application/json", "text/csv", "application/x-npy"}
for f, arg in ((decoder.decode, "x"), (encoder.encode, a)):
    try:
        f(arg, "image/png"); raise AssertionError("no error")
    except errors.UnsupportedFormatError as e:
        assert "Content type image/png is not supported" in str(e)
e = errors.GenericInferenceToolkitError(400)
assert (e.status_code, e.message, e.phrase) == (400, "Invalid Request", "Invalid Request")
assert isinstance(e, errors.BaseInferenceToolkitError)
assert utils.parse_accept("application/json, text/csv") == ["application/json", "text/csv"]
assert utils.retrieve_content_type_header({"content-type": "text/csv"}) == "text/csv"
assert utils.remove_crlf("a\r\nb") == "a  b"

assert cct.JSON == "application/json" and cct.NPY == "application/x-npy"
assert encoders.decode("1,2\n3,4", "text/csv").tolist() == [[1.0, 2.0], [3.0, 4.0]]
assert encoders.decode("1,2,3", "text/csv").shape == (3,)
assert encoders.encode([1, 2], "text/csv") == "1\n2\n"
assert json.loads(encoders.encode(np.arange(3), "application/json")) == [0, 1, 2]
assert (encoders.decode(encoders.encode(a, "application/x-npy"), "application/x-npy") == a).all()
try:
    encoders.decode("x", "image/png"); raise AssertionError("no error")
except cerr.UnsupportedFormatError:
    pass
r = worker.Response("[1]", mimetype="application/json", status=201)
assert (r.status_code, r.mimetype, r.get_data(), r.get_data(as_text=True)) == (201, "application/json", b"[1]", "[1]")
assert worker.Response(b"x").mimetype == "application/json"
print("ok")
`)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir, "PYTHONDONTWRITEBYTECODE=1")
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestExitStatusStopAndRestart(t *testing.T) {
	// Not parallel: it kills the shared fork server, before the parallel
	// tests run.
	dir := fixtures.sklearn.modelDir(t, sklearnInference+`
import os
def predict_fn(data, model):
    if len(data) == 3:
        os._exit(7)
    return model.predict(data)
`)
	rt := shared
	env := []string{"SAGEMAKER_PROGRAM=inference.py"}
	p, _ := start(t, rt, SKLearn, dir, env...)
	// A worker that crashes costs its request, and reports its status.
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.Addr()+"/invocations", strings.NewReader("[[1,2,3,4],[1,2,3,4],[1,2,3,4]]"))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("crashing request answered %d", resp.StatusCode)
	}
	<-p.Done()
	var e *runtime.Exit
	if !errors.As(p.Err(), &e) || e.Code != 7 {
		t.Errorf("crashed worker: %v, want exit status 7", p.Err())
	}
	// Stop: SIGTERM.
	q, _ := start(t, rt, SKLearn, dir, env...)
	if err := syscall.Kill(q.Pid(), 0); err != nil {
		t.Fatalf("worker pid %d: %v", q.Pid(), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q.Stop(ctx)
	if !errors.As(q.Err(), &e) || e.Signal != syscall.SIGTERM.String() {
		t.Errorf("stopped worker: %v, want killed by SIGTERM", q.Err())
	}
	// The fork server dies: its workers die with it, and the next Start
	// gets a new fork server.
	r, _ := start(t, rt, SKLearn, dir, env...)
	rt.mu.Lock()
	srv := rt.servers[SKLearn]
	rt.mu.Unlock()
	if err := syscall.Kill(srv.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("worker outlived its fork server")
	}
	if err := syscall.Kill(r.Pid(), 0); err == nil {
		// Reaped by init shortly after; give it a moment.
		time.Sleep(200 * time.Millisecond)
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.Pid())); len(b) > 0 && !strings.Contains(string(b), ") Z") {
			t.Errorf("worker %d still running after its fork server died", r.Pid())
		}
	}
	s, _ := start(t, rt, SKLearn, dir, env...)
	if code, _, _ := invoke(t, s, "application/json", "", []byte("[[1,2,3,4]]")); code != 200 {
		t.Errorf("after fork server restart: %d", code)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	fixtures.sklearn.get(t)
	py := testPython()
	if err := New(Options{Python: py}).Check(context.Background(), SKLearn); err != nil {
		t.Errorf("Check with %s: %v", py, err)
	}
	// The same Python without its site packages lacks numpy.
	bare := filepath.Join(t.TempDir(), "python-bare")
	writeFile(t, bare, "#!/bin/sh\nexec "+py+" -S \"$@\"\n")
	os.Chmod(bare, 0o755)
	err := New(Options{Python: bare}).Check(context.Background(), SKLearn)
	if err == nil || !strings.Contains(err.Error(), "module numpy") || !strings.Contains(err.Error(), "python3-numpy") {
		t.Errorf("Check without site packages: %v, want the module and package named", err)
	}
	err = New(Options{Python: filepath.Join(t.TempDir(), "no-python")}).Check(context.Background(), PyTorch)
	if err == nil || !strings.Contains(err.Error(), "cannot be run") {
		t.Errorf("Check with a missing Python: %v", err)
	}
}

// TestSpareWorker: a cold start is given the worker the fork server forked
// ahead of need, and another is forked to replace it.
func TestSpareWorker(t *testing.T) {
	t.Parallel()
	dir := fixtures.sklearn.modelDir(t, sklearnInference)
	srv, err := shared.server(context.Background(), SKLearn)
	if err != nil {
		t.Fatal(err)
	}
	pid := waitSpare(t, srv)
	p, _ := start(t, shared, SKLearn, dir)
	if p.Pid() != pid {
		// Another parallel test may have taken it; the next spare then
		// serves this test's next start.
		pid = waitSpare(t, srv)
		if p, _ = start(t, shared, SKLearn, dir); p.Pid() != pid {
			t.Fatalf("worker pid %d, want the spare's %d", p.Pid(), pid)
		}
	}
	if next := waitSpare(t, srv); next == p.Pid() {
		t.Errorf("the spare was not replaced")
	}
	if code, _, _ := invoke(t, p, "application/json", "", []byte("[[1,2,3,4]]")); code != 200 {
		t.Errorf("spare worker answered %d", code)
	}
}

// waitSpare waits until srv has a spare worker and returns its pid.
func waitSpare(t testing.TB, srv *server) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		srv.mu.Lock()
		w := srv.spare
		srv.mu.Unlock()
		if w != nil {
			<-w.warm
			return w.pid
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no spare worker")
	return 0
}

// BenchmarkColdStart measures a scikit-learn worker's cold start through
// the runtime — Start to the first /ping 200 (polled every 250µs, as the
// fleet does), model loaded — with the fork server up, against the
// baseline of starting Python and importing scikit-learn
// (`python3 -c "import sklearn.ensemble, joblib"`) in the same run. The
// sub-benchmarks take the worker from the spare forked ahead (as a cold
// start after any idle moment does) or fork it on demand, and place it in
// a memory cgroup (as `hearth serve` does where it can) or not.
func BenchmarkColdStart(b *testing.B) {
	dir := fixtures.sklearn.modelDir(b, sklearnInference)
	<-fixtures.torch.ready // nothing else runs while measuring
	if _, err := shared.server(context.Background(), PyTorch); err != nil {
		b.Logf("(no PyTorch fork server: %v)", err)
	}
	py := testPython()
	var base []time.Duration
	baseline := func() time.Duration {
		for len(base) < 5 {
			t0 := time.Now()
			if out, err := exec.Command(py, "-c", "import sklearn.ensemble, joblib").CombinedOutput(); err != nil {
				b.Fatalf("%v %s", err, out)
			}
			base = append(base, time.Since(t0))
		}
		return median(base)
	}
	cases := []struct {
		name    string
		cgroups bool
		spare   bool
	}{{"spare", false, true}, {"fork", false, false}, {"spare-cgroup", true, true}, {"fork-cgroup", true, false}}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			rt := shared
			if c.cgroups {
				cg := process.DetectCgroups("hearth-bench-framework")
				if cg == nil {
					b.Skip("no writable cgroup hierarchy")
				}
				rt = New(Options{Python: py, Cgroups: cg})
				defer rt.Close()
			}
			srv, err := rt.server(context.Background(), SKLearn)
			if err != nil {
				b.Fatal(err)
			}
			srv.fillSpare() // as Prewarm does when an endpoint deploys
			var starts []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				waitSpare(b, srv)
				if !c.spare {
					srv.takeSpare().assignment.Close()
				}
				b.StartTimer()
				t0 := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				p, err := rt.Start(ctx, runtime.Spec{Framework: SKLearn, ModelDir: dir, Dir: b.TempDir(), MemoryMB: 1024,
					Env: []string{"SAGEMAKER_PROGRAM=inference.py"}})
				if err != nil {
					b.Fatal(err)
				}
				if err := waitPing(ctx, p); err != nil {
					b.Fatalf("%v: %s", err, p.Output())
				}
				starts = append(starts, time.Since(t0))
				b.StopTimer()
				_ = p.Stop(ctx)
				cancel()
				b.StartTimer()
			}
			b.StopTimer()
			if b.N < 2 {
				return
			}
			p50, bp50 := median(starts), baseline()
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(bp50.Microseconds())/1000, "baseline-p50-ms")
			b.ReportMetric(float64(p50)/float64(bp50), "ratio")
		})
	}
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

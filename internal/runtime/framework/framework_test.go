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
)

// testPython is the Python the tests run models on: $HEARTH_TEST_PYTHON,
// or Debian's /usr/bin/python3, where python3-sklearn and python3-torch
// install (a python3 earlier on PATH, e.g. pyenv's, may lack them).
func testPython(t testing.TB, modules ...string) string {
	t.Helper()
	py := os.Getenv("HEARTH_TEST_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	args := []string{"-c", "import " + strings.Join(modules, ", ")}
	if out, err := exec.Command(py, args...).CombinedOutput(); err != nil {
		t.Skipf("%s cannot import %s (install python3-sklearn python3-torch python3-joblib, or set HEARTH_TEST_PYTHON): %v %s",
			py, strings.Join(modules, ", "), err, out)
	}
	return py
}

// runPython runs script with py in dir and fails the test on error.
func runPython(t testing.TB, py, dir, script string) {
	t.Helper()
	cmd := exec.Command(py, "-c", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
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

// sklearnModel trains a small random forest with the test Python, saves it
// with joblib as the SDK's SKLearn estimator does, and writes the
// framework's own predictions for a fixed input to expected.json.
func sklearnModel(t testing.TB, py string, inference string) string {
	t.Helper()
	dir := t.TempDir()
	runPython(t, py, dir, `
import json, joblib, numpy as np
from sklearn.ensemble import RandomForestRegressor
rng = np.random.RandomState(0)
X = rng.rand(200, 4)
y = X @ np.array([1.5, -2.0, 0.5, 3.0]) + 0.1 * rng.rand(200)
m = RandomForestRegressor(n_estimators=10, random_state=0).fit(X, y)
joblib.dump(m, "model.joblib")
q = np.array([[0.1, 0.2, 0.3, 0.4], [0.9, 0.8, 0.7, 0.6]], dtype=np.float32)
json.dump({"input": q.tolist(), "predict": m.predict(q).tolist()}, open("expected.json", "w"))
`)
	writeFile(t, filepath.Join(dir, "code", "inference.py"), inference)
	return dir
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

func waitPing(ctx context.Context, p runtime.Process) error {
	for {
		resp, err := http.Get("http://" + p.Addr() + "/ping")
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
		case <-time.After(time.Millisecond):
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

// shared is the runtime most tests share, so each framework is imported
// once per test run; TestMain closes it.
var shared struct {
	sync.Mutex
	rt *Runtime
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.rt != nil {
		shared.rt.Close()
	}
	os.Exit(code)
}

func newRuntime(t testing.TB, py string) *Runtime {
	shared.Lock()
	defer shared.Unlock()
	if shared.rt == nil {
		shared.rt = New(Options{Python: py})
	}
	return shared.rt
}

// ownRuntime is a runtime of the test's own, for tests that break it.
func ownRuntime(t testing.TB, py string) *Runtime {
	rt := New(Options{Python: py})
	t.Cleanup(func() { rt.Close() })
	return rt
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

// npy runs py to encode rows as an .npy (float32) or a sparse .npz file.
func pyBytes(t testing.TB, py, script string) []byte {
	t.Helper()
	dir := t.TempDir()
	runPython(t, py, dir, script)
	b, err := os.ReadFile(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSKLearnDefaults(t *testing.T) {
	py := testPython(t, "sklearn", "joblib")
	dir := sklearnModel(t, py, sklearnInference)
	want := readExpected(t, dir)
	rt := newRuntime(t, py)
	p, out := start(t, rt, SKLearn, dir, "SAGEMAKER_PROGRAM=inference.py", "SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code")

	body, _ := json.Marshal(want.Input)
	var csv strings.Builder
	for _, row := range want.Input {
		fmt.Fprintf(&csv, "%g,%g,%g,%g\n", row[0], row[1], row[2], row[3])
	}
	npy := pyBytes(t, py, fmt.Sprintf("import numpy as np; np.save(open('out','wb'), np.array(%s, dtype=np.float32))", body))

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
	py := testPython(t, "sklearn", "joblib")
	// A script as written for the real container: its own input_fn,
	// predict_fn and output_fn, using the containers' modules.
	dir := sklearnModel(t, py, sklearnInference+`
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
	rt := newRuntime(t, py)
	p, out := start(t, rt, SKLearn, dir, "SAGEMAKER_PROGRAM=inference.py")
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
	py := testPython(t, "sklearn", "joblib")
	dir := sklearnModel(t, py, "# no model_fn\n")
	writeFile(t, filepath.Join(dir, "code", "requirements.txt"), "pandas==2.0\n")
	rt := newRuntime(t, py)
	out := &syncBuffer{}
	p, err := rt.Start(context.Background(), runtime.Spec{Framework: SKLearn, ModelDir: dir, Dir: t.TempDir(), Output: out,
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
	py := testPython(t, "sklearn", "joblib")
	dir := sklearnModel(t, py, sklearnInference)
	rt := newRuntime(t, py)
	p, err := rt.Start(context.Background(), runtime.Spec{Framework: SKLearn, ModelDir: dir, Dir: t.TempDir(),
		Env: []string{"SAGEMAKER_PROGRAM=inference.py", "SAGEMAKER_SUBMIT_DIRECTORY=s3://bucket/code/sourcedir.tar.gz"}})
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if !strings.Contains(p.Output(), "tarball URL is not supported") {
		t.Errorf("output: %s", p.Output())
	}
}

// torchModel saves a TorchScript model (a small MLP, scripted) and the
// framework's own outputs for a fixed input.
func torchModel(t testing.TB, py string) string {
	t.Helper()
	dir := t.TempDir()
	runPython(t, py, dir, `
import json, torch
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
s = torch.jit.script(m)
s.save("model.pt")
q = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.9, 0.8, 0.7, 0.6]])
with torch.no_grad():
    out = m(q)
json.dump({"input": q.tolist(), "output": out.tolist()}, open("expected.json", "w"))
`)
	return dir
}

func TestPyTorchDefaults(t *testing.T) {
	py := testPython(t, "torch", "scipy")
	dir := torchModel(t, py)
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
	rt := newRuntime(t, py)
	p, out := start(t, rt, PyTorch, dir)
	body, _ := json.Marshal(want.Input)
	npy := pyBytes(t, py, fmt.Sprintf("import numpy as np; np.save(open('out','wb'), np.array(%s, dtype=np.float32))", body))
	npz := pyBytes(t, py, fmt.Sprintf("import numpy as np, scipy.sparse as sp; sp.save_npz(open('out','wb'), sp.csr_matrix(np.array(%s, dtype=np.float32)))", body))
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
	py := testPython(t, "torch")
	dir := torchModel(t, py)
	writeFile(t, filepath.Join(dir, "code", "inference.py"), `
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
	rt := newRuntime(t, py)
	p, out := start(t, rt, PyTorch, dir, "SAGEMAKER_PROGRAM=inference.py", "SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code")
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
	py := testPython(t, "numpy", "scipy")
	rt := newRuntime(t, py)
	rt.mu.Lock()
	dir, err := rt.extractLocked()
	rt.mu.Unlock()
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
	py := testPython(t, "sklearn", "joblib")
	dir := sklearnModel(t, py, sklearnInference+`
import os
def predict_fn(data, model):
    if len(data) == 3:
        os._exit(7)
    return model.predict(data)
`)
	rt := ownRuntime(t, py)
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
	py := testPython(t, "sklearn", "joblib")
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

// BenchmarkColdStart measures a scikit-learn worker's cold start through
// the runtime — Start to the first /ping 200, model loaded — with the fork
// server already up, against the baseline of starting Python and
// importing scikit-learn (`python3 -c "import sklearn.ensemble, joblib"`)
// in the same run.
func BenchmarkColdStart(b *testing.B) {
	py := testPython(b, "sklearn", "joblib")
	dir := sklearnModel(b, py, sklearnInference)
	rt := ownRuntime(b, py)
	start(b, rt, SKLearn, dir, "SAGEMAKER_PROGRAM=inference.py") // the fork server is up
	var starts []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		p, err := rt.Start(ctx, runtime.Spec{Framework: SKLearn, ModelDir: dir, Dir: b.TempDir(), Env: []string{"SAGEMAKER_PROGRAM=inference.py"}})
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
	var base []time.Duration
	for range 5 {
		t0 := time.Now()
		if out, err := exec.Command(py, "-c", "import sklearn.ensemble, joblib").CombinedOutput(); err != nil {
			b.Fatalf("%v %s", err, out)
		}
		base = append(base, time.Since(t0))
	}
	p50, bp50 := median(starts), median(base)
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(bp50.Microseconds())/1000, "baseline-p50-ms")
	b.ReportMetric(float64(p50)/float64(bp50), "ratio")
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

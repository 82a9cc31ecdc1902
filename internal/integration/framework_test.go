package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"
)

// frameworkPython is the Python with scikit-learn and PyTorch that
// `hearth serve --python` is given: Debian's, where python3-sklearn and
// python3-torch install (or $HEARTH_TEST_PYTHON).
func frameworkPython(t *testing.T) string {
	t.Helper()
	py := os.Getenv("HEARTH_TEST_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	// find_spec looks for the packages without importing them, which
	// takes seconds.
	probe := "import importlib.util, sys; sys.exit(any(importlib.util.find_spec(m) is None for m in ('sklearn', 'joblib', 'torch')))"
	if out, err := exec.Command(py, "-c", probe).CombinedOutput(); err != nil {
		t.Skipf("%s lacks scikit-learn or PyTorch (install python3-sklearn python3-torch python3-joblib): %v %s", py, err, out)
	}
	return py
}

// frameworkPredictions are the frameworks' own predictions for Input.
type frameworkPredictions struct {
	Input   [][]float64
	SKLearn []float64
	PyTorch [][]float64
}

// frameworkArtifacts builds, with py, in dir, the two model artifacts as
// the SageMaker Python SDK packs them: sklearn.tar.gz (model.joblib at the
// root, code/inference.py) and pytorch.tar.gz (a TorchScript model.pt),
// and returns both frameworks' own predictions.
func frameworkArtifacts(py, dir string) (want frameworkPredictions, err error) {
	cmd := exec.Command(py, "-c", `
import json, os, tarfile, joblib, numpy as np, torch
from sklearn.ensemble import RandomForestRegressor
rng = np.random.RandomState(0)
X = rng.rand(200, 4)
y = X @ np.array([1.5, -2.0, 0.5, 3.0])
m = RandomForestRegressor(n_estimators=10, random_state=0).fit(X, y)
os.makedirs("sk/code")
joblib.dump(m, "sk/model.joblib")
open("sk/code/inference.py", "w").write('''
import os, joblib

def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))

def predict_fn(data, model):
    if data.shape[-1] != 4:
        raise ValueError("expected 4 features, got %d" % data.shape[-1])
    return model.predict(data)
''')
with tarfile.open("sklearn.tar.gz", "w:gz") as tf:
    tf.add("sk/model.joblib", "model.joblib")
    tf.add("sk/code", "code")
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
torch.jit.script(net).save("model.pt")
with tarfile.open("pytorch.tar.gz", "w:gz") as tf:
    tf.add("model.pt", "model.pt")
q = np.array([[0.1, 0.2, 0.3, 0.4], [0.9, 0.8, 0.7, 0.6]], dtype=np.float32)
with torch.no_grad():
    tout = net(torch.from_numpy(q)).tolist()
json.dump({"input": q.tolist(), "sklearn": m.predict(q).tolist(), "pytorch": tout}, open("expected.json", "w"))
`)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return want, fmt.Errorf("build artifacts: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err == nil {
		err = json.Unmarshal(b, &want)
	}
	return want, err
}

func near(a, b []float64) bool {
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

// TestFrameworkModels deploys an SKLearnModel-style artifact and a
// TorchScript PyTorch model by their SageMaker image URIs on serverless
// endpoints, provisioned and on-demand, and checks the predictions against
// the frameworks' own.
func TestFrameworkModels(t *testing.T) {
	t.Parallel()
	py := frameworkPython(t)
	dir := t.TempDir()
	type built struct {
		want frameworkPredictions
		err  error
	}
	artifacts := make(chan built, 1)
	go func() {
		want, err := frameworkArtifacts(py, dir)
		artifacts <- built{want, err}
	}()
	s := startServer(t, "--python", py)
	sm, rt := s.sagemaker(), s.runtime()
	ctx := context.Background()
	b := <-artifacts
	if b.err != nil {
		t.Fatal(b.err)
	}
	want := b.want

	models := []struct{ name, image, artifact string }{
		{"sk", "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3", "sklearn.tar.gz"},
		{"pt", "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-cpu-py310", "pytorch.tar.gz"},
	}
	// Both at once: CreateModel checks each framework's import.
	var wg sync.WaitGroup
	errs := make([]error, len(models))
	for i, m := range models {
		env := map[string]string{"SAGEMAKER_REGION": "us-east-1", "SAGEMAKER_CONTAINER_LOG_LEVEL": "20"}
		if m.name == "sk" {
			env["SAGEMAKER_PROGRAM"] = "inference.py"
			env["SAGEMAKER_SUBMIT_DIRECTORY"] = "/opt/ml/model/code"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = sm.CreateModel(ctx, &sagemaker.CreateModelInput{
				ModelName: aws.String(m.name),
				PrimaryContainer: &smtypes.ContainerDefinition{
					Image: aws.String(m.image), ModelDataUrl: aws.String("file://" + filepath.Join(dir, m.artifact)), Environment: env,
				},
				ExecutionRoleArn: aws.String("arn:aws:iam::000000000000:role/SageMakerRole"),
			})
		}()
	}
	wg.Wait()
	for i, m := range models {
		if errs[i] != nil {
			t.Fatalf("CreateModel %s: %v", m.name, errs[i])
		}
		createConfig(t, sm, m.name+"-provisioned", serverless(m.name, 2048, 5, 1))
		createConfig(t, sm, m.name+"-ondemand", serverless(m.name, 2048, 5, 0))
		createEndpoint(t, sm, m.name+"-provisioned", m.name+"-provisioned")
		createEndpoint(t, sm, m.name+"-ondemand", m.name+"-ondemand")
	}
	body, _ := json.Marshal(want.Input)
	for _, ep := range []string{"sk-provisioned", "sk-ondemand", "pt-provisioned", "pt-ondemand"} {
		waitStatus(t, sm, ep, "InService")
		out, err := rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{
			EndpointName: aws.String(ep), ContentType: aws.String("application/json"), Accept: aws.String("application/json"), Body: body,
		})
		if err != nil {
			t.Fatalf("%s: %v\n%s", ep, err, s.logs)
		}
		if strings.HasPrefix(ep, "sk") {
			var got []float64
			if json.Unmarshal(out.Body, &got) != nil || !near(got, want.SKLearn) {
				t.Errorf("%s: %s, want scikit-learn's %v", ep, out.Body, want.SKLearn)
			}
		} else {
			var got [][]float64
			if json.Unmarshal(out.Body, &got) != nil || len(got) != 2 || !near(got[0], want.PyTorch[0]) || !near(got[1], want.PyTorch[1]) {
				t.Errorf("%s: %s, want PyTorch's %v", ep, out.Body, want.PyTorch)
			}
		}
		if aws.ToString(out.ContentType) != "application/json" {
			t.Errorf("%s: content type %q", ep, aws.ToString(out.ContentType))
		}
	}
	// An error in the inference script: a ModelError carrying the
	// container's 500 and the script's message.
	_, err := rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{
		EndpointName: aws.String("sk-provisioned"), ContentType: aws.String("text/csv"), Body: []byte("1,2\n3,4\n"),
	})
	var me *rttypes.ModelError
	if !errors.As(err, &me) || aws.ToInt32(me.OriginalStatusCode) != 500 || !strings.Contains(aws.ToString(me.OriginalMessage), "expected 4 features, got 2") {
		t.Fatalf("user error: %v, want a ModelError with the container's 500", err)
	}
}

// TestFrameworkMissing: CreateModel refuses a framework image when the
// server's Python cannot import the framework, naming module and package.
func TestFrameworkMissing(t *testing.T) {
	t.Parallel()
	py := frameworkPython(t)
	bare := filepath.Join(t.TempDir(), "python-without-packages")
	if err := os.WriteFile(bare, []byte("#!/bin/sh\nexec "+py+" -S \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--python", bare)
	_, err := s.sagemaker().CreateModel(context.Background(), &sagemaker.CreateModelInput{
		ModelName:        aws.String("sk"),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String("sagemaker-scikit-learn:1.2-1"), ModelDataUrl: aws.String("s3://bucket/model.tar.gz")},
	})
	ae := wantAPIError(t, err, "ValidationException", "")
	if msg := ae.ErrorMessage(); !strings.Contains(msg, "numpy") || !strings.Contains(msg, "python3-numpy") || !strings.Contains(msg, "--python") {
		t.Errorf("message %q does not name the module, the package and --python", msg)
	}
	if _, err := s.sagemaker().DescribeModel(context.Background(), &sagemaker.DescribeModelInput{ModelName: aws.String("sk")}); err == nil {
		t.Errorf("the refused model was stored")
	}
}

package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "server")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "data")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		image string
		kind  Kind
		err   string
	}{
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", XGBoost, ""},
		{"246618743249.dkr.ecr.us-west-2.amazonaws.com/xgboost:latest", XGBoost, ""},
		{"sagemaker-xgboost", XGBoost, ""},
		{"123.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost@sha256:" + strings.Repeat("a", 64), XGBoost, ""},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3", SKLearn, ""},
		{"sagemaker-scikit-learn", SKLearn, ""},
		{"763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.1.0-cpu-py310", PyTorch, ""},
		{"pytorch-inference@sha256:" + strings.Repeat("b", 64), PyTorch, ""},
		{"763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-cpu-py310", Container, ""},
		{"sagemaker-scikit-learn-extension:2.0", Container, ""},
		{exe, Executable, ""},
		{"file://" + exe, Executable, ""},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model:1", Container, ""},
		{"sagemaker-xgboost-extra:1", Container, ""},
		{"localhost:5000/team/model@sha256:" + strings.Repeat("b", 64), Container, ""},
		{"Upper/Case:1", 0, "neither a container image reference"},
		{"my model:1", 0, "neither a container image reference"},
		{plain, 0, "not an executable"},
		{filepath.Join(dir, "missing"), 0, "not found"},
		{"file://remote-host/x", 0, "not a valid file:// URL"},
	} {
		ref, err := Resolve(tc.image)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: err %v, want one containing %q", tc.image, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.image, err)
		case tc.err == "" && ref.Kind != tc.kind:
			t.Errorf("%s: kind %v, want %v", tc.image, ref.Kind, tc.kind)
		case tc.kind == Container && ref.Image != tc.image:
			t.Errorf("%s: Image %q, want the reference as given", tc.image, ref.Image)
		}
	}
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"sagemaker-xgboost:1.7-1", "/bin/sh", "file:///bin/sh", "a/b/xgboost", "file://%zz", "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model:1", "localhost:5000/a/b@sha256:" + strings.Repeat("0", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := Resolve(s)
		if err == nil && ref.Kind == Executable && !filepath.IsAbs(ref.Path) {
			t.Fatalf("%q resolved to a relative executable %q", s, ref.Path)
		}
		if err == nil && ref.Kind == Container && (ref.Image != s || strings.ContainsAny(s, " \t\n")) {
			t.Fatalf("%q resolved to container image %q", s, ref.Image)
		}
	})
}

package control

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hearth/internal/awserr"
	"hearth/internal/store"
)

func newStoredService(t *testing.T, opts Options) *Service {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opts.Region, opts.AccountID = "us-east-1", "000000000000"
	return New(st, nil, opts)
}

func writeExec(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestLocalPathsUnderAllowLocal(t *testing.T) {
	root := t.TempDir()
	allowed := filepath.Join(root, "models")
	outside := filepath.Join(root, "elsewhere")
	writeExec(t, filepath.Join(allowed, "server"))
	writeExec(t, filepath.Join(outside, "server"))
	if err := os.WriteFile(filepath.Join(allowed, "model.bin"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A link inside the allowed directory to a program outside it.
	if err := os.Symlink(filepath.Join(outside, "server"), filepath.Join(allowed, "link")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		opts        Options
		image, data string
		wantErr     string // "" accepted; else substring of the ValidationException
	}{
		{name: "dev mode, any absolute path", opts: Options{}, image: filepath.Join(outside, "server"), data: "/etc/hostname"},
		{name: "credentials, no --allow-local", opts: Options{RestrictLocal: true}, image: filepath.Join(allowed, "server"), wantErr: "--allow-local DIR"},
		{name: "credentials, image under --allow-local", opts: Options{RestrictLocal: true, AllowLocal: []string{allowed}},
			image: filepath.Join(allowed, "server"), data: "file://" + filepath.Join(allowed, "model.bin")},
		{name: "credentials, /bin/bash", opts: Options{RestrictLocal: true, AllowLocal: []string{allowed}}, image: "/bin/bash", wantErr: "--allow-local"},
		{name: "credentials, the image's file:// URL outside", opts: Options{RestrictLocal: true, AllowLocal: []string{allowed}},
			image: "file://" + filepath.Join(outside, "server"), wantErr: "Image"},
		{name: "credentials, a link out of the allowed directory", opts: Options{RestrictLocal: true, AllowLocal: []string{allowed}},
			image: filepath.Join(allowed, "link"), wantErr: "--allow-local"},
		{name: "credentials, dot-dot out of the allowed directory", opts: Options{RestrictLocal: true, AllowLocal: []string{allowed}},
			image: filepath.Join(allowed, "..", "elsewhere", "server"), wantErr: "--allow-local"},
		{name: "credentials, /etc/shadow as ModelDataUrl", opts: Options{RestrictLocal: true, AllowLocal: []string{allowed}},
			image: "sagemaker-xgboost:1.7-1", data: "/etc/shadow", wantErr: "ModelDataUrl"},
		{name: "credentials, file:///etc/shadow", opts: Options{RestrictLocal: true, AllowLocal: []string{allowed}},
			image: "sagemaker-xgboost:1.7-1", data: "file:///etc/shadow", wantErr: "--allow-local"},
		{name: "credentials, built-in image and s3 artifact need no --allow-local", opts: Options{RestrictLocal: true},
			image: "sagemaker-xgboost:1.7-1", data: "s3://bucket/model.tar.gz"},
		{name: "dev mode with --allow-local restricts too", opts: Options{AllowLocal: []string{allowed}},
			image: filepath.Join(outside, "server"), wantErr: "--allow-local"},
		{name: "a sibling sharing the prefix is outside", opts: Options{AllowLocal: []string{allowed}},
			image: "sagemaker-xgboost:1.7-1", data: allowed + "-not/model.bin", wantErr: "--allow-local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStoredService(t, tt.opts)
			c := &ContainerDefinition{Image: &tt.image}
			if tt.data != "" {
				c.ModelDataUrl = &tt.data
			}
			name := "m"
			_, err := s.CreateModel(context.Background(), &CreateModelInput{ModelName: &name, PrimaryContainer: c})
			checkValidation(t, err, tt.wantErr)
			if tt.wantErr != "" {
				// Nothing was stored.
				if _, err := s.DescribeModel(context.Background(), &NameInput{ModelName: &name}); err == nil {
					t.Error("the refused model was stored")
				}
			}
		})
	}
}

func TestModelEnvironmentRefusesLoaderAndHearthVariables(t *testing.T) {
	s := newStoredService(t, Options{})
	img := "sagemaker-xgboost:1.7-1"
	for _, tt := range []struct {
		env     map[string]string
		wantErr string
	}{
		{env: map[string]string{"SAGEMAKER_PROGRAM": "inference.py", "OMP_NUM_THREADS": "2"}},
		{env: map[string]string{"BASH_ENV": "/tmp/x"}, wantErr: `Environment may not set "BASH_ENV"`},
		{env: map[string]string{"LD_PRELOAD": "/tmp/x.so", "HEARTH_DATA_DIR": "/"}, wantErr: `"HEARTH_DATA_DIR", "LD_PRELOAD"`},
		{env: map[string]string{"LD_LIBRARY_PATH": "/tmp"}, wantErr: "LD_LIBRARY_PATH"},
		{env: map[string]string{"PYTHONSTARTUP": "/tmp/x.py"}, wantErr: "PYTHONSTARTUP"},
		{env: map[string]string{"ENV": "/tmp/x"}, wantErr: `"ENV"`},
		{env: map[string]string{"PATH": "/tmp"}, wantErr: `"PATH"`},
	} {
		name := "m"
		_, err := s.CreateModel(context.Background(), &CreateModelInput{ModelName: &name,
			PrimaryContainer: &ContainerDefinition{Image: &img, Environment: tt.env}})
		checkValidation(t, err, tt.wantErr)
		if err == nil {
			if _, err := s.DeleteModel(context.Background(), &NameInput{ModelName: &name}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func checkValidation(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("CreateModel: %v", err)
		}
		return
	}
	var e *awserr.Error
	if !errors.As(err, &e) || e.Code != "ValidationException" || !strings.Contains(e.Message, want) {
		t.Fatalf("CreateModel: %v, want a ValidationException containing %q", err, want)
	}
}

// TestStoredModelIsJudgedAgainAtDeployment: a model stored by a server
// without restrictions cannot be deployed once the server restricts local
// paths, and nothing is stored for the refused endpoint.
func TestStoredModelIsJudgedAgainAtDeployment(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	open := New(st, nil, Options{Region: "us-east-1", AccountID: "000000000000"})
	name, img := "old", "/bin/sh"
	if _, err := open.CreateModel(ctx, &CreateModelInput{ModelName: &name, PrimaryContainer: &ContainerDefinition{Image: &img}}); err != nil {
		t.Fatal(err)
	}
	variant, mem, conc := "AllTraffic", int32(1024), int32(1)
	if _, err := open.CreateEndpointConfig(ctx, &CreateEndpointConfigInput{EndpointConfigName: &name,
		ProductionVariants: []ProductionVariant{{VariantName: &variant, ModelName: &name,
			ServerlessConfig: &ServerlessConfig{MemorySizeInMB: &mem, MaxConcurrency: &conc}}}}); err != nil {
		t.Fatal(err)
	}
	restricted := New(st, nil, Options{Region: "us-east-1", AccountID: "000000000000", RestrictLocal: true})
	_, err = restricted.CreateEndpoint(ctx, &CreateEndpointInput{EndpointName: &name, EndpointConfigName: &name})
	checkValidation(t, err, "--allow-local")
	if _, err := restricted.DescribeEndpoint(ctx, &NameInput{EndpointName: &name}); err == nil {
		t.Error("the refused endpoint was stored")
	}
}

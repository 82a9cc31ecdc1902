package docker_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"hearth/internal/runtime/docker"
	"hearth/internal/runtime/docker/dockertest"
)

// TestPull pulls the test image from a real registry on loopback.
func TestPull(t *testing.T) {
	cli := dockertest.Engine(t)
	reg := dockertest.Registry(t)
	ref := reg + "/hearth-test/pulled:1"
	dockertest.WorkerImage(t, cli, ref)
	dockertest.Push(t, cli, ref)
	dockertest.RemoveImage(t, cli, ref)
	t.Cleanup(func() { dockertest.RemoveImage(t, cli, ref) })
	ctx := context.Background()

	never := newRuntime(t, docker.Options{Pull: docker.PullNever})
	err := never.CheckImage(ctx, ref)
	if !errors.Is(err, docker.ErrImageMissing) || !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), "--pull missing") {
		t.Errorf("CheckImage under --pull never = %v; want it to name the image and --pull missing", err)
	}
	s := spec(t, "ep-v-1")
	s.Image = ref
	if _, err := never.Start(ctx, s); err == nil || !strings.Contains(err.Error(), ref) {
		t.Errorf("Start under --pull never = %v; want an error naming %s", err, ref)
	}

	missing := newRuntime(t, docker.Options{Pull: docker.PullMissing})
	if err := missing.CheckImage(ctx, ref); err != nil {
		t.Errorf("CheckImage under --pull missing = %v; the image can be pulled", err)
	}
	p, err := missing.Start(ctx, s)
	if err != nil {
		t.Fatalf("Start under --pull missing: %v", err)
	}
	defer stop(t, p)
	waitReady(t, p)
	if got := invoke(t, p, "hi"); !strings.Contains(got, "weights-v1") {
		t.Errorf("pulled image's worker answered %s", got)
	}

	// An image the registry lacks: the error names it.
	absent := reg + "/hearth-test/absent:1"
	s.Image = absent
	if _, err := missing.Start(ctx, s); err == nil || !strings.Contains(err.Error(), "pull image "+absent) {
		t.Errorf("Start of an image no registry has = %v; want a pull error naming it", err)
	}
}

func TestECRRegistry(t *testing.T) {
	for host, region := range map[string]string{
		"123456789012.dkr.ecr.us-east-1.amazonaws.com":          "us-east-1",
		"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com": "us-gov-west-1",
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn":      "cn-north-1",
		"docker.io":                            "",
		"1234.dkr.ecr.us-east-1.amazonaws.com": "",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example": "",
	} {
		_, got, ok := docker.ECRRegistry(host)
		if ok != (region != "") || got != region {
			t.Errorf("ECRRegistry(%q) = %q, %v; want %q", host, got, ok, region)
		}
	}
}

func TestDecodeECRToken(t *testing.T) {
	user, pass, err := docker.DecodeECRToken("QVdTOnNlY3JldDpwYXJ0") // AWS:secret:part
	if err != nil || user != "AWS" || pass != "secret:part" {
		t.Errorf("= %q, %q, %v", user, pass, err)
	}
	for _, bad := range []string{"not base64!", "bm9jb2xvbg=="} { // "nocolon"
		if _, _, err := docker.DecodeECRToken(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func FuzzDecodeECRToken(f *testing.F) {
	for _, s := range []string{"QVdTOnNlY3JldA==", "", "Og==", "bm9jb2xvbg=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		user, _, err := docker.DecodeECRToken(s)
		if err == nil && user == "" {
			t.Fatalf("%q decoded to an empty user", s)
		}
	})
}

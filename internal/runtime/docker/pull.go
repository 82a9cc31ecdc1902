package docker

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/jsonmessage"

	"hearth/internal/runtime"
)

// ErrImageMissing is returned for an image the engine lacks and may not
// pull.
var ErrImageMissing = errors.New("image not in the Docker engine")

// pulls de-duplicates concurrent pulls of one image.
type pulls struct {
	mu       sync.Mutex
	inflight map[string]*pullCall
}

type pullCall struct {
	done chan struct{}
	err  error
}

// CheckImage says whether a model naming ref can be created: the image is
// in the engine, or may be pulled when an endpoint uses it.
func (r *Runtime) CheckImage(ctx context.Context, ref string) error {
	present, err := r.hasImage(ctx, ref)
	if err != nil || present || r.opts.Pull == PullMissing {
		return err
	}
	return r.missing(ref)
}

func (r *Runtime) missing(ref string) error {
	return fmt.Errorf("%w: image %s is not in the Docker engine at %s; pull it there first (docker pull, or docker tag a local image with this name), or start Hearth with --pull missing", ErrImageMissing, ref, r.Host())
}

func (r *Runtime) hasImage(ctx context.Context, ref string) (bool, error) {
	_, err := r.cli.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case errdefs.IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("docker engine at %s: inspect image %s: %w", r.Host(), ref, err)
}

// Prewarm gets ready to start spec's image: under --pull missing it pulls
// the image if the engine lacks it, so that the first worker does not wait
// for it (or, if a pull is already under way, waits for that one).
func (r *Runtime) Prewarm(spec runtime.Spec) {
	if spec.Image == "" || r.opts.Pull != PullMissing {
		return
	}
	go func() {
		if err := r.ensureImage(r.ctx, spec.Image); err != nil {
			r.log.Warn("image pull failed", "image", spec.Image, "err", err)
		}
	}()
}

// ensureImage makes sure the engine has ref, pulling it when allowed.
func (r *Runtime) ensureImage(ctx context.Context, ref string) error {
	present, err := r.hasImage(ctx, ref)
	if err != nil || present {
		return err
	}
	if r.opts.Pull != PullMissing {
		return r.missing(ref)
	}
	r.pulls.mu.Lock()
	if r.pulls.inflight == nil {
		r.pulls.inflight = map[string]*pullCall{}
	}
	c := r.pulls.inflight[ref]
	if c == nil {
		c = &pullCall{done: make(chan struct{})}
		r.pulls.inflight[ref] = c
		go func() {
			c.err = r.pull(r.ctx, ref)
			r.pulls.mu.Lock()
			delete(r.pulls.inflight, ref)
			r.pulls.mu.Unlock()
			close(c.done)
		}()
	}
	r.pulls.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return fmt.Errorf("pull image %s: %w", ref, ctx.Err())
	}
}

// pull pulls ref into the engine: with ECR credentials for an ECR
// registry, else with none (the engine's own registry configuration
// applies: mirrors, insecure registries, its own credentials).
func (r *Runtime) pull(ctx context.Context, ref string) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return fmt.Errorf("pull image %s: %w", ref, err)
	}
	var opts image.PullOptions
	if host, region, ok := ECRRegistry(reference.Domain(named)); ok {
		user, pass, err := ecrLogin(ctx, region)
		if err != nil {
			return fmt.Errorf("pull image %s: ECR credentials: %w", ref, err)
		}
		opts.RegistryAuth, err = registry.EncodeAuthConfig(registry.AuthConfig{Username: user, Password: pass, ServerAddress: host})
		if err != nil {
			return fmt.Errorf("pull image %s: %w", ref, err)
		}
	}
	r.log.Info("pulling image", "image", ref)
	rc, err := r.cli.ImagePull(ctx, reference.TagNameOnly(named).String(), opts)
	if err != nil {
		return fmt.Errorf("pull image %s: %w", ref, err)
	}
	defer rc.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil); err != nil {
		return fmt.Errorf("pull image %s: %w", ref, err)
	}
	// The engine stores the image under its normalised name; make sure
	// the name the model gave resolves.
	if present, err := r.hasImage(ctx, ref); err != nil || !present {
		return fmt.Errorf("pull image %s: the engine does not show it after pulling (%v)", ref, err)
	}
	r.log.Info("pulled image", "image", ref)
	return nil
}

// ecrRE matches an ECR registry host: <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn].
var ecrRE = regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// ECRRegistry reports whether host is an Amazon ECR registry, and its
// region.
func ECRRegistry(host string) (string, string, bool) {
	m := ecrRE.FindStringSubmatch(host)
	if m == nil {
		return "", "", false
	}
	return host, m[2], true
}

// ecrLogin gets registry credentials from ECR's GetAuthorizationToken,
// with the AWS credential chain (environment, shared files, SSO, IMDS).
func ecrLogin(ctx context.Context, region string) (user, pass string, err error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return "", "", err
	}
	out, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return "", "", err
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return "", "", errors.New("GetAuthorizationToken returned no token")
	}
	return decodeECRToken(*out.AuthorizationData[0].AuthorizationToken)
}

// decodeECRToken splits an ECR authorization token, base64("AWS:<password>").
func decodeECRToken(tok string) (user, pass string, err error) {
	b, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		return "", "", fmt.Errorf("ECR authorization token: %w", err)
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok || user == "" {
		return "", "", errors.New("ECR authorization token is not user:password")
	}
	return user, pass, nil
}

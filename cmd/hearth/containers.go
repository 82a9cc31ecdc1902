package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"hearth/internal/runtime/docker"
)

// newContainerRuntime connects to the Docker Engine for models whose Image
// is a container image, and removes the containers a previous run of this
// server (same data directory) left behind. With no engine it returns nil:
// the server then runs only built-in runtimes and local executables —
// unless --docker-host named an engine, which must then answer.
func newContainerRuntime(ctx context.Context, cfg serveConfig, dataDir string, logger *slog.Logger) (*docker.Runtime, error) {
	pull, err := docker.ParsePullPolicy(cfg.pull)
	if err != nil {
		return nil, usageError{fmt.Errorf("--pull: %w", err)}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rt, err := docker.New(cctx, docker.Options{
		Host:           cfg.dockerHost,
		Pull:           pull,
		Scope:          dataDir,
		Standby:        true,
		StandbyIdle:    cfg.keepWarm + 15*time.Minute,
		StartupTimeout: cfg.startupTimeout,
		Logger:         logger,
	})
	if err != nil {
		if cfg.dockerHost != "" {
			return nil, fmt.Errorf("--docker-host: %w", err)
		}
		logger.Info("no container runtime: models must use a built-in image or a local executable", "err", err)
		return nil, nil
	}
	n, err := rt.Sweep(cctx)
	if err != nil {
		rt.Close()
		return nil, fmt.Errorf("remove the previous run's containers: %w", err)
	}
	if n > 0 {
		logger.Info("removed containers left by a previous run", "count", n)
	}
	logger.Info("container runtime ready", "docker_host", rt.Host(), "pull", pull)
	return rt, nil
}

// imageExists is CreateModel's check of a container image.
func imageExists(rt *docker.Runtime) func(context.Context, string) error {
	if rt == nil {
		return func(context.Context, string) error {
			return errors.New("this server has no container runtime (no Docker Engine answered at start-up); start one, or give --docker-host, and restart Hearth")
		}
	}
	return rt.CheckImage
}

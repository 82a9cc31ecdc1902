package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"hearth/internal/runtime/process"
)

// workerCommand runs a built-in model server. Started as a standby
// process, it first waits for its hand-off (environment and working
// directory) and then runs as if started with them.
func workerCommand(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{fmt.Errorf("worker: name a runtime (xgboost)")}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if args[0] == "guard" {
		// Started by `hearth serve`: kills the server's workers when the
		// server exits, however it exits.
		return process.RunGuard(os.Stdin)
	}
	if args[0] != "xgboost" {
		return usageError{fmt.Errorf("worker: unknown runtime %q", args[0])}
	}
	h, err := process.ReadHandoff(getenv)
	if err != nil {
		return err
	}
	if h != nil {
		env := make(map[string]string, len(h.Env))
		for _, kv := range h.Env {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
		getenv = func(k string) string { return env[k] }
		if h.Dir != "" {
			if err := os.Chdir(h.Dir); err != nil {
				return fmt.Errorf("worker: %w", err)
			}
		}
	}
	return runXGBoostWorker(ctx, getenv, logger)
}

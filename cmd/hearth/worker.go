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

const workerUsage = `Usage: hearth worker xgboost|guard

Model servers and helpers that hearth serve starts itself; you do not run
them by hand.

  hearth worker xgboost   the built-in XGBoost model server: serves the model
                          in $SM_MODEL_DIR on $SAGEMAKER_BIND_TO_PORT as the
                          SageMaker XGBoost container does (GET /ping,
                          POST /invocations)
  hearth worker guard     kills the server's workers when the server exits,
                          however it exits; reads process groups on stdin
`

// workerCommand runs a built-in model server or the worker guard. Started
// as a standby process, a model server first waits for its hand-off
// (environment and working directory) and then runs as if started with
// them.
func workerCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, workerUsage)
		return usageError{fmt.Errorf("worker: name one: xgboost or guard")}
	}
	if helpAsked(args) {
		fmt.Fprint(stdout, workerUsage)
		return nil
	}
	switch args[0] {
	case "guard":
		return process.RunGuard(os.Stdin)
	case "xgboost":
	default:
		return usageError{fmt.Errorf("worker: unknown runtime %q (xgboost or guard)", args[0])}
	}
	// `serve` is the container contract's argument; nothing else is taken.
	if rest := args[1:]; len(rest) > 1 || (len(rest) == 1 && rest[0] != "serve") {
		return usageError{fmt.Errorf("worker xgboost: unexpected arguments %q", rest)}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
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

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

// workerCommand runs a built-in model server.
func workerCommand(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{fmt.Errorf("worker: name a runtime (xgboost)")}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	switch args[0] {
	case "xgboost":
		return runXGBoostWorker(ctx, getenv, logger)
	}
	return usageError{fmt.Errorf("worker: unknown runtime %q", args[0])}
}

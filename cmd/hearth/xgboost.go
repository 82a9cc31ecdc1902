package main

import (
	"context"
	"errors"
	"log/slog"
)

func runXGBoostWorker(ctx context.Context, getenv func(string) string, logger *slog.Logger) error {
	return errors.New("the built-in XGBoost runtime is not part of this build")
}

package main

import (
	"context"
	"log/slog"

	"hearth/internal/xgboost/xgbserve"
)

// runXGBoostWorker serves the model in $SM_MODEL_DIR on
// $SAGEMAKER_BIND_TO_PORT as the SageMaker XGBoost container does.
func runXGBoostWorker(ctx context.Context, getenv func(string) string, logger *slog.Logger) error {
	return xgbserve.Main(ctx, getenv, logger)
}

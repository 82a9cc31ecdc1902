// Package xgboost loads XGBoost models and scores rows with them in pure Go,
// giving the numbers XGBoost 1.7's own predictor gives.
//
// A model is loaded from the bytes a training run left behind, whatever their
// format: the legacy binary format that SageMaker XGBoost 1.0–1.7 containers
// write as xgboost-model, JSON, UBJSON (Universal Binary JSON), the in-memory
// snapshot format XGBoost uses when a Booster is pickled, and Python pickles of
// a Booster (or of a scikit-learn style wrapper holding one). Pickles are read
// as data: the opcode stream is decoded without calling anything, and the raw
// model bytes the Booster state carries are taken from it.
//
//	m, err := xgboost.LoadDir("/opt/ml/model")
//	if err != nil { ... }
//	preds, err := m.Predict(rows, nrow, false) // rows: nrow×ncol, row-major, NaN = missing
//
// Supported boosters are gbtree, dart (every tree weighted by its weight_drop,
// as XGBoost's predict does) and gblinear. Every objective XGBoost 1.7 ships is
// recognised, with its base_score link and output transform; categorical
// splits (JSON and UBJSON models) follow XGBoost 1.7: a category in the node's
// set goes right, any other category, negative or not, goes left, and a missing
// value follows the node's default direction.
//
// Exactness: split conditions, leaf values and feature values are float32,
// a feature goes left when value < split_condition, and tree outputs are
// accumulated in float32 in tree order onto the base margin before the
// objective's transform is applied, which is how XGBoost's CPU predictor does
// it. A loaded Model is immutable and safe for concurrent use.
package xgboost

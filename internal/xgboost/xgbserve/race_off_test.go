//go:build !race

package xgbserve

const raceEnabled = false

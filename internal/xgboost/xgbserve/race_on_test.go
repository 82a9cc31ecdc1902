//go:build race

package xgbserve

// raceEnabled reports a -race build, in which sync.Pool drops items on purpose.
const raceEnabled = true

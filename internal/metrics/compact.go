package metrics

import "time"

// levelMeta describes one stored resolution for compaction planning.
type levelMeta struct {
	Resolution time.Duration
	Retention  time.Duration
	// Oldest is the start of the oldest stored period; zero when the level
	// holds no data.
	Oldest time.Time
	// RolledUpTo: every period before it has been aggregated into the next
	// coarser level (periods recorded later are added to both). Zero when
	// nothing has been rolled up yet.
	RolledUpTo time.Time
}

type stepKind int

const (
	// stepRollup aggregates Level's periods in [From, To) into Level+1 and
	// moves Level's watermark to To.
	stepRollup stepKind = iota + 1
	// stepDelete expires Level's periods starting before Before.
	stepDelete
)

type compactionStep struct {
	Kind     stepKind
	Level    int
	From, To time.Time
	Before   time.Time
}

// planCompaction decides, from the state of each level (finest first) and
// the current time, which data to roll up into the next level and which to
// expire. Only whole coarse periods that have ended are rolled up, and data
// is expired only once it is past its retention and already rolled up (the
// coarsest level simply expires).
func planCompaction(metas []levelMeta, now time.Time) []compactionStep {
	var steps []compactionStep
	oldest := make([]int64, len(metas)) // simulated as rollups add data; 0 = empty
	for i, m := range metas {
		if !m.Oldest.IsZero() {
			oldest[i] = m.Oldest.Unix()
		}
	}
	t := now.Unix()
	for i, m := range metas {
		var rolled int64
		if !m.RolledUpTo.IsZero() {
			rolled = m.RolledUpTo.Unix()
		}
		if i+1 < len(metas) {
			next := int64(metas[i+1].Resolution / time.Second)
			to := floorTo(t, next)
			from := rolled
			if from == 0 && oldest[i] != 0 {
				from = floorTo(oldest[i], next)
			}
			if from != 0 && from < to {
				steps = append(steps, compactionStep{
					Kind: stepRollup, Level: i,
					From: time.Unix(from, 0).UTC(), To: time.Unix(to, 0).UTC(),
				})
				if oldest[i] != 0 && oldest[i] < to {
					c := max(from, floorTo(oldest[i], next))
					if oldest[i+1] == 0 || c < oldest[i+1] {
						oldest[i+1] = c
					}
				}
				rolled = to
			}
		}
		res := int64(m.Resolution / time.Second)
		before := floorTo(now.Add(-m.Retention).Unix(), res)
		if i+1 < len(metas) {
			before = min(before, rolled)
		}
		if oldest[i] != 0 && oldest[i] < before {
			steps = append(steps, compactionStep{Kind: stepDelete, Level: i, Before: time.Unix(before, 0).UTC()})
		}
	}
	return steps
}

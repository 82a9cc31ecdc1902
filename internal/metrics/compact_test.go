package metrics

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPlanCompaction(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	minute := func(oldest, rolled string) levelMeta {
		m := levelMeta{Resolution: time.Minute, Retention: 15 * day}
		if oldest != "" {
			m.Oldest = at(oldest)
		}
		if rolled != "" {
			m.RolledUpTo = at(rolled)
		}
		return m
	}
	five := func(oldest, rolled string) levelMeta {
		m := minute(oldest, rolled)
		m.Resolution, m.Retention = 5*time.Minute, 63*day
		return m
	}
	hour := func(oldest string) levelMeta {
		m := minute(oldest, "")
		m.Resolution, m.Retention = time.Hour, 455*day
		return m
	}
	second := func(oldest, rolled string) levelMeta {
		m := minute(oldest, rolled)
		m.Resolution, m.Retention = time.Second, 3*time.Hour
		return m
	}
	tests := []struct {
		name  string
		metas []levelMeta
		now   string
		want  []compactionStep
	}{
		{
			name:  "an empty store needs nothing",
			metas: []levelMeta{minute("", ""), five("", ""), hour("")},
			now:   "2024-03-01T10:07:30Z",
		},
		{
			name:  "first data is rolled up from its first whole coarse period, through every level",
			metas: []levelMeta{minute("2024-03-01T08:58:00Z", ""), five("", ""), hour("")},
			now:   "2024-03-01T10:07:30Z",
			want: []compactionStep{
				{Kind: stepRollup, Level: 0, From: at("2024-03-01T08:55:00Z"), To: at("2024-03-01T10:05:00Z")},
				{Kind: stepRollup, Level: 1, From: at("2024-03-01T08:00:00Z"), To: at("2024-03-01T10:00:00Z")},
			},
		},
		{
			name:  "rollups continue from the watermark and only cover coarse periods that have ended",
			metas: []levelMeta{minute("2024-03-01T08:58:00Z", "2024-03-01T10:05:00Z"), five("2024-03-01T08:55:00Z", "2024-03-01T10:00:00Z"), hour("2024-03-01T08:00:00Z")},
			now:   "2024-03-01T10:14:59Z",
			want: []compactionStep{
				{Kind: stepRollup, Level: 0, From: at("2024-03-01T10:05:00Z"), To: at("2024-03-01T10:10:00Z")},
			},
		},
		{
			name:  "nothing to do inside the same coarse period",
			metas: []levelMeta{minute("2024-03-01T08:58:00Z", "2024-03-01T10:05:00Z"), five("2024-03-01T08:55:00Z", "2024-03-01T10:00:00Z"), hour("2024-03-01T08:00:00Z")},
			now:   "2024-03-01T10:09:59Z",
		},
		{
			name:  "data past retention is expired once rolled up",
			metas: []levelMeta{minute("2024-02-01T00:00:00Z", "2024-03-01T10:05:00Z"), five("2024-02-01T00:00:00Z", "2024-03-01T10:00:00Z"), hour("2024-02-01T00:00:00Z")},
			now:   "2024-03-01T10:07:30Z",
			want: []compactionStep{
				{Kind: stepDelete, Level: 0, Before: at("2024-02-15T10:07:00Z")},
			},
		},
		{
			name:  "data past retention but not rolled up is rolled up first, then expired",
			metas: []levelMeta{minute("2024-02-01T00:00:00Z", ""), five("", ""), hour("")},
			now:   "2024-03-01T10:07:30Z",
			want: []compactionStep{
				{Kind: stepRollup, Level: 0, From: at("2024-02-01T00:00:00Z"), To: at("2024-03-01T10:05:00Z")},
				{Kind: stepDelete, Level: 0, Before: at("2024-02-15T10:07:00Z")},
				{Kind: stepRollup, Level: 1, From: at("2024-02-01T00:00:00Z"), To: at("2024-03-01T10:00:00Z")},
			},
		},
		{
			name:  "a long gap is rolled up in one step, then expired",
			metas: []levelMeta{minute("2024-02-01T00:00:00Z", "2024-02-10T00:00:00Z"), five("2024-02-01T00:00:00Z", "2024-02-10T00:00:00Z"), hour("2024-02-01T00:00:00Z")},
			now:   "2024-03-01T10:02:00Z",
			want: []compactionStep{
				{Kind: stepRollup, Level: 0, From: at("2024-02-10T00:00:00Z"), To: at("2024-03-01T10:00:00Z")},
				{Kind: stepDelete, Level: 0, Before: at("2024-02-15T10:02:00Z")},
				{Kind: stepRollup, Level: 1, From: at("2024-02-10T00:00:00Z"), To: at("2024-03-01T10:00:00Z")},
			},
		},
		{
			name:  "the coarsest level simply expires",
			metas: []levelMeta{minute("", "2024-03-01T10:05:00Z"), five("", "2024-03-01T10:00:00Z"), hour("2022-01-01T00:00:00Z")},
			now:   "2024-03-01T10:07:30Z",
			want: []compactionStep{
				{Kind: stepDelete, Level: 2, Before: at("2022-12-02T10:00:00Z")},
			},
		},
		{
			name:  "sub-minute data lives three hours and rolls into minutes",
			metas: []levelMeta{second("2024-03-01T06:00:00Z", "2024-03-01T10:07:00Z"), minute("2024-03-01T06:00:00Z", "2024-03-01T10:05:00Z"), five("2024-03-01T06:00:00Z", "2024-03-01T10:00:00Z"), hour("2024-03-01T06:00:00Z")},
			now:   "2024-03-01T10:08:01Z",
			want: []compactionStep{
				{Kind: stepRollup, Level: 0, From: at("2024-03-01T10:07:00Z"), To: at("2024-03-01T10:08:00Z")},
				{Kind: stepDelete, Level: 0, Before: at("2024-03-01T07:08:01Z")},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planCompaction(tt.metas, at(tt.now))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("planCompaction mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

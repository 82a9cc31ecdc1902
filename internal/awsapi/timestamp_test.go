package awsapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

func TestTimestampOnEveryProtocol(t *testing.T) {
	want := time.Date(2024, 5, 20, 16, 0, 0, 123e6, time.UTC)
	for _, in := range []string{`1716220800.123`, `"1716220800.123"`, `"2024-05-20T16:00:00.123Z"`, `"2024-05-20T18:00:00.123+02:00"`} {
		var ts Timestamp
		if err := json.Unmarshal([]byte(in), &ts); err != nil || !ts.Equal(want) {
			t.Errorf("%s → %v (%v), want %v", in, ts.Time, err, want)
		}
	}
	b, _ := json.Marshal(Timestamp{Time: want})
	if string(b) != "1716220800.123" {
		t.Errorf("JSON %s", b)
	}
	if b, _ := json.Marshal(Timestamp{Time: want.Truncate(time.Second)}); string(b) != "1716220800" {
		t.Errorf("whole seconds JSON %s", b)
	}
	c, err := cbor.Marshal(Timestamp{Time: want})
	if err != nil || c[0] != 0xc1 {
		t.Fatalf("CBOR % x %v", c, err)
	}
	var back Timestamp
	if err := cbor.Unmarshal(c, &back); err != nil || !back.Equal(want) {
		t.Fatalf("CBOR round trip %v %v", back.Time, err)
	}
	for _, bad := range []string{`"yesterday"`, `1e300`, `true`, `"NaN"`} {
		var ts Timestamp
		if err := json.Unmarshal([]byte(bad), &ts); err == nil {
			t.Errorf("%s accepted as %v", bad, ts.Time)
		}
	}
}

package awsjson

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"hearth/internal/awserr"
)

func TestTimestampRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     time.Time
	}{
		{"epoch seconds", `1716220800`, time.Date(2024, 5, 20, 16, 0, 0, 0, time.UTC)},
		{"fractional seconds as AWS sends them", `1716220800.123`, time.Date(2024, 5, 20, 16, 0, 0, 123e6, time.UTC)},
		{"RFC 3339 string", `"2024-05-20T16:00:00Z"`, time.Date(2024, 5, 20, 16, 0, 0, 0, time.UTC)},
		{"numeric string", `"1716220800"`, time.Date(2024, 5, 20, 16, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ts Timestamp
			if err := json.Unmarshal([]byte(tc.in), &ts); err != nil {
				t.Fatal(err)
			}
			if !ts.Equal(tc.want) {
				t.Fatalf("got %v, want %v", ts.Time, tc.want)
			}
			b, _ := json.Marshal(ts)
			var back Timestamp
			if err := json.Unmarshal(b, &back); err != nil || back.UnixMilli() != tc.want.UnixMilli() {
				t.Fatalf("round trip %s → %v (%v)", b, back.Time, err)
			}
		})
	}
	for _, bad := range []string{`"yesterday"`, `1e300`, `NaN`, `true`} {
		var ts Timestamp
		if err := json.Unmarshal([]byte(bad), &ts); err == nil {
			t.Errorf("%s decoded as %v, want an error", bad, ts.Time)
		}
	}
}

func TestDecodeErrorsAreSerializationExceptions(t *testing.T) {
	var v struct{ Name *string }
	err := DecodeBytes([]byte(`{"Name": 5}`), &v)
	e, ok := awserr.As(err)
	if !ok || e.Code != "SerializationException" || !strings.Contains(e.Message, "Name") {
		t.Fatalf("type mismatch: %v", err)
	}
	if err := DecodeBytes([]byte(`{`), &v); err == nil {
		t.Fatal("truncated JSON decoded")
	}
	if err := DecodeBytes(nil, &v); err != nil {
		t.Fatalf("an empty body is {}: %v", err)
	}
}

func TestWriteErrorShape(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, "application/x-amz-json-1.1", awserr.Validation("bad %s", "thing"))
	if rec.Code != 400 || rec.Header().Get("X-Amzn-ErrorType") != "ValidationException" {
		t.Fatalf("status %d header %q", rec.Code, rec.Header().Get("X-Amzn-ErrorType"))
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["__type"] != "ValidationException" || body["message"] != "bad thing" {
		t.Fatalf("body %s", rec.Body)
	}
}

func FuzzDecodeTimestamp(f *testing.F) {
	for _, s := range []string{`1716220800.123`, `"2024-05-20T16:00:00Z"`, `-1`, `"x"`, `1e20`, `"7000-01-10"`, `"9999-12-31T23:59:59.999Z"`, `253402300800`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ts Timestamp
		if err := json.Unmarshal(b, &ts); err != nil {
			return
		}
		out, err := json.Marshal(ts)
		if err != nil {
			t.Fatalf("decoded %q but cannot encode: %v", b, err)
		}
		var back Timestamp
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
	})
}

package awsapi

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Timestamp is an instant on the wire of every protocol: epoch seconds in
// the JSON protocols (a number, or a numeric or ISO 8601 string on input),
// CBOR tag 1 in rpcv2Cbor, ISO 8601 in awsQuery (ParseTimestamp reads it).
type Timestamp struct{ time.Time }

// At wraps t.
func At(t time.Time) *Timestamp { return &Timestamp{t} }

// MarshalJSON writes epoch seconds, with a fraction only when needed.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(epochText(t.Time)), nil
}

func epochText(t time.Time) string {
	sec, ns := t.Unix(), t.Nanosecond()
	switch {
	case ns == 0:
		return strconv.FormatInt(sec, 10)
	case sec < 0:
		return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64)
	}
	// Exact decimal digits: 1716220800.123, not 1716220800.1230001.
	frac := strings.TrimRight(fmt.Sprintf("%09d", ns), "0")
	return strconv.FormatInt(sec, 10) + "." + frac
}

// UnmarshalJSON accepts epoch seconds (a number or a numeric string) or an
// ISO 8601 string.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		tm, err := ParseTimestamp(s)
		if err != nil {
			return err
		}
		t.Time = tm
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	tm, err := epochTime(f)
	if err != nil {
		return err
	}
	t.Time = tm
	return nil
}

// MarshalCBOR writes tag 1 around integer seconds, or float64 seconds when
// there is a fraction.
func (t Timestamp) MarshalCBOR() ([]byte, error) {
	b := []byte{0xc1} // tag 1
	if t.Nanosecond() == 0 {
		sec := t.Unix()
		if sec >= 0 {
			return appendCBORHead(b, 0, uint64(sec)), nil
		}
		return appendCBORHead(b, 1, uint64(-1-sec)), nil
	}
	b = append(b, 0xfb)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(float64(t.UnixNano())/1e9)), nil
}

func appendCBORHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

// UnmarshalCBOR accepts tag 1 (or an untagged number) holding epoch
// seconds as an integer or float, or a tag 0 / untagged RFC 3339 string.
func (t *Timestamp) UnmarshalCBOR(b []byte) error {
	var v any
	if err := cbor.Unmarshal(b, &v); err != nil {
		return err
	}
	if tag, ok := v.(cbor.Tag); ok {
		if tag.Number != 0 && tag.Number != 1 {
			return fmt.Errorf("timestamp: unexpected CBOR tag %d", tag.Number)
		}
		v = tag.Content
	}
	var f float64
	switch x := v.(type) {
	case time.Time: // the decoder's own reading of tags 0 and 1
		t.Time = x.UTC().Round(time.Microsecond) // float seconds: as epochTime rounds
		return nil
	case uint64:
		f = float64(x)
	case int64:
		f = float64(x)
	case float64:
		f = x
	case string:
		tm, err := ParseTimestamp(x)
		if err != nil {
			return err
		}
		t.Time = tm
		return nil
	default:
		return fmt.Errorf("timestamp: unexpected CBOR value %T", v)
	}
	tm, err := epochTime(f)
	if err != nil {
		return err
	}
	t.Time = tm
	return nil
}

// maxEpoch is the last second of the year 9999: timestamps run from the
// year 1 to the end of 9999 in every form, so what can be written (an ISO
// 8601 string of any four-digit year) can be read back as epoch seconds.
const maxEpoch = 253402300799

func epochTime(f float64) (time.Time, error) {
	if math.IsNaN(f) || f < -62135596800 || f >= maxEpoch+1 {
		return time.Time{}, fmt.Errorf("timestamp %v out of range", f)
	}
	// A float64 of epoch seconds carries about microsecond precision; round
	// there, so 1716220800.123 is .123 and not .122999907.
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC(), nil
}

// ParseTimestamp reads ISO 8601 (with or without zone and fraction; no
// zone means UTC) or epoch seconds.
func ParseTimestamp(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
		return epochTime(f)
	}
	return time.Time{}, fmt.Errorf("timestamp %q is not ISO 8601 or epoch seconds", s)
}

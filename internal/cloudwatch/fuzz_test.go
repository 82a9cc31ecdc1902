package cloudwatch

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"hearth/internal/metrics"
)

var operations = []string{"GetMetricStatistics", "GetMetricData", "ListMetrics", "PutMetricData"}

func newFuzzHandler(f *testing.F) http.Handler {
	path := filepath.Join(f.TempDir(), "fuzz.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	clock := &fakeClock{now: t0.Add(time.Hour)}
	store, err := metrics.Open(context.Background(), db, metrics.Options{BasePeriod: time.Second, Clock: clock})
	if err != nil {
		f.Fatal(err)
	}
	return NewHandler(store, Options{Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func checkStatus(t *testing.T, rr *httptest.ResponseRecorder) {
	switch rr.Code {
	case 200, 400, 413:
	default:
		t.Fatalf("status %d: %s", rr.Code, rr.Body.Bytes())
	}
	if rr.Header().Get("x-amzn-RequestId") == "" {
		t.Fatal("no request id")
	}
}

// FuzzDecodeQuery sends arbitrary awsQuery forms: every reply must be a
// well-formed success or CloudWatch error, never a panic or a 500.
func FuzzDecodeQuery(f *testing.F) {
	h := newFuzzHandler(f)
	for _, tc := range validationCases() {
		form := url.Values{"Action": {tc.op}, "Version": {apiVersion}}
		encodeForm(form, "", reflect.ValueOf(tc.in))
		if s := form.Encode(); len(s) < 4096 {
			f.Add(s)
		}
	}
	f.Add("Action=PutMetricData&Version=2010-08-01&Namespace=x&MetricData.member.1.MetricName=m&MetricData.member.1.Values=")
	f.Add("Action=ListMetrics&Version=2010-08-01&Dimensions.member.0.Name=x")
	f.Add("Action=PutMetricData&Version=2010-08-01&EntityMetricData.member.1.Entity.KeyAttributes.entry.1.key=a")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err == nil {
			for _, in := range []any{&getMetricStatisticsInput{}, &getMetricDataInput{}, &listMetricsInput{}, &putMetricDataInput{}} {
				if err := decodeQuery(form, in); err != nil {
					if _, ok := err.(*apiError); !ok {
						t.Fatalf("decodeQuery error %T is not an API error", err)
					}
				}
			}
		}
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, r)
		checkStatus(t, rr)
		if rr.Code != 200 {
			var e struct {
				Code string `xml:"Error>Code"`
			}
			if err := xml.Unmarshal(rr.Body.Bytes(), &e); err != nil || e.Code == "" {
				t.Fatalf("error reply %s: %v", rr.Body.Bytes(), err)
			}
		}
	})
}

// FuzzDecodeCBOR sends arbitrary rpcv2Cbor bodies to each operation.
func FuzzDecodeCBOR(f *testing.F) {
	h := newFuzzHandler(f)
	for _, tc := range validationCases() {
		b, err := cbor.Marshal(tc.in)
		if err != nil {
			f.Fatal(err)
		}
		for i, op := range operations {
			if op == tc.op && len(b) < 4096 {
				f.Add(uint8(i), b)
			}
		}
	}
	f.Add(uint8(0), []byte{0xbf, 0xff})                                                 // indefinite empty map
	f.Add(uint8(3), []byte{0xa1, 0x61, 0x41, 0xc1, 0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}) // tag 1 NaN
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		r := httptest.NewRequest("POST", cborPathMarker+operations[int(op)%len(operations)], bytes.NewReader(body))
		r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
		r.Header.Set("Content-Type", "application/cbor")
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, r)
		checkStatus(t, rr)
		if rr.Header().Get("Smithy-Protocol") != "rpc-v2-cbor" {
			t.Fatal("reply without Smithy-Protocol")
		}
		var m map[string]any
		if err := cbor.Unmarshal(rr.Body.Bytes(), &m); err != nil {
			t.Fatalf("reply is not a CBOR map: %v", err)
		}
		if rr.Code != 200 && m["__type"] == nil {
			t.Fatalf("error reply without __type: %v", m)
		}
	})
}

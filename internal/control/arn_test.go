package control

import (
	"strings"
	"testing"

	"hearth/internal/awsapi"
	"hearth/internal/store"
)

func testService() *Service {
	return New(nil, nil, Options{Region: "us-east-1", AccountID: "000000000000"})
}

func TestParseARN(t *testing.T) {
	s := testService()
	for _, tc := range []struct {
		arn  string
		kind store.Kind
		name string
		err  string
	}{
		{"arn:aws:sagemaker:us-east-1:000000000000:model/m1", store.KindModel, "m1", ""},
		{"arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/c-1", store.KindEndpointConfig, "c-1", ""},
		{"arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep", store.KindEndpoint, "ep", ""},
		{"arn:aws:sagemaker:eu-west-1:000000000000:model/m1", "", "", "region and account"},
		{"arn:aws:sagemaker:us-east-1:000000000000:training-job/x", "", "", "does not support tags"},
		{"arn:aws:sagemaker:us-east-1:000000000000:model", "", "", "Invalid resource ARN"},
	} {
		arn := tc.arn
		kind, name, err := s.parseARN(&arn)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.arn, err, tc.err)
			}
			continue
		}
		if err != nil || kind != tc.kind || name != tc.name {
			t.Errorf("%s: %q %q %v", tc.arn, kind, name, err)
		}
	}
}

func FuzzParseARN(f *testing.F) {
	f.Add("arn:aws:sagemaker:us-east-1:000000000000:model/m1")
	f.Add("arn:aws:sagemaker:us-east-1:000000000000:endpoint/")
	f.Add("")
	s := testService()
	f.Fuzz(func(t *testing.T, arn string) {
		kind, name, err := s.parseARN(&arn)
		if err == nil && (name == "" || !strings.EqualFold(s.ARN(kind, name), arn)) {
			t.Fatalf("%q parsed as %s/%s", arn, kind, name)
		}
	})
}

func FuzzDecodeToken(f *testing.F) {
	f.Add(awsapi.PageToken{Offset: 10, Hash: "h"}.Encode())
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, tok string) {
		n, err := pageStart(&tok, 100, "h")
		if err == nil && (n < 0 || n > 100) {
			t.Fatalf("%q decoded to offset %d, outside the listing of 100", tok, n)
		}
		if err == nil && tok != "" { // "" is no token: the listing's start
			// A token continues only the listing it came from.
			if _, err := pageStart(&tok, 100, "other"); err == nil {
				t.Fatalf("%q is accepted by another listing", tok)
			}
		}
	})
}

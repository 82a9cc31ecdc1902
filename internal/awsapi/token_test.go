package awsapi

import "testing"

func TestPageTokenRoundTripAndBinding(t *testing.T) {
	h := RequestHash("DescribeAlarms", []string{"a"}, nil)
	tok := PageToken{Query: 2, Offset: 50, Hash: h}.Encode()
	got, ok := DecodePageToken(tok, h)
	if !ok || got.Query != 2 || got.Offset != 50 {
		t.Fatalf("decoded %+v %v", got, ok)
	}
	if _, ok := DecodePageToken(tok, RequestHash("DescribeAlarms", []string{"b"}, nil)); ok {
		t.Fatal("a token continued a listing with other filters")
	}
	for _, bad := range []string{"", "page:2", "eyJvIjotMSwiaCI6IiJ9", "%%%"} {
		if _, ok := DecodePageToken(bad, h); ok {
			t.Fatalf("%q decoded", bad)
		}
	}
}

func FuzzDecodePageToken(f *testing.F) {
	h := RequestHash("x")
	f.Add(PageToken{Offset: 3, Hash: h}.Encode())
	f.Add("eyJvIjotMSwiaCI6IiJ9")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if tok, ok := DecodePageToken(s, h); ok && (tok.Offset < 0 || tok.Query < 0 || tok.Hash != h) {
			t.Fatalf("accepted %+v", tok)
		}
	})
}

package logs

import (
	"strings"
	"testing"
	"time"

	"hearth/internal/clock"
)

func TestParsePattern(t *testing.T) {
	msgs := []string{
		"Traceback (most recent call last):",
		"ERROR retry 1 failed",
		"ERROR gave up",
		"WARN slow request id=42",
		`say "hi"`,
	}
	for _, tc := range []struct {
		pattern string
		want    []int // indexes of msgs that match
	}{
		{"", []int{0, 1, 2, 3, 4}},
		{"   ", []int{0, 1, 2, 3, 4}},
		{`"Traceback"`, []int{0}},
		{`Traceback`, []int{0}},
		{`"most recent"`, []int{0}},
		{`ERROR`, []int{1, 2}},
		{`ERROR failed`, []int{1}},
		{`ERROR -retry`, []int{2}},
		{`-ERROR`, []int{0, 3, 4}},
		{`-"gave up"`, []int{0, 1, 3, 4}},
		{`?WARN ?Traceback`, []int{0, 3}},
		{`ERROR ?retry ?gave`, []int{1, 2}},
		{`%id=[0-9]+%`, []int{3}},
		{`%^ERROR.*up$%`, []int{2}},
		{`"say \"hi\""`, []int{4}},
		{`error`, nil},
	} {
		p, err := ParsePattern(tc.pattern)
		if err != nil {
			t.Errorf("%q: %v", tc.pattern, err)
			continue
		}
		var got []int
		for i, m := range msgs {
			if p.Match(m) {
				got = append(got, i)
			}
		}
		if !equal(got, tc.want) {
			t.Errorf("%q matched %v, want %v", tc.pattern, got, tc.want)
		}
	}
	for _, bad := range []string{`"open`, `%open`, `%(%`, `""`, `- x`, `?`, `{ $.a = 1 }`, `[ip, user]`, strings.Repeat("a", 1025)} {
		if _, err := ParsePattern(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzParsePattern: any pattern either fails to parse or matches without
// panicking, and a pattern made of one plain word matches exactly the
// messages containing it.
func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"", `"Traceback"`, `ERROR -retry`, `?a ?b`, `%x+%`, `"a\"b"`, `-`, `"`, `%`, `{`, "a\tb\nc"} {
		f.Add(s, "some message ERROR Traceback")
	}
	f.Fuzz(func(t *testing.T, pattern, msg string) {
		p, err := ParsePattern(pattern)
		if err != nil {
			return
		}
		p.Match(msg)
		w := strings.TrimSpace(pattern)
		if w != "" && !strings.ContainsAny(w, " \t\r\n\"%-?{[") {
			if p.Match(msg) != strings.Contains(msg, w) {
				t.Errorf("word %q on %q: Match %v", w, msg, p.Match(msg))
			}
		}
	})
}

// FuzzTokens: token parsing never panics and round-trips positions.
func FuzzTokens(f *testing.F) {
	for _, s := range []string{"f/" + position{1, 2}.String(), "b/" + position{0, 0}.String(), "p/x", "f/", "", "o:1", *encodeOffset(3, "h")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		if dir, p, err := parseToken(tok); err == nil {
			if again := string(dir) + "/" + p.String(); again != tok {
				t.Errorf("%q re-encodes as %q", tok, again)
			}
		}
		_, _ = parseFilterToken(tok)
		if n, err := decodeOffset(&tok, "h"); err == nil {
			// An offset token continues only the listing it came from.
			if _, err := decodeOffset(encodeOffset(n, "h"), "other"); err == nil {
				t.Errorf("%q: a token of one listing is accepted by another", tok)
			}
		}
	})
}

// FuzzDecodeChunk: decoding arbitrary bytes never panics, and encoded
// events decode to themselves.
func FuzzDecodeChunk(f *testing.F) {
	f.Add([]byte{}, "a\nbc", int64(5))
	f.Add([]byte{0x80}, "", int64(0))
	f.Add([]byte{1, 200, 1}, "x", int64(1<<40))
	f.Fuzz(func(t *testing.T, raw []byte, text string, gap int64) {
		_, _ = decodeChunk(nil, 1, 1, 0, 0, raw)
		if gap < 0 {
			gap = -gap
		}
		var evs []Event
		for i, m := range strings.Split(text, "\n") {
			evs = append(evs, Event{Time: 1000 + int64(i)*(gap%1e9), Message: m})
		}
		got, err := decodeChunk(nil, 7, 3, evs[0].Time, 99, encodeChunk(evs))
		if err != nil || len(got) != len(evs) {
			t.Fatalf("decoded %d events, err %v; want %d", len(got), err, len(evs))
		}
		for i := range evs {
			if got[i].message != evs[i].Message || got[i].pos.ts != evs[i].Time || got[i].pos.id != seqOf(7, i) {
				t.Errorf("event %d: %+v, want %+v", i, got[i], evs[i])
			}
		}
	})
}

// FuzzStreamWriter writes text cut at two arbitrary places: the events
// are the text's non-empty lines, whatever the cuts.
func FuzzStreamWriter(f *testing.F) {
	f.Add("a\nb\r\n\nc", 1, 3)
	f.Add("\n\n", 0, 1)
	f.Add("no newline", 4, 4)
	f.Fuzz(func(t *testing.T, text string, i, j int) {
		s := &Store{clock: clock.NewFake(time.Unix(0, 0)), maxQueue: 1 << 30, wake: make(chan struct{}, 1)}
		w := s.NewStreamWriter("g", "s")
		i, j = clamp(i, len(text)), clamp(j, len(text))
		if i > j {
			i, j = j, i
		}
		for _, piece := range []string{text[:i], text[i:j], text[j:]} {
			w.Write([]byte(piece))
		}
		w.Close()
		var want []string
		for _, l := range strings.Split(text, "\n") {
			if l = strings.TrimSuffix(l, "\r"); l != "" {
				want = append(want, l)
			}
		}
		var got []string
		for _, e := range s.pending {
			got = append(got, e.Message)
		}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
			t.Errorf("events %q, want %q", got, want)
		}
	})
}

func clamp(i, n int) int {
	if i < 0 {
		i = -i
	}
	if n == 0 {
		return 0
	}
	return i % (n + 1)
}

package logs

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Pattern is a parsed CloudWatch Logs filter pattern for unstructured
// events. The zero Pattern matches every message.
type Pattern struct {
	all  []term // each must match
	any  []term // at least one must match, if there are any
	none []term // none may match
}

type term struct {
	text string
	re   *regexp.Regexp
}

func (t term) match(msg string) bool {
	if t.re != nil {
		return t.re.MatchString(msg)
	}
	return strings.Contains(msg, t.text)
}

// maxPattern is CloudWatch Logs' limit on a filter pattern's length.
const maxPattern = 1024

// ParsePattern parses a filter pattern made of terms separated by spaces:
//
//	ERROR                 a word: the message contains it
//	"Traceback (most"     a quoted phrase (\" and \\ escape)
//	%time[a-z]+%          a regular expression (Go syntax)
//	-DEBUG  -"a phrase"   an exclusion: the message must not contain it
//	?ERROR ?WARN          alternatives: the message contains at least one
//
// A message matches when it contains every plain term, none of the
// excluded ones and, if there are alternatives, one of them. Matching is
// case-sensitive, as in CloudWatch Logs. JSON ({ $.x = … }) and
// space-delimited ([a, b]) patterns are refused.
func ParsePattern(s string) (Pattern, error) {
	var p Pattern
	if len(s) > maxPattern {
		return p, fmt.Errorf("the filter pattern is longer than %d characters", maxPattern)
	}
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
		return p, errors.New("JSON and space-delimited filter patterns are not supported; use terms, \"quoted phrases\", -exclusions, ?alternatives or %regular expressions%")
	}
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" {
			return p, nil
		}
		list := &p.all
		switch s[0] {
		case '-':
			list, s = &p.none, s[1:]
		case '?':
			list, s = &p.any, s[1:]
		}
		var t term
		var err error
		t, s, err = parseTerm(s)
		if err != nil {
			return Pattern{}, err
		}
		*list = append(*list, t)
	}
}

func parseTerm(s string) (term, string, error) {
	if s == "" || s[0] == ' ' || s[0] == '\t' {
		return term{}, "", errors.New("an operator (- or ?) must be followed by a term")
	}
	switch s[0] {
	case '"':
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch c := s[i]; c {
			case '\\':
				if i+1 < len(s) {
					i++
					b.WriteByte(s[i])
				}
			case '"':
				if b.Len() == 0 {
					return term{}, "", errors.New("a quoted term must not be empty")
				}
				return term{text: b.String()}, s[i+1:], nil
			default:
				b.WriteByte(c)
			}
		}
		return term{}, "", errors.New("a quoted term is missing its closing \"")
	case '%':
		end := strings.IndexByte(s[1:], '%')
		if end < 0 {
			return term{}, "", errors.New("a regular expression is missing its closing %")
		}
		expr := s[1 : 1+end]
		if expr == "" {
			return term{}, "", errors.New("a regular expression must not be empty")
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return term{}, "", fmt.Errorf("invalid regular expression %%%s%%: %w", expr, err)
		}
		return term{re: re}, s[2+end:], nil
	}
	end := strings.IndexAny(s, " \t\r\n")
	if end < 0 {
		end = len(s)
	}
	return term{text: s[:end]}, s[end:], nil
}

// Match reports whether msg satisfies the pattern.
func (p Pattern) Match(msg string) bool {
	for _, t := range p.all {
		if !t.match(msg) {
			return false
		}
	}
	for _, t := range p.none {
		if t.match(msg) {
			return false
		}
	}
	if len(p.any) == 0 {
		return true
	}
	for _, t := range p.any {
		if t.match(msg) {
			return true
		}
	}
	return false
}

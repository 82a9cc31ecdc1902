package xgboost

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON parser for XGBoost's model documents. encoding/json does not
// fit: XGBoost writes NaN and Infinity as bare tokens, and numbers must be
// parsed straight to float32 (not through float64) to get the stored values.
//
// Values decode to map[string]any, []any, string, bool, nil and jsonNumber,
// the number's text.

type jsonNumber string

// maxDepth bounds nesting in JSON and UBJSON documents; XGBoost models nest
// a handful of levels.
const maxDepth = 128

type jsonParser struct {
	s     string
	pos   int
	depth int
}

func parseJSON(data []byte) (any, error) {
	p := &jsonParser{s: string(data)}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.s) {
		return nil, p.errorf("trailing data")
	}
	return v, nil
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s: %w", p.pos, fmt.Sprintf(format, args...), ErrMalformed)
}

func (p *jsonParser) space() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value() (any, error) {
	p.space()
	if p.pos >= len(p.s) {
		return nil, p.errorf("unexpected end")
	}
	switch c := p.s[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case isNumberStart(c):
		return p.number()
	case p.literal("true"):
		return true, nil
	case p.literal("false"):
		return false, nil
	case p.literal("null"):
		return nil, nil
	}
	return nil, p.errorf("unexpected %q", p.s[p.pos])
}

func (p *jsonParser) literal(word string) bool {
	if len(p.s)-p.pos >= len(word) && p.s[p.pos:p.pos+len(word)] == word {
		p.pos += len(word)
		return true
	}
	return false
}

func (p *jsonParser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errorf("nesting deeper than %d", maxDepth)
	}
	return nil
}

func (p *jsonParser) object() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // '{'
	obj := map[string]any{}
	p.space()
	if p.pos < len(p.s) && p.s[p.pos] == '}' {
		p.pos++
		p.depth--
		return obj, nil
	}
	for {
		p.space()
		if p.pos >= len(p.s) || p.s[p.pos] != '"' {
			return nil, p.errorf("object key expected")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.pos >= len(p.s) || p.s[p.pos] != ':' {
			return nil, p.errorf("':' expected")
		}
		p.pos++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		obj[k] = v
		p.space()
		if p.pos >= len(p.s) {
			return nil, p.errorf("unexpected end in object")
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			p.depth--
			return obj, nil
		default:
			return nil, p.errorf("',' or '}' expected")
		}
	}
}

func (p *jsonParser) array() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // '['
	var arr []any
	p.space()
	if p.pos < len(p.s) && p.s[p.pos] == ']' {
		p.pos++
		p.depth--
		return []any{}, nil
	}
	if nums, done, err := p.numbers(); err != nil || done {
		return nums, err
	} else {
		// A list that is not all numbers: carry on generically.
		for _, n := range nums {
			arr = append(arr, n)
		}
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		p.space()
		if p.pos >= len(p.s) {
			return nil, p.errorf("unexpected end in array")
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			p.depth--
			return arr, nil
		default:
			return nil, p.errorf("',' or ']' expected")
		}
	}
}

// jsonNumbers is a list of numbers, decoded without boxing each one: most of
// a model is such lists.
type jsonNumbers []jsonNumber

// numbers reads the leading numbers of a list. done reports that the list
// ended after them; otherwise the parser stands at the next element.
func (p *jsonParser) numbers() (nums jsonNumbers, done bool, err error) {
	for {
		p.space()
		if p.pos >= len(p.s) || !isNumberStart(p.s[p.pos]) {
			return nums, false, nil
		}
		v, err := p.numberText()
		if err != nil {
			return nil, false, err
		}
		nums = append(nums, v)
		p.space()
		if p.pos >= len(p.s) {
			return nil, false, p.errorf("unexpected end in array")
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			p.depth--
			return nums, true, nil
		default:
			return nil, false, p.errorf("',' or ']' expected")
		}
	}
}

func isNumberStart(c byte) bool {
	return c == '-' || c == '+' || (c >= '0' && c <= '9') || c == 'N' || c == 'I'
}

func (p *jsonParser) number() (any, error) {
	t, err := p.numberText()
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (p *jsonParser) numberText() (jsonNumber, error) {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' ||
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') { // NaN, Infinity
			p.pos++
			continue
		}
		break
	}
	if p.pos == start {
		return "", p.errorf("number expected")
	}
	// Checked when used: fields prediction does not need are never parsed.
	return jsonNumber(p.s[start:p.pos]), nil
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func (p *jsonParser) str() (string, error) {
	p.pos++ // '"'
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '"' {
			s := p.s[start:p.pos]
			p.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		p.pos++
	}
	buf := []byte(p.s[start:p.pos])
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.s) {
			break
		}
		e := p.s[p.pos+1]
		p.pos += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.errorf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				if r2, ok2 := p.surrogateTail(); ok2 {
					r = utf16.DecodeRune(r, r2)
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.errorf("bad escape \\%c", e)
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.s)-p.pos < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(p.s[p.pos:p.pos+4], 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(v), true
}

func (p *jsonParser) surrogateTail() (rune, bool) {
	if len(p.s)-p.pos < 6 || p.s[p.pos] != '\\' || p.s[p.pos+1] != 'u' {
		return 0, false
	}
	save := p.pos
	p.pos += 2
	r, ok := p.hex4()
	if !ok {
		p.pos = save
		return 0, false
	}
	return r, true
}

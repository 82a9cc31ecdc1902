package xgboost

import (
	"encoding/binary"
	"fmt"
	"math"
)

// A UBJSON (Universal Binary JSON, draft 12) decoder covering what XGBoost
// writes and the rest of the format: optimised containers ('$' type, '#'
// count), every integer width, float32/float64, high-precision numbers,
// chars, no-ops. Multi-byte values are big endian.
//
// Values decode as in parseJSON, except that numbers are int64, float32 or
// float64, and strongly typed arrays decode to []float32, []float64 or
// []int64. Every count is checked against the bytes left before allocating.

type ubjParser struct {
	b     []byte
	pos   int
	depth int
}

func parseUBJSON(data []byte) (any, error) {
	p := &ubjParser{b: data}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (p *ubjParser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s: %w", p.pos, fmt.Sprintf(format, args...), ErrMalformed)
}

func (p *ubjParser) byte() (byte, error) {
	if p.pos >= len(p.b) {
		return 0, p.errorf("unexpected end")
	}
	c := p.b[p.pos]
	p.pos++
	return c, nil
}

func (p *ubjParser) take(n int) ([]byte, error) {
	if n < 0 || n > len(p.b)-p.pos {
		return nil, p.errorf("%d bytes wanted, %d left", n, len(p.b)-p.pos)
	}
	s := p.b[p.pos : p.pos+n]
	p.pos += n
	return s, nil
}

// size returns the payload size of a fixed-size type marker, or 0.
func ubjSize(t byte) int {
	switch t {
	case 'i', 'U', 'C':
		return 1
	case 'I':
		return 2
	case 'l', 'd':
		return 4
	case 'L', 'D':
		return 8
	}
	return 0
}

// integer reads an integer payload of type t.
func (p *ubjParser) integer(t byte) (int64, error) {
	n := ubjSize(t)
	if n == 0 || t == 'C' || t == 'd' || t == 'D' {
		return 0, p.errorf("integer expected, got type %q", t)
	}
	s, err := p.take(n)
	if err != nil {
		return 0, err
	}
	switch t {
	case 'i':
		return int64(int8(s[0])), nil
	case 'U':
		return int64(s[0]), nil
	case 'I':
		return int64(int16(binary.BigEndian.Uint16(s))), nil
	case 'l':
		return int64(int32(binary.BigEndian.Uint32(s))), nil
	}
	return int64(binary.BigEndian.Uint64(s)), nil
}

// length reads a count or string length: an integer with its own marker.
func (p *ubjParser) length() (int, error) {
	t, err := p.byte()
	if err != nil {
		return 0, err
	}
	n, err := p.integer(t)
	if err != nil {
		return 0, err
	}
	if n < 0 || n > int64(len(p.b)) {
		return 0, p.errorf("length %d", n)
	}
	return int(n), nil
}

func (p *ubjParser) value() (any, error) {
	for {
		t, err := p.byte()
		if err != nil {
			return nil, err
		}
		if t == 'N' { // no-op
			continue
		}
		return p.typed(t)
	}
}

func (p *ubjParser) typed(t byte) (any, error) {
	switch t {
	case 'Z':
		return nil, nil
	case 'T':
		return true, nil
	case 'F':
		return false, nil
	case 'i', 'U', 'I', 'l', 'L':
		return p.integer(t)
	case 'd':
		s, err := p.take(4)
		if err != nil {
			return nil, err
		}
		return math.Float32frombits(binary.BigEndian.Uint32(s)), nil
	case 'D':
		s, err := p.take(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(s)), nil
	case 'C':
		s, err := p.take(1)
		if err != nil {
			return nil, err
		}
		return string(s), nil
	case 'S':
		return p.str()
	case 'H': // high-precision number, as text
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return jsonNumber(s), nil
	case '[':
		return p.array()
	case '{':
		return p.object()
	}
	return nil, p.errorf("unknown type marker %q", t)
}

func (p *ubjParser) str() (string, error) {
	n, err := p.length()
	if err != nil {
		return "", err
	}
	s, err := p.take(n)
	if err != nil {
		return "", err
	}
	return string(s), nil
}

// header reads the optional '$' type and '#' count of a container. count is
// -1 when the container is terminated by a marker instead.
func (p *ubjParser) header() (elem byte, count int, err error) {
	count = -1
	if p.pos < len(p.b) && p.b[p.pos] == '$' {
		p.pos++
		if elem, err = p.byte(); err != nil {
			return 0, 0, err
		}
		if p.pos >= len(p.b) || p.b[p.pos] != '#' {
			return 0, 0, p.errorf("'$' without '#'")
		}
	}
	if p.pos < len(p.b) && p.b[p.pos] == '#' {
		p.pos++
		if count, err = p.length(); err != nil {
			return 0, 0, err
		}
		// Every element takes at least one byte unless its type carries
		// no payload; refuse counts the input cannot hold.
		per := 1
		if elem != 0 {
			per = ubjSize(elem)
			if per == 0 && elem != 'S' && elem != 'H' && elem != '[' && elem != '{' {
				return 0, 0, p.errorf("typed container of payload-less %q", elem)
			}
			per = max(per, 1)
		}
		if count > (len(p.b)-p.pos)/per {
			return 0, 0, p.errorf("count %d exceeds the input", count)
		}
	}
	return elem, count, nil
}

func (p *ubjParser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errorf("nesting deeper than %d", maxDepth)
	}
	return nil
}

func (p *ubjParser) array() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	elem, count, err := p.header()
	if err != nil {
		return nil, err
	}
	switch {
	case elem == 'd':
		s, _ := p.take(4 * count)
		v := make([]float32, count)
		for i := range v {
			v[i] = math.Float32frombits(binary.BigEndian.Uint32(s[4*i:]))
		}
		return v, nil
	case elem == 'D':
		s, _ := p.take(8 * count)
		v := make([]float64, count)
		for i := range v {
			v[i] = math.Float64frombits(binary.BigEndian.Uint64(s[8*i:]))
		}
		return v, nil
	case elem == 'i' || elem == 'U' || elem == 'I' || elem == 'l' || elem == 'L':
		v := make([]int64, count)
		for i := range v {
			if v[i], err = p.integer(elem); err != nil {
				return nil, err
			}
		}
		return v, nil
	case count >= 0:
		v := make([]any, count)
		for i := range v {
			if elem != 0 {
				v[i], err = p.typed(elem)
			} else {
				v[i], err = p.value()
			}
			if err != nil {
				return nil, err
			}
		}
		return v, nil
	}
	v := []any{}
	for {
		for p.pos < len(p.b) && p.b[p.pos] == 'N' {
			p.pos++
		}
		if p.pos < len(p.b) && p.b[p.pos] == ']' {
			p.pos++
			return v, nil
		}
		x, err := p.value()
		if err != nil {
			return nil, err
		}
		v = append(v, x)
	}
}

func (p *ubjParser) object() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	elem, count, err := p.header()
	if err != nil {
		return nil, err
	}
	obj := map[string]any{}
	entry := func() error {
		k, err := p.str()
		if err != nil {
			return err
		}
		var v any
		if elem != 0 {
			v, err = p.typed(elem)
		} else {
			v, err = p.value()
		}
		if err != nil {
			return err
		}
		obj[k] = v
		return nil
	}
	if count >= 0 {
		for range count {
			if err := entry(); err != nil {
				return nil, err
			}
		}
		return obj, nil
	}
	for {
		for p.pos < len(p.b) && p.b[p.pos] == 'N' {
			p.pos++
		}
		if p.pos < len(p.b) && p.b[p.pos] == '}' {
			p.pos++
			return obj, nil
		}
		if err := entry(); err != nil {
			return nil, err
		}
	}
}

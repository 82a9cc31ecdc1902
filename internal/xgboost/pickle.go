package xgboost

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Older SageMaker XGBoost containers saved the trained Booster with Python's
// pickle. A pickle is a program for a small stack machine that may call any
// importable function, so it is never run here: the opcode stream is decoded
// into inert values (globals are names, calls are records of what would have
// been called with what), and the raw model bytes are read out of the Booster
// state the pickle describes. The only calls given meaning are the ones that
// rebuild bytes (bytearray, _codecs.encode) and object creation records.
//
// Every length is checked against the bytes left, and the stack, memo and
// nesting are bounded by the input size, so hostile input costs at most a
// small multiple of its own size.

// ErrPickle reports a pickle from which no model bytes could be taken.
var ErrPickle = errors.New("pickled model")

type (
	pyGlobal struct{ module, name string }
	pyObject struct {
		class pyGlobal
		args  any
		state any
	}
	pyTuple []any
	pyList  struct{ items []any }
	pyDict  struct {
		keys, vals []any
	}
	pyBytes []byte
	pyMark  struct{}
	pyBig   struct{} // an integer too large for int64; its value is never needed
)

func (g pyGlobal) String() string { return g.module + "." + g.name }

// looksPickled reports a pickle of protocol 2 or later: PROTO then the version.
func looksPickled(data []byte) bool {
	return len(data) >= 2 && data[0] == 0x80 && data[1] >= 2 && data[1] <= 5
}

// maybeOldPickle reports bytes that could start a protocol 0 or 1 pickle of
// an object.
func maybeOldPickle(data []byte) bool {
	switch data[0] {
	case 'c', '(', '}', ']', ')':
		return true
	}
	return false
}

func loadPickle(data []byte) (*Model, error) {
	v, err := unpickle(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPickle, err)
	}
	raw, err := boosterBytes(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPickle, err)
	}
	m, err := loadNative(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: Booster state: %w", ErrPickle, err)
	}
	m.pickled = true
	return m, nil
}

// boosterBytes finds an xgboost Booster in the unpickled value (the value
// itself, or the _Booster of a scikit-learn style wrapper) and returns the
// model bytes its "handle" state holds.
func boosterBytes(v any) ([]byte, error) {
	b := findBooster(v, 0)
	if b == nil {
		if o, ok := v.(*pyObject); ok {
			return nil, fmt.Errorf("no xgboost Booster in the pickle (it holds a %s): %w", o.class, ErrUnsupported)
		}
		return nil, fmt.Errorf("no xgboost Booster in the pickle (it holds a %T): %w", v, ErrUnsupported)
	}
	state := dictOf(b.state)
	if state == nil {
		return nil, fmt.Errorf("Booster without state: %w", ErrUnsupported)
	}
	h, ok := state.get("handle")
	if !ok {
		return nil, fmt.Errorf("Booster state has no handle: %w", ErrUnsupported)
	}
	raw, ok := h.(pyBytes)
	if !ok || len(raw) == 0 {
		return nil, fmt.Errorf("Booster handle holds no model bytes (%T): %w", h, ErrUnsupported)
	}
	return raw, nil
}

func findBooster(v any, depth int) *pyObject {
	if depth > 8 {
		return nil
	}
	o, ok := v.(*pyObject)
	if !ok {
		return nil
	}
	if o.class.name == "Booster" && strings.HasPrefix(o.class.module, "xgboost") {
		return o
	}
	if d := dictOf(o.state); d != nil {
		for i, k := range d.keys {
			if s, ok := k.(string); ok && s == "_Booster" {
				return findBooster(d.vals[i], depth+1)
			}
		}
	}
	return nil
}

// dictOf returns the dict of an object state: the dict itself, or the first
// element of a (dict, slots) pair.
func dictOf(state any) *pyDict {
	switch s := state.(type) {
	case *pyDict:
		return s
	case pyTuple:
		if len(s) == 2 {
			d, _ := s[0].(*pyDict)
			return d
		}
	}
	return nil
}

func (d *pyDict) get(key string) (any, bool) {
	for i, k := range d.keys {
		if s, ok := k.(string); ok && s == key {
			return d.vals[i], true
		}
	}
	return nil, false
}

type unpickler struct {
	b     []byte
	pos   int
	stack []any
	marks [][]any
	memo  map[uint64]any
}

// unpickle decodes a pickle's opcode stream into inert values.
func unpickle(data []byte) (any, error) {
	u := &unpickler{b: data, memo: map[uint64]any{}}
	for {
		if u.pos >= len(u.b) {
			return nil, fmt.Errorf("no STOP opcode: %w", ErrMalformed)
		}
		op := u.b[u.pos]
		u.pos++
		done, err := u.step(op)
		if err != nil {
			return nil, fmt.Errorf("opcode %#02x at offset %d: %w", op, u.pos-1, err)
		}
		if done {
			if len(u.stack) != 1 {
				return nil, fmt.Errorf("STOP with %d values on the stack: %w", len(u.stack), ErrMalformed)
			}
			return u.stack[0], nil
		}
	}
}

func (u *unpickler) take(n uint64) ([]byte, error) {
	if n > uint64(len(u.b)-u.pos) {
		return nil, fmt.Errorf("length %d past the end: %w", n, ErrMalformed)
	}
	p := u.b[u.pos : u.pos+int(n)]
	u.pos += int(n)
	return p, nil
}

func (u *unpickler) uint(n int) (uint64, error) {
	p, err := u.take(uint64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(p[i])
	}
	return v, nil
}

func (u *unpickler) line() (string, error) {
	i := bytes.IndexByte(u.b[u.pos:], '\n')
	if i < 0 {
		return "", fmt.Errorf("unterminated line: %w", ErrMalformed)
	}
	s := string(u.b[u.pos : u.pos+i])
	u.pos += i + 1
	return s, nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 {
		return nil, fmt.Errorf("stack underflow: %w", ErrMalformed)
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 {
		return nil, fmt.Errorf("stack underflow: %w", ErrMalformed)
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark returns the values pushed since the last MARK and restores the
// stack from before it.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, fmt.Errorf("no MARK: %w", ErrMalformed)
	}
	items := u.stack
	u.stack = u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	return items, nil
}

// sized reads a length of n bytes, then that many bytes.
func (u *unpickler) sized(n int) ([]byte, error) {
	l, err := u.uint(n)
	if err != nil {
		return nil, err
	}
	return u.take(l)
}

func (u *unpickler) step(op byte) (bool, error) {
	switch op {
	case 0x80: // PROTO
		v, err := u.uint(1)
		if err != nil {
			return false, err
		}
		if v > 5 {
			return false, fmt.Errorf("protocol %d: %w", v, ErrUnsupported)
		}
	case 0x95: // FRAME: a length hint only
		if _, err := u.uint(8); err != nil {
			return false, err
		}
	case '.': // STOP
		return true, nil
	case '(': // MARK
		u.marks = append(u.marks, u.stack)
		u.stack = nil
	case '0': // POP
		if len(u.stack) == 0 && len(u.marks) > 0 {
			_, err := u.popMark()
			return false, err
		}
		_, err := u.pop()
		return false, err
	case '1': // POP_MARK
		_, err := u.popMark()
		return false, err
	case '2': // DUP
		v, err := u.top()
		if err != nil {
			return false, err
		}
		u.push(v)
	case 'N':
		u.push(nil)
	case 0x88:
		u.push(true)
	case 0x89:
		u.push(false)
	case 'J': // BININT
		v, err := u.uint(4)
		if err != nil {
			return false, err
		}
		u.push(int64(int32(v)))
	case 'K': // BININT1
		v, err := u.uint(1)
		if err != nil {
			return false, err
		}
		u.push(int64(v))
	case 'M': // BININT2
		v, err := u.uint(2)
		if err != nil {
			return false, err
		}
		u.push(int64(v))
	case 0x8a, 0x8b: // LONG1, LONG4
		n := 1
		if op == 0x8b {
			n = 4
		}
		p, err := u.sized(n)
		if err != nil {
			return false, err
		}
		u.push(littleSigned(p))
	case 'I', 'L': // INT, LONG (text)
		s, err := u.line()
		if err != nil {
			return false, err
		}
		u.push(textInt(s))
	case 'F': // FLOAT (text)
		s, err := u.line()
		if err != nil {
			return false, err
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return false, fmt.Errorf("float %q: %w", s, ErrMalformed)
		}
		u.push(f)
	case 'G': // BINFLOAT
		p, err := u.take(8)
		if err != nil {
			return false, err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(p)))
	case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
		p, err := u.sized(lengthSize(op))
		if err != nil {
			return false, err
		}
		u.push(string(p))
	case 'V': // UNICODE (raw-unicode-escape text)
		s, err := u.line()
		if err != nil {
			return false, err
		}
		u.push(rawUnicode(s))
	case 'S': // STRING (quoted text): Python 2 str
		s, err := u.line()
		if err != nil {
			return false, err
		}
		q, err := strconv.Unquote(pyQuote(s))
		if err != nil {
			return false, fmt.Errorf("string %q: %w", s, ErrMalformed)
		}
		u.push(pyBytes(q))
	case 'T', 'U': // BINSTRING, SHORT_BINSTRING: Python 2 str, kept as bytes
		n := 4
		if op == 'U' {
			n = 1
		}
		p, err := u.sized(n)
		if err != nil {
			return false, err
		}
		u.push(pyBytes(p))
	case 'B', 'C', 0x8e, 0x96: // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
		p, err := u.sized(lengthSize(op))
		if err != nil {
			return false, err
		}
		u.push(pyBytes(p))
	case ')':
		u.push(pyTuple{})
	case 0x85, 0x86, 0x87: // TUPLE1..3
		n := int(op - 0x84)
		if len(u.stack) < n {
			return false, fmt.Errorf("stack underflow: %w", ErrMalformed)
		}
		t := append(pyTuple{}, u.stack[len(u.stack)-n:]...)
		u.stack = u.stack[:len(u.stack)-n]
		u.push(t)
	case 't': // TUPLE
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(pyTuple(items))
	case ']':
		u.push(&pyList{})
	case 'l': // LIST
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(&pyList{items: items})
	case 'a': // APPEND
		v, err := u.pop()
		if err != nil {
			return false, err
		}
		return false, u.appendTo([]any{v})
	case 'e': // APPENDS
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		return false, u.appendTo(items)
	case '}':
		u.push(&pyDict{})
	case 'd': // DICT
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		d := &pyDict{}
		if err := d.setItems(items); err != nil {
			return false, err
		}
		u.push(d)
	case 's': // SETITEM
		if len(u.stack) < 3 {
			return false, fmt.Errorf("stack underflow: %w", ErrMalformed)
		}
		items := u.stack[len(u.stack)-2:]
		u.stack = u.stack[:len(u.stack)-2]
		return false, u.setItems(items)
	case 'u': // SETITEMS
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		return false, u.setItems(items)
	case 0x8f: // EMPTY_SET
		u.push(&pyList{})
	case 0x90: // ADDITEMS
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		return false, u.appendTo(items)
	case 0x91: // FROZENSET
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(&pyList{items: items})
	case 'p': // PUT (text index)
		idx, err := u.lineIndex()
		if err != nil {
			return false, err
		}
		return false, u.put(idx)
	case 'q', 'r': // BINPUT, LONG_BINPUT
		idx, err := u.uint(lengthSize(op))
		if err != nil {
			return false, err
		}
		return false, u.put(idx)
	case 0x94: // MEMOIZE
		return false, u.put(uint64(len(u.memo)))
	case 'g': // GET (text index)
		idx, err := u.lineIndex()
		if err != nil {
			return false, err
		}
		return false, u.get(idx)
	case 'h', 'j': // BINGET, LONG_BINGET
		idx, err := u.uint(lengthSize(op))
		if err != nil {
			return false, err
		}
		return false, u.get(idx)
	case 'c': // GLOBAL: module and name lines
		mod, err := u.line()
		if err != nil {
			return false, err
		}
		name, err := u.line()
		if err != nil {
			return false, err
		}
		u.push(pyGlobal{mod, name})
	case 0x93: // STACK_GLOBAL
		name, err1 := u.pop()
		mod, err2 := u.pop()
		if err := errors.Join(err1, err2); err != nil {
			return false, err
		}
		ms, ok1 := mod.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return false, fmt.Errorf("STACK_GLOBAL of non-strings: %w", ErrMalformed)
		}
		u.push(pyGlobal{ms, ns})
	case 'R': // REDUCE: callable(*args), recorded, not called
		args, err1 := u.pop()
		fn, err2 := u.pop()
		if err := errors.Join(err1, err2); err != nil {
			return false, err
		}
		v, err := reduce(fn, args)
		if err != nil {
			return false, err
		}
		u.push(v)
	case 0x81: // NEWOBJ: cls.__new__(cls, *args)
		args, err1 := u.pop()
		cls, err2 := u.pop()
		if err := errors.Join(err1, err2); err != nil {
			return false, err
		}
		g, ok := cls.(pyGlobal)
		if !ok {
			return false, fmt.Errorf("NEWOBJ of a %T: %w", cls, ErrMalformed)
		}
		u.push(&pyObject{class: g, args: args})
	case 0x92: // NEWOBJ_EX
		kwargs, err1 := u.pop()
		args, err2 := u.pop()
		cls, err3 := u.pop()
		if err := errors.Join(err1, err2, err3); err != nil {
			return false, err
		}
		_ = kwargs
		g, ok := cls.(pyGlobal)
		if !ok {
			return false, fmt.Errorf("NEWOBJ_EX of a %T: %w", cls, ErrMalformed)
		}
		u.push(&pyObject{class: g, args: args})
	case 'o': // OBJ: class and args after a MARK
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		if len(items) == 0 {
			return false, fmt.Errorf("OBJ without a class: %w", ErrMalformed)
		}
		g, ok := items[0].(pyGlobal)
		if !ok {
			return false, fmt.Errorf("OBJ of a %T: %w", items[0], ErrMalformed)
		}
		u.push(&pyObject{class: g, args: pyTuple(items[1:])})
	case 'i': // INST: module and name lines, args after a MARK
		mod, err := u.line()
		if err != nil {
			return false, err
		}
		name, err := u.line()
		if err != nil {
			return false, err
		}
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(&pyObject{class: pyGlobal{mod, name}, args: pyTuple(items)})
	case 'b': // BUILD: obj.__setstate__(state), recorded
		state, err := u.pop()
		if err != nil {
			return false, err
		}
		obj, err := u.top()
		if err != nil {
			return false, err
		}
		if o, ok := obj.(*pyObject); ok {
			o.state = state
		}
	case 'P', 'Q':
		return false, fmt.Errorf("persistent references: %w", ErrUnsupported)
	case 0x82, 0x83, 0x84:
		return false, fmt.Errorf("extension registry references: %w", ErrUnsupported)
	case 0x97, 0x98:
		return false, fmt.Errorf("out-of-band buffers: %w", ErrUnsupported)
	default:
		return false, fmt.Errorf("unknown opcode: %w", ErrMalformed)
	}
	return false, nil
}

// lengthSize returns the width of the length or index an opcode carries.
func lengthSize(op byte) int {
	switch op {
	case 0x8c, 'C', 'q', 'h':
		return 1
	case 'X', 'B', 'r', 'j':
		return 4
	}
	return 8 // BINUNICODE8, BINBYTES8, BYTEARRAY8
}

func (u *unpickler) put(idx uint64) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	u.memo[idx] = v
	return nil
}

func (u *unpickler) get(idx uint64) error {
	v, ok := u.memo[idx]
	if !ok {
		return fmt.Errorf("memo entry %d undefined: %w", idx, ErrMalformed)
	}
	u.push(v)
	return nil
}

func (u *unpickler) appendTo(items []any) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	switch l := v.(type) {
	case *pyList:
		l.items = append(l.items, items...)
	case *pyObject: // a list subclass: its items do not matter here
	default:
		return fmt.Errorf("append to a %T: %w", v, ErrMalformed)
	}
	return nil
}

func (u *unpickler) setItems(items []any) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	switch d := v.(type) {
	case *pyDict:
		return d.setItems(items)
	case *pyObject: // a dict subclass: its items do not matter here
		return nil
	}
	return fmt.Errorf("set items on a %T: %w", v, ErrMalformed)
}

func (d *pyDict) setItems(items []any) error {
	if len(items)%2 != 0 {
		return fmt.Errorf("odd number of dict items: %w", ErrMalformed)
	}
	for i := 0; i < len(items); i += 2 {
		d.keys = append(d.keys, items[i])
		d.vals = append(d.vals, items[i+1])
	}
	return nil
}

// reduce records a call. Nothing is called: the result is data, except for
// the few constructors that only rebuild bytes, whose result is computed.
func reduce(fn, args any) (any, error) {
	g, ok := fn.(pyGlobal)
	if !ok {
		return nil, fmt.Errorf("REDUCE of a %T: %w", fn, ErrMalformed)
	}
	t, _ := args.(pyTuple)
	switch g.String() {
	case "builtins.bytearray", "__builtin__.bytearray", "builtins.bytes", "__builtin__.bytes":
		switch {
		case len(t) == 0:
			return pyBytes{}, nil
		case len(t) >= 1:
			if b, ok := t[0].(pyBytes); ok {
				return b, nil
			}
			if s, ok := t[0].(string); ok && len(t) >= 2 { // (text, "latin-1")
				return latin1(s)
			}
		}
	case "_codecs.encode":
		if len(t) == 2 {
			if s, ok := t[0].(string); ok {
				return latin1(s)
			}
		}
	case "copy_reg._reconstructor", "copyreg._reconstructor", "copyreg.__newobj__", "copy_reg.__newobj__":
		if len(t) >= 1 {
			if cls, ok := t[0].(pyGlobal); ok {
				return &pyObject{class: cls, args: pyTuple(t[1:])}, nil
			}
		}
	}
	return &pyObject{class: g, args: args}, nil
}

// latin1 turns text whose code points are all below 256 back into the bytes
// it encodes (how protocols 0–2 store bytes).
func latin1(s string) (pyBytes, error) {
	out := make(pyBytes, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, fmt.Errorf("latin-1 text with code point %U: %w", r, ErrMalformed)
		}
		out = append(out, byte(r))
	}
	return out, nil
}

// littleSigned decodes a little-endian two's complement integer.
func littleSigned(p []byte) any {
	if len(p) == 0 {
		return int64(0)
	}
	if len(p) > 8 {
		return pyBig{}
	}
	var v uint64
	for i := len(p) - 1; i >= 0; i-- {
		v = v<<8 | uint64(p[i])
	}
	if shift := 64 - 8*uint(len(p)); shift > 0 {
		return int64(v<<shift) >> shift
	}
	return int64(v)
}

func textInt(s string) any {
	s = strings.TrimSuffix(strings.TrimSpace(s), "L")
	switch s {
	case "00":
		return false
	case "01":
		return true
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	return pyBig{}
}

// rawUnicode decodes Python's raw-unicode-escape: \uXXXX and \UXXXXXXXX
// escapes, everything else a Latin-1 character.
func rawUnicode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') {
			n := 4
			if s[i+1] == 'U' {
				n = 8
			}
			if i+2+n <= len(s) {
				if v, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32); err == nil && utf8.ValidRune(rune(v)) {
					b.WriteRune(rune(v))
					i += 1 + n
					continue
				}
			}
		}
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

// pyQuote turns a Python 2 repr'd str ('...' or "...") into a Go quoted
// string strconv.Unquote understands.
func pyQuote(s string) string {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		inner := strings.ReplaceAll(s[1:len(s)-1], `\'`, `'`)
		return `"` + strings.ReplaceAll(inner, `"`, `\"`) + `"`
	}
	return s
}

// lineIndex reads a memo index written as a decimal line (protocol 0).
func (u *unpickler) lineIndex() (uint64, error) {
	s, err := u.line()
	if err != nil {
		return 0, err
	}
	idx, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("memo index %q: %w", s, ErrMalformed)
	}
	return idx, nil
}

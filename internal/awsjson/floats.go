package awsjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The AWS JSON protocols send the doubles no JSON number can hold as the
// strings "NaN", "Infinity" and "-Infinity" (Smithy's rule, followed by
// botocore and every AWS SDK). encoding/json knows neither direction, so
// Unmarshal and Marshal wrap it: the common case costs one ordinary pass,
// and only a body that needs them takes the slower path that follows the
// destination's types.

// specialFloat returns the double a special-float string stands for.
func specialFloat(s string) (float64, bool) {
	switch s {
	case "NaN":
		return math.NaN(), true
	case "Infinity":
		return math.Inf(1), true
	case "-Infinity":
		return math.Inf(-1), true
	}
	return 0, false
}

// FloatText returns f as the AWS JSON protocols write it: a JSON number,
// or one of the three special strings (quoted).
func FloatText(f float64) string {
	switch {
	case math.IsNaN(f):
		return `"NaN"`
	case math.IsInf(f, 1):
		return `"Infinity"`
	case math.IsInf(f, -1):
		return `"-Infinity"`
	}
	b, _ := json.Marshal(f)
	return string(b)
}

// Unmarshal is json.Unmarshal that also reads "NaN", "Infinity" and
// "-Infinity" into float fields (float32 or float64, also behind pointers,
// in slices and as map values), wherever v's type expects a number.
func Unmarshal(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Value != "string" || !bytes.Contains(data, []byte(`"`)) {
		return err
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if dec.Decode(&tree) != nil {
		return err
	}
	var fixes []fix
	tree = rewrite(tree, rv.Type().Elem(), nil, &fixes)
	if len(fixes) == 0 {
		return err
	}
	clean, merr := json.Marshal(tree)
	if merr != nil {
		return err
	}
	if err := json.Unmarshal(clean, v); err != nil {
		return err
	}
	for _, f := range fixes {
		set(rv.Elem(), f.path, f.value)
	}
	return nil
}

// step is one move from a value to a part of it: a struct field (by
// index path), a slice element or a map key.
type step struct {
	field []int
	index int
	key   string
	kind  reflect.Kind // Struct, Slice or Map
}

type fix struct {
	path  []step
	value float64
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// rewrite walks tree along t, replaces each special-float string that
// lands in a float with 0 and records where the real value goes.
func rewrite(tree any, t reflect.Type, path []step, fixes *[]fix) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return tree
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		if s, ok := tree.(string); ok {
			if f, ok := specialFloat(s); ok {
				*fixes = append(*fixes, fix{path: append([]step(nil), path...), value: f})
				return json.Number("0")
			}
		}
	case reflect.Slice, reflect.Array:
		if list, ok := tree.([]any); ok {
			for i := range list {
				list[i] = rewrite(list[i], t.Elem(), append(path, step{kind: reflect.Slice, index: i}), fixes)
			}
		}
	case reflect.Map:
		if m, ok := tree.(map[string]any); ok && t.Key().Kind() == reflect.String {
			for k, x := range m {
				m[k] = rewrite(x, t.Elem(), append(path, step{kind: reflect.Map, key: k}), fixes)
			}
		}
	case reflect.Struct:
		if m, ok := tree.(map[string]any); ok {
			fields := jsonFields(t)
			for k, x := range m {
				f, ok := lookupField(fields, k)
				if !ok {
					continue
				}
				m[k] = rewrite(x, t.FieldByIndex(f.index).Type, append(path, step{kind: reflect.Struct, field: f.index}), fixes)
			}
		}
	}
	return tree
}

// set stores f at path below v (after json.Unmarshal has filled v).
func set(v reflect.Value, path []step, f float64) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if len(path) == 0 {
		if v.CanSet() && (v.Kind() == reflect.Float32 || v.Kind() == reflect.Float64) {
			v.SetFloat(f)
		}
		return
	}
	s := path[0]
	switch s.kind {
	case reflect.Struct:
		fv, err := v.FieldByIndexErr(s.field)
		if err == nil {
			set(fv, path[1:], f)
		}
	case reflect.Slice:
		if s.index < v.Len() {
			set(v.Index(s.index), path[1:], f)
		}
	case reflect.Map:
		k := reflect.ValueOf(s.key).Convert(v.Type().Key())
		cur := v.MapIndex(k)
		if !cur.IsValid() {
			return
		}
		cp := reflect.New(cur.Type()).Elem()
		cp.Set(cur)
		set(cp, path[1:], f)
		v.SetMapIndex(k, cp)
	}
}

type jsonField struct {
	name      string
	index     []int
	omitEmpty bool
}

// jsonFields lists t's fields as encoding/json sees them: tag names,
// embedded structs flattened, shallower fields winning.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	seen := map[string]int{}
	var walk func(t reflect.Type, index []int, depth int)
	depths := map[string]int{}
	walk = func(t reflect.Type, index []int, depth int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), index...), i)
			ft := sf.Type
			if sf.Anonymous && name == "" {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft, idx, depth+1)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			f := jsonField{name: name, index: idx, omitEmpty: strings.Contains(opts, "omitempty")}
			if j, ok := seen[name]; ok {
				if depths[name] > depth {
					out[j], depths[name] = f, depth
				}
				continue
			}
			seen[name], depths[name] = len(out), depth
			out = append(out, f)
		}
	}
	walk(t, nil, 0)
	return out
}

func lookupField(fields []jsonField, key string) (jsonField, bool) {
	for _, f := range fields {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return jsonField{}, false
}

// Marshal is json.Marshal that writes non-finite floats as "NaN",
// "Infinity" and "-Infinity" instead of failing.
func Marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	var ue *json.UnsupportedValueError
	if err == nil || !errors.As(err, &ue) {
		return b, err
	}
	var buf bytes.Buffer
	if err := encode(&buf, reflect.ValueOf(v)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

// encode writes v as encoding/json would, except for non-finite floats.
func encode(b *bytes.Buffer, v reflect.Value) error {
	if !v.IsValid() {
		b.WriteString("null")
		return nil
	}
	if v.Type().Implements(marshalerType) || (v.CanAddr() && v.Addr().Type().Implements(marshalerType)) ||
		v.Kind() == reflect.Interface || v.Kind() == reflect.String || v.Kind() == reflect.Bool ||
		(v.Kind() >= reflect.Int && v.Kind() <= reflect.Uintptr) {
		if v.Kind() == reflect.Interface {
			if v.IsNil() {
				b.WriteString("null")
				return nil
			}
			return encode(b, v.Elem())
		}
		out, err := json.Marshal(v.Interface())
		if err != nil {
			return err
		}
		b.Write(out)
		return nil
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			b.WriteString(FloatText(f))
			return nil
		}
		out, err := json.Marshal(v.Interface())
		if err != nil {
			return err
		}
		b.Write(out)
	case reflect.Pointer:
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		return encode(b, v.Elem())
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			b.WriteString("null")
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			out, err := json.Marshal(v.Interface())
			if err != nil {
				return err
			}
			b.Write(out)
			return nil
		}
		b.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := encode(b, v.Index(i)); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case reflect.Map:
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		keys := v.MapKeys()
		names := make([]string, len(keys))
		for i, k := range keys {
			kb, err := json.Marshal(k.Interface())
			if err != nil {
				return err
			}
			if kb[0] != '"' {
				kb = strconv.AppendQuote(nil, string(kb))
			}
			names[i] = string(kb)
		}
		order := make([]int, len(keys))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(i, j int) int { return strings.Compare(names[i], names[j]) })
		b.WriteByte('{')
		for n, i := range order {
			if n > 0 {
				b.WriteByte(',')
			}
			b.WriteString(names[i])
			b.WriteByte(':')
			if err := encode(b, v.MapIndex(keys[i])); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case reflect.Struct:
		b.WriteByte('{')
		first := true
		for _, f := range jsonFields(v.Type()) {
			fv, err := v.FieldByIndexErr(f.index)
			if err != nil {
				continue // behind a nil embedded pointer
			}
			if f.omitEmpty && isEmpty(fv) {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			nb, _ := json.Marshal(f.name)
			b.Write(nb)
			b.WriteByte(':')
			if err := encode(b, fv); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		out, err := json.Marshal(v.Interface())
		if err != nil {
			return err
		}
		b.Write(out)
	}
	return nil
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

package cloudwatch

import (
	"bytes"
	"encoding/xml"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// awsQuery decoding: form keys such as
//
//	MetricData.member.1.Dimensions.member.2.Name=VariantName
//
// are split on dots into a tree, which is walked together with the Go
// input struct: struct members by name, lists through member.N (N from 1,
// in order), maps through entry.N.key / entry.N.value.

const (
	maxQueryDepth   = 16
	maxQueryListLen = 100000
)

type qnode struct {
	value    string
	hasValue bool
	children map[string]*qnode
}

func buildQueryTree(form url.Values) (*qnode, error) {
	root := &qnode{}
	for key, vals := range form {
		parts := strings.Split(key, ".")
		if len(parts) > maxQueryDepth {
			return nil, invalidValue("Parameter %s is nested too deeply.", truncate(key))
		}
		n := root
		for _, p := range parts {
			if n.children == nil {
				n.children = make(map[string]*qnode)
			}
			c := n.children[p]
			if c == nil {
				c = &qnode{}
				n.children[p] = c
			}
			n = c
		}
		if len(vals) > 0 {
			n.value, n.hasValue = vals[0], true
		}
	}
	return root, nil
}

// decodeQuery fills the struct pointed to by v from an awsQuery form.
func decodeQuery(form url.Values, v any) error {
	root, err := buildQueryTree(form)
	if err != nil {
		return err
	}
	return decodeQueryValue(root, "", reflect.ValueOf(v).Elem())
}

var timestampType = reflect.TypeFor[Timestamp]()

func memberName(f reflect.StructField) (name string, omitempty bool) {
	tag := f.Tag.Get("json")
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name, strings.Contains(opts, "omitempty")
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func truncate(s string) string {
	if len(s) > 256 {
		return s[:256] + "…"
	}
	return s
}

func badQueryValue(path, value string) error {
	return invalidValue("Value '%s' for parameter %s is invalid.", truncate(value), truncate(path))
}

func decodeQueryValue(n *qnode, path string, rv reflect.Value) error {
	t := rv.Type()
	switch {
	case t.Kind() == reflect.Pointer:
		nv := reflect.New(t.Elem())
		if err := decodeQueryValue(n, path, nv.Elem()); err != nil {
			return err
		}
		rv.Set(nv)
		return nil
	case t == timestampType:
		if !n.hasValue {
			return badQueryValue(path, "")
		}
		tm, err := parseTimestamp(n.value)
		if err != nil {
			return badQueryValue(path, n.value)
		}
		rv.Set(reflect.ValueOf(Timestamp{Time: tm}))
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			name, _ := memberName(t.Field(i))
			if c := n.children[name]; c != nil {
				if err := decodeQueryValue(c, joinPath(path, name), rv.Field(i)); err != nil {
					return err
				}
			}
		}
		return nil
	case reflect.Slice:
		items, err := indexedChildren(n, "member", path)
		if err != nil {
			return err
		}
		s := reflect.MakeSlice(t, len(items), len(items))
		for i, it := range items {
			if err := decodeQueryValue(it.n, joinPath(path, "member."+it.idx), s.Index(i)); err != nil {
				return err
			}
		}
		rv.Set(s)
		return nil
	case reflect.Map:
		items, err := indexedChildren(n, "entry", path)
		if err != nil {
			return err
		}
		m := reflect.MakeMapWithSize(t, len(items))
		for _, it := range items {
			p := joinPath(path, "entry."+it.idx)
			k, v := it.n.children["key"], it.n.children["value"]
			if k == nil || v == nil {
				return invalidValue("Parameter %s needs a key and a value.", truncate(p))
			}
			kv, vv := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
			if err := decodeQueryValue(k, p+".key", kv); err != nil {
				return err
			}
			if err := decodeQueryValue(v, p+".value", vv); err != nil {
				return err
			}
			m.SetMapIndex(kv, vv)
		}
		rv.Set(m)
		return nil
	}
	if !n.hasValue {
		return invalidValue("Parameter %s needs a value.", truncate(path))
	}
	switch t.Kind() {
	case reflect.String:
		rv.SetString(n.value)
	case reflect.Int32:
		i, err := strconv.ParseInt(n.value, 10, 32)
		if err != nil {
			return badQueryValue(path, n.value)
		}
		rv.SetInt(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(n.value, 64)
		if err != nil {
			return badQueryValue(path, n.value)
		}
		rv.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.value)
		if err != nil {
			return badQueryValue(path, n.value)
		}
		rv.SetBool(b)
	default:
		return newError(errInternal, "cannot decode parameter %s", path)
	}
	return nil
}

type indexed struct {
	num int
	idx string
	n   *qnode
}

// indexedChildren returns n's <kind>.N children in order of N. A list
// given as "Param=" (no members) is empty.
func indexedChildren(n *qnode, kind, path string) ([]indexed, error) {
	c := n.children[kind]
	if c == nil {
		if len(n.children) > 0 || (n.hasValue && n.value != "") {
			return nil, invalidValue("Parameter %s must be a list of %s.N values.", truncate(path), kind)
		}
		return nil, nil
	}
	items := make([]indexed, 0, len(c.children))
	for k, child := range c.children {
		num, err := strconv.Atoi(k)
		if err != nil || num < 1 || num > maxQueryListLen || strconv.Itoa(num) != k {
			return nil, invalidValue("Parameter %s has an invalid index %q.", truncate(joinPath(path, kind)), truncate(k))
		}
		items = append(items, indexed{num: num, idx: k, n: child})
	}
	slices.SortFunc(items, func(a, b indexed) int { return a.num - b.num })
	return items, nil
}

// XML encoding of outputs, the mirror image of decodeQuery.

const xmlNamespace = "http://monitoring.amazonaws.com/doc/2010-08-01/"

func xmlText(b *bytes.Buffer, s string) {
	xml.EscapeText(b, []byte(s))
}

func formatDouble(f float64) string {
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func isoTime(t Timestamp) string {
	u := t.UTC()
	if u.Nanosecond() == 0 {
		return u.Format("2006-01-02T15:04:05Z")
	}
	return u.Format("2006-01-02T15:04:05.000Z")
}

// writeXML writes v as element name.
func writeXML(b *bytes.Buffer, name string, v reflect.Value) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	open := func() { b.WriteString("<" + name + ">") }
	closeTag := func() { b.WriteString("</" + name + ">") }
	if v.Type() == timestampType {
		open()
		b.WriteString(isoTime(v.Interface().(Timestamp)))
		closeTag()
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		open()
		t := v.Type()
		for i := range t.NumField() {
			fname, omitempty := memberName(t.Field(i))
			f := v.Field(i)
			if omitempty && f.IsZero() {
				continue
			}
			writeXML(b, fname, f)
		}
		closeTag()
	case reflect.Slice:
		open()
		for i := range v.Len() {
			writeXML(b, "member", v.Index(i))
		}
		closeTag()
	case reflect.Map:
		open()
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			b.WriteString("<entry>")
			writeXML(b, "key", k)
			writeXML(b, "value", v.MapIndex(k))
			b.WriteString("</entry>")
		}
		closeTag()
	case reflect.String:
		open()
		xmlText(b, v.String())
		closeTag()
	case reflect.Float64:
		open()
		b.WriteString(formatDouble(v.Float()))
		closeTag()
	case reflect.Int32, reflect.Int:
		open()
		b.WriteString(strconv.FormatInt(v.Int(), 10))
		closeTag()
	case reflect.Bool:
		open()
		b.WriteString(strconv.FormatBool(v.Bool()))
		closeTag()
	}
}

// queryResponse renders a successful awsQuery reply.
func queryResponse(op string, out any, requestID string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<" + op + `Response xmlns="` + xmlNamespace + `">`)
	if v := reflect.ValueOf(out); v.Elem().NumField() > 0 {
		writeXML(&b, op+"Result", v)
	}
	b.WriteString("<ResponseMetadata><RequestId>")
	xmlText(&b, requestID)
	b.WriteString("</RequestId></ResponseMetadata></" + op + "Response>")
	return b.Bytes()
}

// queryError renders an awsQuery error reply.
func queryError(e *apiError, requestID string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<ErrorResponse xmlns="` + xmlNamespace + `"><Error><Type>` + e.FaultName() + "</Type><Code>")
	xmlText(&b, e.Code)
	b.WriteString("</Code><Message>")
	xmlText(&b, e.Message)
	b.WriteString("</Message></Error><RequestId>")
	xmlText(&b, requestID)
	b.WriteString("</RequestId></ErrorResponse>")
	return b.Bytes()
}

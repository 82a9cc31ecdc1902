package awsjson

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

type inner struct {
	W *float32 `json:"W,omitempty"`
}

type base struct {
	B float64 `json:"B"`
}

type shape struct {
	base
	Name   string             `json:"Name"`
	V      *float64           `json:"V,omitempty"`
	List   []float64          `json:"List,omitempty"`
	Map    map[string]float64 `json:"Map,omitempty"`
	Nested []inner            `json:"Nested,omitempty"`
	When   *Timestamp         `json:"When,omitempty"`
}

func same(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

func TestSpecialFloatsAreReadWhereANumberIsExpected(t *testing.T) {
	in := `{"B":"-Infinity","Name":"NaN","V":"NaN","List":[1,"Infinity","-Infinity"],"Map":{"a":"NaN","b":2},` +
		`"Nested":[{"W":3},{"W":"Infinity"}],"When":1716220800}`
	var s shape
	if err := Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	switch {
	case !math.IsInf(s.B, -1):
		t.Errorf("embedded B = %v", s.B)
	case s.Name != "NaN":
		t.Errorf("a string field that says NaN stays a string: %q", s.Name)
	case s.V == nil || !math.IsNaN(*s.V):
		t.Errorf("V = %v", s.V)
	case len(s.List) != 3 || s.List[0] != 1 || !math.IsInf(s.List[1], 1) || !math.IsInf(s.List[2], -1):
		t.Errorf("List = %v", s.List)
	case !math.IsNaN(s.Map["a"]) || s.Map["b"] != 2:
		t.Errorf("Map = %v", s.Map)
	case *s.Nested[0].W != 3 || !math.IsInf(float64(*s.Nested[1].W), 1):
		t.Errorf("Nested = %v, %v", *s.Nested[0].W, *s.Nested[1].W)
	case s.When == nil || s.When.Unix() != 1716220800:
		t.Errorf("When = %v", s.When)
	}

	// And written back the same way.
	out, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"B":"-Infinity"`, `"V":"NaN"`, `"List":[1,"Infinity","-Infinity"]`, `"Map":{"a":"NaN","b":2}`, `"W":"Infinity"`, `"When":1716220800`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("Marshal wrote %s, without %s", out, want)
		}
	}
	var back shape
	if err := Unmarshal(out, &back); err != nil || !same(back.B, s.B) || !same(*back.V, *s.V) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

func TestOtherStringsInNumbersStayErrors(t *testing.T) {
	for _, in := range []string{`{"V":"nan"}`, `{"V":"1.5"}`, `{"List":["inf"]}`, `{"B":"Infinity","V":"x"}`} {
		var s shape
		if err := Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("%s decoded without error: %+v", in, s)
		}
	}
	// Through the protocol decoder, the error is AWS's SerializationException.
	var s shape
	err := DecodeBytes([]byte(`{"V":"NaNa"}`), &s)
	if err == nil || !strings.Contains(err.Error(), "SerializationException") {
		t.Fatalf("DecodeBytes: %v", err)
	}
}

func TestMarshalOfFiniteValuesIsEncodingJSONs(t *testing.T) {
	v := 1.5
	s := shape{base: base{B: 2}, Name: "x", V: &v, List: []float64{1e21, 1e-7}, Map: map[string]float64{"z": 1, "a": 2}}
	got, err := Marshal(s)
	want, _ := json.Marshal(s)
	if err != nil || string(got) != string(want) {
		t.Fatalf("Marshal = %s (%v), want %s", got, err, want)
	}
}

// FuzzUnmarshal checks that Unmarshal agrees with encoding/json on every
// body encoding/json accepts, and never panics on the others.
func FuzzUnmarshal(f *testing.F) {
	for _, seed := range []string{`{}`, `{"V":"NaN"}`, `{"List":["Infinity",2]}`, `{"Map":{"a":"-Infinity"}}`,
		`{"Nested":[{"W":"NaN"}]}`, `{"B":"Infinity"}`, `[1]`, `{"V":"NaN","When":"x"}`, `{"v":"NaN"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var a, b shape
		errA := json.Unmarshal(data, &a)
		errB := Unmarshal(data, &b)
		if errA == nil {
			if errB != nil || !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: encoding/json gave %+v, Unmarshal %+v (%v)", data, a, b, errB)
			}
			return
		}
		if errB == nil {
			// Only special floats may turn an error into success; the result
			// must then write back.
			if _, err := Marshal(b); err != nil {
				t.Fatalf("%s decoded but does not encode: %v", data, err)
			}
		}
	})
}

package xgboost

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPickledBoosters(t *testing.T) {
	dir := filepath.Join("testdata", "iris-softmax")
	rows, nrow := readMatrix(t, filepath.Join(dir, "input.csv"))
	want := readCSV(t, filepath.Join(dir, "expected.csv"))
	wantMargin := readCSV(t, filepath.Join(dir, "expected_margin.csv"))
	tests := []struct {
		file   string
		format Format
	}{
		{"iris-softmax.p2.pkl", FormatUBJSON},
		{"iris-softmax.p3.pkl", FormatUBJSON},
		{"iris-softmax.p4.pkl", FormatUBJSON},
		{"iris-softmax.p5.pkl", FormatUBJSON},
		{"iris-softmax.legacy-handle.p3.pkl", FormatBinary},
		{"iris-softmax.wrapper.p4.pkl", FormatUBJSON},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			m, err := LoadFile(filepath.Join("testdata", "pickle", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !m.Pickled() || m.Format() != tc.format || m.Objective() != "multi:softmax" {
				t.Errorf("Pickled %v, Format %v, Objective %q; want true, %v, multi:softmax",
					m.Pickled(), m.Format(), m.Objective(), tc.format)
			}
			got, err := m.Predict(rows, nrow, false)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "predict", got, want, nrow)
			got, err = m.Predict(rows, nrow, true)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "margin", got, wantMargin, nrow)
		})
	}
}

func TestPickleRefusals(t *testing.T) {
	// A protocol 2 pickle built by hand, for the shapes Python does not
	// produce on request.
	global := func(mod, name string) string { return "c" + mod + "\n" + name + "\n" }
	booster := "\x80\x02" + global("xgboost.core", "Booster") + ")\x81}"
	tests := []struct {
		name    string
		data    []byte
		file    string
		wantErr error
		msg     string
	}{
		{name: "a call to os.system, protocol 0", file: "os-system.p0.pkl", wantErr: ErrUnsupported, msg: "posix.system"},
		{name: "a call to os.system, protocol 4", file: "os-system.p4.pkl", wantErr: ErrUnsupported, msg: "posix.system"},
		{name: "a plain dict", file: "not-a-booster.p4.pkl", wantErr: ErrUnsupported, msg: "no xgboost Booster"},
		{name: "booster without state", data: []byte(booster[:len(booster)-1] + "."), wantErr: ErrUnsupported, msg: "without state"},
		{name: "booster whose handle is None", data: []byte(booster + "X\x06\x00\x00\x00handleNsb."), wantErr: ErrUnsupported, msg: "no model bytes"},
		{name: "booster whose handle is not a model", data: []byte(booster + "X\x06\x00\x00\x00handleC\x03abcsb."), wantErr: ErrMalformed, msg: "Booster state"},
		{name: "persistent id", data: []byte("\x80\x02X\x01\x00\x00\x00aQ."), wantErr: ErrUnsupported, msg: "persistent"},
		{name: "protocol 6", data: []byte("\x80\x06N."), wantErr: ErrUnsupported, msg: "protocol 6"},
		{name: "bytes length past the end", data: []byte("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f"), wantErr: ErrMalformed, msg: "past the end"},
		{name: "undefined memo entry", data: []byte("\x80\x04h\x05."), wantErr: ErrMalformed, msg: "memo"},
		{name: "no STOP", data: []byte("\x80\x04N"), wantErr: ErrMalformed, msg: "STOP"},
		{name: "stack underflow", data: []byte("\x80\x04R."), wantErr: ErrMalformed, msg: "underflow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data
			if tc.file != "" {
				var err error
				if data, err = os.ReadFile(filepath.Join("testdata", "pickle", tc.file)); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(data)
			if !errors.Is(err, ErrPickle) || !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v; want ErrPickle and %v", err, tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "pickled model: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %q; want it to start with \"pickled model: \" and mention %q", err, tc.msg)
			}
		})
	}
}

func TestPickleProtocol2BytesFromLatin1(t *testing.T) {
	// Protocol 2 stores bytes as _codecs.encode(text, "latin1"); a bytearray
	// of such text must give back the original bytes, high bytes included.
	model := testModel{objective: "reg:squarederror", baseScore: 0.5, numFeature: 1,
		trees: []testTree{stump(0, 0.5, 1, 2, true)}}
	raw := model.binary(1)
	var text bytes.Buffer
	for _, b := range raw {
		text.WriteRune(rune(b)) // latin-1 code point
	}
	var p bytes.Buffer
	p.WriteString("\x80\x02cxgboost.core\nBooster\nq\x00)\x81q\x01}q\x02X\x06\x00\x00\x00handleq\x03")
	p.WriteString("c__builtin__\nbytearray\nq\x04c_codecs\nencode\nq\x05X")
	binary.Write(&p, binary.LittleEndian, uint32(text.Len()))
	p.Write(text.Bytes())
	p.WriteString("q\x06X\x06\x00\x00\x00latin1q\x07\x86q\x08Rq\x09\x85q\x0aRq\x0bsb.")
	m, err := Load(p.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Predict([]float32{0, 1}, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != 1.5 || got[1] != 2.5 {
		t.Errorf("predictions %v, want [1.5 2.5]", got)
	}
}

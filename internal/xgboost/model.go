package xgboost

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

var (
	// ErrMalformed reports model bytes that cannot be decoded or describe an
	// impossible model (a length past the end, a child index out of range, a
	// node reached twice, ...).
	ErrMalformed = errors.New("malformed model")

	// ErrUnsupported reports a well-formed model using something this runtime
	// does not implement (an unknown objective or booster, vector leaves, a
	// pickle that needs code to run to be rebuilt, ...).
	ErrUnsupported = errors.New("unsupported model")

	// ErrNoModel reports a model directory holding no model file.
	ErrNoModel = errors.New("no model file")
)

// A FeatureCountError reports input with more columns than the model has
// features, which XGBoost refuses too.
type FeatureCountError struct {
	Got  int // columns in the input
	Want int // features in the model
}

func (e *FeatureCountError) Error() string {
	return fmt.Sprintf("input has %d columns but the model has %d features", e.Got, e.Want)
}

// Format is the encoding a model was stored in.
type Format uint8

// Model formats.
const (
	FormatBinary Format = iota + 1 // XGBoost's legacy binary format
	FormatJSON
	FormatUBJSON
)

func (f Format) String() string {
	switch f {
	case FormatBinary:
		return "legacy binary"
	case FormatJSON:
		return "JSON"
	case FormatUBJSON:
		return "UBJSON"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// Model is a loaded XGBoost model. It is immutable and safe for concurrent use.
type Model struct {
	obj        objective
	booster    string  // gbtree, dart or gblinear
	numFeature int     // features the model was trained on
	numClass   int     // num_class as stored (0 unless multi-class)
	numGroup   int     // output groups: margins per row
	baseScore  float32 // as stored, in the objective's output space
	baseMargin float32 // baseScore through the objective's link
	format     Format
	pickled    bool
	attrs      map[string]string

	// Tree ensembles (gbtree and dart).
	nodes     []node
	roots     []int32   // index in nodes of each tree's root
	treeGroup []int32   // output group of each tree
	weights   []float32 // dart: weight_drop of each tree; nil for gbtree

	// Categorical splits, nil when the model has none: node i splits on
	// categories when catStart[i] >= 0, sending right those in the sorted
	// set cats[catStart[i]:catEnd[i]].
	catStart, catEnd []int32
	cats             []int32

	// gblinear: weight of feature f for group g at f*numGroup+g, then one bias per group.
	linear []float32
}

// node is one tree node, 16 bytes so that four share a cache line.
type node struct {
	left, right int32   // absolute positions in Model.nodes; left < 0 marks a leaf
	split       uint32  // split feature, | defaultLeft when a missing value goes left
	value       float32 // split condition, or leaf value
}

const (
	defaultLeft  = 1 << 31
	featureMask  = defaultLeft - 1
	noCategories = -1
)

// Objective returns the model's objective, with the name XGBoost reports in its
// configuration (the deprecated reg:linear reads as reg:squarederror).
func (m *Model) Objective() string { return m.obj.name }

// Booster returns gbtree, dart or gblinear.
func (m *Model) Booster() string { return m.booster }

// NumFeatures returns the number of features the model was trained on.
func (m *Model) NumFeatures() int { return m.numFeature }

// NumClass returns num_class as the model stores it: the class count of a
// multi-class model, 0 otherwise.
func (m *Model) NumClass() int { return m.numClass }

// NumGroups returns the number of margins per row: the class count for
// multi-class models, the target count for multi-target ones, else 1.
func (m *Model) NumGroups() int { return m.numGroup }

// NumOutputs returns how many values Predict gives per row when margin is
// false: one per class for multi:softprob, one for multi:softmax (the class
// index), NumGroups otherwise.
func (m *Model) NumOutputs() int { return m.outputWidth(false) }

func (m *Model) outputWidth(margin bool) int {
	if !margin && m.obj.transform == transformArgmax {
		return 1
	}
	return m.numGroup
}

// BaseScore returns the base_score the model stores, before its link.
func (m *Model) BaseScore() float32 { return m.baseScore }

// NumTrees returns the number of trees (0 for gblinear).
func (m *Model) NumTrees() int { return len(m.roots) }

// Format returns the encoding the model bytes were in; for a pickled model,
// the encoding of the bytes the pickle carried.
func (m *Model) Format() Format { return m.format }

// Pickled reports whether the model came out of a Python pickle.
func (m *Model) Pickled() bool { return m.pickled }

// Attr returns a model attribute (best_iteration, ...), if stored.
func (m *Model) Attr(key string) (string, bool) {
	v, ok := m.attrs[key]
	return v, ok
}

const (
	headerBinf     = "binf"
	headerBase64   = "bs64"
	headerSnapshot = "CONFIG-offset:"
)

// Load decodes a model, detecting its format from its content: legacy binary
// (with or without the "binf" header), JSON, UBJSON, XGBoost's serialisation
// snapshot, or a Python pickle of a Booster.
func Load(data []byte) (*Model, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("empty model: %w", ErrMalformed)
	}
	if looksPickled(data) {
		m, err := loadPickle(data)
		if err != nil {
			// A header-less binary model whose base_score happens to
			// begin like a PROTO opcode.
			if nm, nerr := loadNative(data); nerr == nil {
				return nm, nil
			}
		}
		return m, err
	}
	m, err := loadNative(data)
	if err == nil {
		return m, nil
	}
	switch {
	case data[0] == 0x80:
		// A PROTO opcode of a protocol this reader does not know.
		return loadPickle(data)
	case maybeOldPickle(data):
		// Protocol 0 and 1 pickles have no PROTO opcode to recognise them
		// by: bytes that are no model but decode as a pickle are one.
		if _, perr := unpickle(data); perr == nil {
			return loadPickle(data)
		}
	}
	return nil, err
}

// loadNative decodes the formats XGBoost's own loader reads.
func loadNative(data []byte) (*Model, error) {
	switch {
	case bytes.HasPrefix(data, []byte(headerBinf)):
		return loadBinary(data[len(headerBinf):])
	case bytes.HasPrefix(data, []byte(headerBase64)):
		return nil, fmt.Errorf("base64 model (bs64 header): %w", ErrUnsupported)
	case bytes.HasPrefix(data, []byte(headerSnapshot)):
		return loadSnapshot(data[len(headerSnapshot):])
	case data[0] == '{':
		if isJSONText(data) {
			return loadJSON(data)
		}
		return loadUBJSON(data)
	}
	return loadBinary(data)
}

// isJSONText tells JSON text from UBJSON after the opening brace: JSON goes on
// with whitespace or a quoted key, UBJSON with a length marker.
func isJSONText(data []byte) bool {
	for _, c := range data[1:] {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			return true
		}
		return false
	}
	return false
}

// loadSnapshot reads what XGBoost 1.0–1.5 serialise a Booster to (the bytes a
// pickle of one carries): "CONFIG-offset:", an int64 offset, a legacy binary
// model of that length, then the JSON configuration, which is not needed.
func loadSnapshot(data []byte) (*Model, error) {
	r := reader{b: data}
	off, err := r.i64()
	if err != nil || off <= 0 || off > int64(r.remaining()) {
		return nil, fmt.Errorf("serialised booster: bad model length: %w", ErrMalformed)
	}
	return loadBinary(data[8 : 8+off])
}

// LoadFile reads and decodes one model file.
func LoadFile(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return m, nil
}

// LoadDir loads the model in a model directory the way the SageMaker XGBoost
// container does: the model is the first regular file, by name, whose name
// does not start with a dot.
func LoadDir(dir string) (*Model, error) {
	path, err := ModelFile(dir)
	if err != nil {
		return nil, err
	}
	return LoadFile(path)
}

// ModelFile returns the path of the file LoadDir would load.
func ModelFile(dir string) (string, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		fi, err := os.Stat(path) // follows symlinks, as os.path.isfile does
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		return path, nil
	}
	return "", fmt.Errorf("%s: %w", dir, ErrNoModel)
}

// SizeBytes estimates the memory the loaded model holds: its trees,
// categorical splits, linear weights and attributes.
func (m *Model) SizeBytes() int {
	n := 512 // the Model itself and its objective
	n += len(m.nodes) * 16
	n += (len(m.roots) + len(m.treeGroup) + len(m.weights)) * 4
	n += (len(m.catStart) + len(m.catEnd) + len(m.cats) + len(m.linear)) * 4
	for k, v := range m.attrs {
		n += len(k) + len(v) + 32
	}
	return n
}

package xgboost

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
)

// Hand-built models for what the fixtures do not cover, encoded in each of
// XGBoost's formats by the writers below (which follow XGBoost's own writers).

type testTree struct {
	left, right []int
	feature     []int
	cond        []float32 // split condition, or leaf value
	defaultLeft []bool
	categories  map[int][]int // categorical split node → categories going right
	group       int
}

type testModel struct {
	objective  string
	booster    string // "" means gbtree
	baseScore  float32
	numFeature int
	numClass   int
	trees      []testTree
	weightDrop []float32 // dart
	linear     []float32 // gblinear
}

// stump is a one-split tree: feature f < cond goes to leaf lo, else hi;
// missing goes left when defaultLeft.
func stump(f int, cond, lo, hi float32, defaultLeft bool) testTree {
	return testTree{
		left:        []int{1, -1, -1},
		right:       []int{2, -1, -1},
		feature:     []int{f, 0, 0},
		cond:        []float32{cond, lo, hi},
		defaultLeft: []bool{defaultLeft, false, false},
	}
}

func (m testModel) boosterName() string {
	if m.booster == "" {
		return "gbtree"
	}
	return m.booster
}

// document builds the model's JSON/UBJSON document.
func (m testModel) document() map[string]any {
	gbModel := map[string]any{}
	var trees []any
	var info []int64
	for i, t := range m.trees {
		n := len(t.left)
		splitType := make([]int64, n)
		var catNodes, catSegs, catSizes, cats []int64
		nodes := make([]int, 0, len(t.categories))
		for nid := range t.categories {
			nodes = append(nodes, nid)
		}
		sort.Ints(nodes)
		for _, nid := range nodes {
			splitType[nid] = 1
			catNodes = append(catNodes, int64(nid))
			catSegs = append(catSegs, int64(len(cats)))
			catSizes = append(catSizes, int64(len(t.categories[nid])))
			for _, c := range t.categories[nid] {
				cats = append(cats, int64(c))
			}
		}
		dl := make([]int64, n)
		for j, b := range t.defaultLeft {
			if b {
				dl[j] = 1
			}
		}
		trees = append(trees, map[string]any{
			"id":                  int64(i),
			"tree_param":          map[string]any{"num_nodes": strconv.Itoa(n), "num_feature": strconv.Itoa(m.numFeature), "size_leaf_vector": "0", "num_deleted": "0"},
			"left_children":       toInt64s(t.left),
			"right_children":      toInt64s(t.right),
			"parents":             make([]int64, n),
			"split_indices":       toInt64s(t.feature),
			"split_conditions":    slices.Clone(t.cond),
			"split_type":          splitType,
			"default_left":        dl,
			"base_weights":        make([]float32, n),
			"loss_changes":        make([]float32, n),
			"sum_hessian":         make([]float32, n),
			"categories":          orEmpty(cats),
			"categories_nodes":    orEmpty(catNodes),
			"categories_segments": orEmpty(catSegs),
			"categories_sizes":    orEmpty(catSizes),
		})
		info = append(info, int64(t.group))
	}
	gbModel["trees"] = orEmptyAny(trees)
	gbModel["tree_info"] = orEmpty(info)
	gbModel["gbtree_model_param"] = map[string]any{"num_trees": strconv.Itoa(len(m.trees)), "num_parallel_tree": "1", "size_leaf_vector": "0"}
	var gb map[string]any
	switch m.boosterName() {
	case "gbtree":
		gb = map[string]any{"name": "gbtree", "model": gbModel}
	case "dart":
		gb = map[string]any{"name": "dart", "gbtree": map[string]any{"name": "gbtree", "model": gbModel}, "weight_drop": slices.Clone(m.weightDrop)}
	case "gblinear":
		gb = map[string]any{"name": "gblinear", "model": map[string]any{"weights": slices.Clone(m.linear)}}
	default:
		gb = map[string]any{"name": m.booster}
	}
	return map[string]any{
		"version": []any{int64(1), int64(7), int64(4)},
		"learner": map[string]any{
			"attributes":    map[string]any{"best_iteration": "0"},
			"feature_names": []any{},
			"feature_types": []any{},
			"learner_model_param": map[string]any{
				"base_score":  strconv.FormatFloat(float64(m.baseScore), 'E', -1, 32),
				"num_class":   strconv.Itoa(m.numClass),
				"num_feature": strconv.Itoa(m.numFeature),
				"num_target":  "1",
			},
			"objective":        map[string]any{"name": m.objective},
			"gradient_booster": gb,
		},
	}
}

func toInt64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

func orEmpty(v []int64) []int64 {
	if v == nil {
		return []int64{}
	}
	return v
}

func orEmptyAny(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func (m testModel) json() []byte {
	var b bytes.Buffer
	writeJSON(&b, m.document())
	return b.Bytes()
}

func (m testModel) ubjson() []byte {
	var b bytes.Buffer
	writeUBJSON(&b, m.document())
	return b.Bytes()
}

// writeJSON writes a document as XGBoost does: float32 in shortest form,
// NaN and Infinity as bare words.
func writeJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			writeJSON(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case []int64:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatInt(e, 10))
		}
		b.WriteByte(']')
	case []float32:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case float32:
		switch {
		case x != x:
			b.WriteString("NaN")
		case math.IsInf(float64(x), 1):
			b.WriteString("Infinity")
		case math.IsInf(float64(x), -1):
			b.WriteString("-Infinity")
		default:
			b.WriteString(strconv.FormatFloat(float64(x), 'E', -1, 32))
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case string:
		b.WriteString(strconv.Quote(x))
	default:
		panic(fmt.Sprintf("writeJSON: %T", v))
	}
}

// writeUBJSON writes a document as XGBoost's UBJWriter does: keys and
// strings with an int64 length, typed arrays for numbers.
func writeUBJSON(b *bytes.Buffer, v any) {
	length := func(n int) {
		b.WriteByte('L')
		binary.Write(b, binary.BigEndian, int64(n))
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for _, k := range keys {
			length(len(k))
			b.WriteString(k)
			writeUBJSON(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteString("[#")
		length(len(x))
		for _, e := range x {
			writeUBJSON(b, e)
		}
	case []int64:
		b.WriteString("[$L#")
		length(len(x))
		for _, e := range x {
			binary.Write(b, binary.BigEndian, e)
		}
	case []float32:
		b.WriteString("[$d#")
		length(len(x))
		for _, e := range x {
			binary.Write(b, binary.BigEndian, e)
		}
	case float32:
		b.WriteByte('d')
		binary.Write(b, binary.BigEndian, x)
	case int64:
		b.WriteByte('L')
		binary.Write(b, binary.BigEndian, x)
	case string:
		b.WriteByte('S')
		length(len(x))
		b.WriteString(x)
	default:
		panic(fmt.Sprintf("writeUBJSON: %T", v))
	}
}

// binary encodes the model in the legacy binary format. major is the
// XGBoost major version to record: 0 means a model written before 1.0, whose
// base_score is stored in margin space, given here as baseScore as is.
func (m testModel) binary(major uint32) []byte {
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	str := func(s string) {
		le(uint64(len(s)))
		b.WriteString(s)
	}
	if major >= 1 {
		b.WriteString("binf")
	}
	param := make([]byte, learnerParamSize)
	binary.LittleEndian.PutUint32(param[0:], math.Float32bits(m.baseScore))
	binary.LittleEndian.PutUint32(param[4:], uint32(m.numFeature))
	binary.LittleEndian.PutUint32(param[8:], uint32(m.numClass))
	binary.LittleEndian.PutUint32(param[12:], 1) // contain_extra_attrs
	binary.LittleEndian.PutUint32(param[20:], major)
	if major >= 1 {
		binary.LittleEndian.PutUint32(param[28:], 1) // num_target
	}
	b.Write(param)
	str(m.objective)
	str(m.boosterName())
	switch m.boosterName() {
	case "gbtree", "dart":
		gp := make([]byte, gbtreeParamSize)
		binary.LittleEndian.PutUint32(gp[0:], uint32(len(m.trees)))
		binary.LittleEndian.PutUint32(gp[4:], 1)
		b.Write(gp)
		for _, t := range m.trees {
			tp := make([]byte, treeParamSize)
			binary.LittleEndian.PutUint32(tp[4:], uint32(len(t.left)))
			binary.LittleEndian.PutUint32(tp[16:], uint32(m.numFeature))
			b.Write(tp)
			for i := range t.left {
				s := uint32(t.feature[i])
				if t.defaultLeft[i] {
					s |= 1 << 31
				}
				le([]int32{-1, int32(t.left[i]), int32(t.right[i])})
				le(s)
				le(t.cond[i])
			}
			b.Write(make([]byte, nodeStatSize*len(t.left)))
		}
		for _, t := range m.trees {
			le(int32(t.group))
		}
		if m.boosterName() == "dart" && len(m.trees) > 0 {
			le(uint64(len(m.weightDrop)))
			le(m.weightDrop)
		}
	case "gblinear":
		b.Write(make([]byte, linearParamSize))
		le(uint64(len(m.linear)))
		le(m.linear)
	}
	le(uint64(1)) // one attribute
	str("best_iteration")
	str("0")
	return b.Bytes()
}

// nan is a float32 NaN for test rows.
var nan = float32(math.NaN())

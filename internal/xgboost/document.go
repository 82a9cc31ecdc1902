package xgboost

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// loadJSON decodes a model saved as JSON.
func loadJSON(data []byte) (*Model, error) {
	doc, err := parseJSON(data)
	if err != nil {
		return nil, fmt.Errorf("JSON model: %w", err)
	}
	return loadDocument(doc, FormatJSON)
}

// loadUBJSON decodes a model saved as UBJSON.
func loadUBJSON(data []byte) (*Model, error) {
	doc, err := parseUBJSON(data)
	if err != nil {
		return nil, fmt.Errorf("UBJSON model: %w", err)
	}
	return loadDocument(doc, FormatUBJSON)
}

func loadDocument(doc any, f Format) (*Model, error) {
	raw, err := decodeDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("%s model: %w", f, err)
	}
	raw.format = f
	m, err := raw.build()
	if err != nil {
		return nil, fmt.Errorf("%s model: %w", f, err)
	}
	return m, nil
}

// decodeDocument reads XGBoost's model schema (doc/model.schema in XGBoost),
// from 1.0 to 2.x, out of a decoded JSON or UBJSON document. A serialised
// Booster ({"Model": ..., "Config": ...}, what a pickle of one carries since
// XGBoost 1.6) is read through its Model part.
func decodeDocument(doc any) (*rawModel, error) {
	root, err := asObject(doc, "document")
	if err != nil {
		return nil, err
	}
	if snap, ok := root["Model"]; ok {
		if root, err = asObject(snap, "Model"); err != nil {
			return nil, err
		}
	}
	learner, err := field[map[string]any](root, "learner")
	if err != nil {
		return nil, err
	}
	lmp, err := field[map[string]any](learner, "learner_model_param")
	if err != nil {
		return nil, err
	}
	m := &rawModel{numTarget: 1}
	if m.baseScore, err = baseScore(lmp["base_score"]); err != nil {
		return nil, err
	}
	if m.numFeature, err = intField(lmp, "num_feature", 0); err != nil {
		return nil, err
	}
	if m.numClass, err = intField(lmp, "num_class", 0); err != nil {
		return nil, err
	}
	if m.numTarget, err = intField(lmp, "num_target", 1); err != nil {
		return nil, err
	}
	objective, err := field[map[string]any](learner, "objective")
	if err != nil {
		return nil, err
	}
	if m.objective, err = field[string](objective, "name"); err != nil {
		return nil, err
	}
	if attrs, ok := learner["attributes"].(map[string]any); ok {
		m.attrs = make(map[string]string, len(attrs))
		for k, v := range attrs {
			if s, ok := v.(string); ok {
				m.attrs[k] = s
			}
		}
	}
	gb, err := field[map[string]any](learner, "gradient_booster")
	if err != nil {
		return nil, err
	}
	if m.booster, err = field[string](gb, "name"); err != nil {
		return nil, err
	}
	switch m.booster {
	case "gbtree":
		err = decodeGBTree(gb, m)
	case "dart":
		var inner map[string]any
		if inner, err = field[map[string]any](gb, "gbtree"); err != nil {
			return nil, err
		}
		if err = decodeGBTree(inner, m); err != nil {
			return nil, err
		}
		m.weightDrop, err = floats(gb["weight_drop"], "weight_drop")
	case "gblinear":
		var model map[string]any
		if model, err = field[map[string]any](gb, "model"); err != nil {
			return nil, err
		}
		m.linear, err = floats(model["weights"], "weights")
	default:
		err = fmt.Errorf("booster %q: %w", m.booster, ErrUnsupported)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func decodeGBTree(gb map[string]any, m *rawModel) error {
	model, err := field[map[string]any](gb, "model")
	if err != nil {
		return err
	}
	trees, err := field[[]any](model, "trees")
	if err != nil {
		return err
	}
	if m.treeInfo, err = ints(model["tree_info"], "tree_info"); err != nil {
		return err
	}
	m.trees = make([]rawTree, len(trees))
	for i, t := range trees {
		obj, err := asObject(t, "tree")
		if err != nil {
			return fmt.Errorf("tree %d: %w", i, err)
		}
		if err := decodeTree(obj, &m.trees[i]); err != nil {
			return fmt.Errorf("tree %d: %w", i, err)
		}
	}
	return nil
}

func decodeTree(obj map[string]any, t *rawTree) error {
	if param, ok := obj["tree_param"].(map[string]any); ok {
		sz, err := intField(param, "size_leaf_vector", 0)
		if err != nil {
			return err
		}
		if sz > 1 {
			return fmt.Errorf("vector leaves (size_leaf_vector %d): %w", sz, ErrUnsupported)
		}
	}
	var err error
	if t.left, err = ints(obj["left_children"], "left_children"); err != nil {
		return err
	}
	if t.right, err = ints(obj["right_children"], "right_children"); err != nil {
		return err
	}
	if t.feature, err = ints(obj["split_indices"], "split_indices"); err != nil {
		return err
	}
	// A leaf's value is its split_conditions entry.
	if t.value, err = floats(obj["split_conditions"], "split_conditions"); err != nil {
		return err
	}
	dl, err := ints(obj["default_left"], "default_left")
	if err != nil {
		return err
	}
	t.defaultLeft = make([]bool, len(dl))
	for i, v := range dl {
		t.defaultLeft[i] = v != 0
	}
	if st, ok := obj["split_type"]; ok { // absent before XGBoost 1.5
		types, err := ints(st, "split_type")
		if err != nil {
			return err
		}
		for i, v := range types {
			if v != 0 {
				if t.categorical == nil {
					t.categorical = make([]bool, len(types))
				}
				t.categorical[i] = true
			}
		}
	}
	if t.categorical != nil {
		return decodeCategories(obj, t)
	}
	return nil
}

// decodeCategories reads the categories each categorical split sends right:
// categories_nodes[i] is a node, whose categories are
// categories[categories_segments[i]:][:categories_sizes[i]].
func decodeCategories(obj map[string]any, t *rawTree) error {
	nodes, err := ints(obj["categories_nodes"], "categories_nodes")
	if err != nil {
		return err
	}
	segs, err := ints(obj["categories_segments"], "categories_segments")
	if err != nil {
		return err
	}
	sizes, err := ints(obj["categories_sizes"], "categories_sizes")
	if err != nil {
		return err
	}
	cats, err := ints(obj["categories"], "categories")
	if err != nil {
		return err
	}
	if len(segs) != len(nodes) || len(sizes) != len(nodes) {
		return fmt.Errorf("categories_nodes, _segments and _sizes differ in length: %w", ErrMalformed)
	}
	t.categories = make(map[int64][]int64, len(nodes))
	for i, nid := range nodes {
		beg, n := segs[i], sizes[i]
		if beg < 0 || n < 0 || beg > int64(len(cats)) || n > int64(len(cats))-beg {
			return fmt.Errorf("categories of node %d out of range: %w", nid, ErrMalformed)
		}
		t.categories[nid] = cats[beg : beg+n]
	}
	return nil
}

// baseScore parses learner_model_param.base_score: a string ("5E-1"), or,
// from XGBoost 3, a string holding a one-element list ("[5E-1]").
func baseScore(v any) (float32, error) {
	switch s := v.(type) {
	case string:
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
			inner := strings.Split(strings.Trim(s, "[]"), ",")
			if len(inner) != 1 {
				return 0, fmt.Errorf("base_score %q: one value per output: %w", s, ErrUnsupported)
			}
			s = strings.TrimSpace(inner[0])
		}
		f, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return 0, fmt.Errorf("base_score %q: %w", s, ErrMalformed)
		}
		return float32(f), nil
	case nil:
		return 0, fmt.Errorf("base_score missing: %w", ErrMalformed)
	}
	return float1(v, "base_score")
}

// field returns obj[key] as a T.
func field[T any](obj map[string]any, key string) (T, error) {
	v, ok := obj[key].(T)
	if !ok {
		var zero T
		if _, present := obj[key]; !present {
			return zero, fmt.Errorf("%s missing: %w", key, ErrMalformed)
		}
		return zero, fmt.Errorf("%s: unexpected %T: %w", key, obj[key], ErrMalformed)
	}
	return v, nil
}

func asObject(v any, what string) (map[string]any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: object expected, got %T: %w", what, v, ErrMalformed)
	}
	return obj, nil
}

// intField reads an integer XGBoost stores as a string ("30") or a number;
// def is used when the key is absent.
func intField(obj map[string]any, key string, def int64) (int64, error) {
	v, ok := obj[key]
	if !ok {
		return def, nil
	}
	if s, ok := v.(string); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s %q: %w", key, s, ErrMalformed)
		}
		return n, nil
	}
	return int1(v, key)
}

func int1(v any, what string) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case jsonNumber:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), nil
		}
	case float32:
		if f := float64(x); f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), nil
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), nil
		}
	}
	return 0, fmt.Errorf("%s: integer expected, got %v: %w", what, v, ErrMalformed)
}

func float1(v any, what string) (float32, error) {
	switch x := v.(type) {
	case float32:
		return x, nil
	case float64:
		return float32(x), nil
	case int64:
		return float32(x), nil
	case jsonNumber:
		// Straight to float32: the text is the shortest that round-trips the
		// stored float32, and going through float64 could round twice.
		f, err := strconv.ParseFloat(string(x), 32)
		if err == nil || isRangeError(err) {
			return float32(f), nil
		}
	}
	return 0, fmt.Errorf("%s: number expected, got %v: %w", what, v, ErrMalformed)
}

// convertEach converts every element of a decoded list with conv.
func convertEach[S ~[]E, E, T any](x S, what string, conv func(any, string) (T, error)) ([]T, error) {
	out := make([]T, len(x))
	for i, e := range x {
		v, err := conv(e, what)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// ints reads a list of integers: a JSON list or a UBJSON typed array.
func ints(v any, what string) ([]int64, error) {
	switch x := v.(type) {
	case []int64:
		return x, nil
	case jsonNumbers:
		return convertEach(x, what, int1)
	case []any:
		return convertEach(x, what, int1)
	case nil:
		return nil, fmt.Errorf("%s missing: %w", what, ErrMalformed)
	}
	return nil, fmt.Errorf("%s: list expected, got %T: %w", what, v, ErrMalformed)
}

// floats reads a list of numbers as float32.
func floats(v any, what string) ([]float32, error) {
	switch x := v.(type) {
	case []float32:
		return x, nil
	case []float64:
		out := make([]float32, len(x))
		for i, f := range x {
			out[i] = float32(f)
		}
		return out, nil
	case []int64:
		out := make([]float32, len(x))
		for i, n := range x {
			out[i] = float32(n)
		}
		return out, nil
	case jsonNumbers:
		return convertEach(x, what, float1)
	case []any:
		return convertEach(x, what, float1)
	case nil:
		return nil, fmt.Errorf("%s missing: %w", what, ErrMalformed)
	}
	return nil, fmt.Errorf("%s: list expected, got %T: %w", what, v, ErrMalformed)
}

package xgboost

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// rawModel is a decoded model before validation, whatever format it came from.
type rawModel struct {
	format     Format
	objective  string
	booster    string
	numFeature int64
	numClass   int64
	numTarget  int64
	baseScore  float32
	// marginBase marks a model written before XGBoost 1.0, which stored
	// base_score after the objective's link; XGBoost maps it back through the
	// output transform when loading (except for multi-class objectives).
	marginBase bool

	trees      []rawTree
	treeInfo   []int64
	weightDrop []float32 // dart
	linear     []float32 // gblinear
	attrs      map[string]string
}

// rawTree holds one tree as parallel per-node arrays.
type rawTree struct {
	left, right []int64
	feature     []int64
	value       []float32 // split condition, or leaf value
	defaultLeft []bool
	categorical []bool            // nil: no categorical splits
	categories  map[int64][]int64 // node → categories that go right
}

// treeArena hands out a model's per-node arrays from one allocation of
// each kind, so that decoding a model of many trees allocates a handful of
// times rather than five times a tree. A tree that does not fit what is
// left gets arrays of its own.
type treeArena struct {
	i64 []int64 // left, right and feature of each node
	f32 []float32
	b   []bool
}

func newTreeArena(nodes int) treeArena {
	return treeArena{i64: make([]int64, 3*nodes), f32: make([]float32, nodes), b: make([]bool, nodes)}
}

// take sets t's left, right, feature, value and defaultLeft to n zeroed
// elements each.
func (a *treeArena) take(t *rawTree, n int) {
	if n > len(a.f32) {
		t.left, t.right, t.feature = make([]int64, n), make([]int64, n), make([]int64, n)
		t.value, t.defaultLeft = make([]float32, n), make([]bool, n)
		return
	}
	t.left, t.right, t.feature = a.i64[:n:n], a.i64[n:2*n:2*n], a.i64[2*n:3*n:3*n]
	t.value, t.defaultLeft = a.f32[:n:n], a.b[:n:n]
	a.i64, a.f32, a.b = a.i64[3*n:], a.f32[n:], a.b[n:]
}

// maxFeatures bounds feature counts and indices as XGBoost's 31-bit split
// index does.
const maxFeatures = 1<<31 - 1

func (r *rawModel) build() (*Model, error) {
	obj, err := lookupObjective(r.objective)
	if err != nil {
		return nil, err
	}
	if r.numFeature < 0 || r.numFeature > maxFeatures {
		return nil, fmt.Errorf("num_feature %d: %w", r.numFeature, ErrMalformed)
	}
	if r.numClass < 0 || r.numClass > 1<<24 || r.numTarget < 0 || r.numTarget > 1<<24 {
		return nil, fmt.Errorf("num_class %d, num_target %d: %w", r.numClass, r.numTarget, ErrMalformed)
	}
	m := &Model{
		obj:        obj,
		booster:    r.booster,
		numFeature: int(r.numFeature),
		numClass:   int(r.numClass),
		numGroup:   int(max(r.numClass, r.numTarget, 1)),
		baseScore:  r.baseScore,
		format:     r.format,
		attrs:      r.attrs,
	}
	if r.marginBase && !strings.HasPrefix(r.objective, "multi:") {
		m.baseScore = obj.scalar(r.baseScore)
	}
	if m.baseMargin, err = obj.margin(m.baseScore); err != nil {
		return nil, err
	}
	switch r.booster {
	case "gbtree", "dart":
		if err := m.addTrees(r); err != nil {
			return nil, err
		}
	case "gblinear":
		want := (int64(m.numFeature) + 1) * int64(m.numGroup)
		if int64(len(r.linear)) != want {
			return nil, fmt.Errorf("gblinear: %d weights for %d features and %d groups: %w",
				len(r.linear), m.numFeature, m.numGroup, ErrMalformed)
		}
		m.linear = r.linear
	default:
		return nil, fmt.Errorf("booster %q: %w", r.booster, ErrUnsupported)
	}
	return m, nil
}

func (m *Model) addTrees(r *rawModel) error {
	// Every boosting round adds a tree per output group, so a model with
	// trees has at least as many as groups; refusing more groups bounds what
	// Predict allocates per row by the model's own size.
	if m.numGroup > max(len(r.trees), 1024) {
		return fmt.Errorf("%d output groups but %d trees: %w", m.numGroup, len(r.trees), ErrMalformed)
	}
	if len(r.treeInfo) != len(r.trees) {
		return fmt.Errorf("%d trees but tree_info has %d entries: %w", len(r.trees), len(r.treeInfo), ErrMalformed)
	}
	if r.booster == "dart" {
		if len(r.weightDrop) != len(r.trees) {
			return fmt.Errorf("dart: %d trees but %d weights: %w", len(r.trees), len(r.weightDrop), ErrMalformed)
		}
		m.weights = r.weightDrop
	}
	total := 0
	for _, t := range r.trees {
		total += len(t.left)
	}
	if total > math.MaxInt32 {
		return fmt.Errorf("%d nodes: %w", total, ErrMalformed)
	}
	m.nodes = make([]node, 0, total)
	m.roots = make([]int32, len(r.trees))
	m.treeGroup = make([]int32, len(r.trees))
	var w treeWalk
	for i := range r.trees {
		g := r.treeInfo[i]
		if g < 0 || g >= int64(m.numGroup) {
			return fmt.Errorf("tree %d: output group %d of %d: %w", i, g, m.numGroup, ErrMalformed)
		}
		m.treeGroup[i] = int32(g)
		m.roots[i] = int32(len(m.nodes))
		if err := m.addTree(&r.trees[i], &w); err != nil {
			return fmt.Errorf("tree %d: %w", i, err)
		}
	}
	return nil
}

// addTree validates one tree and appends its nodes. It walks the tree from
// the root and refuses a child out of range or a node reached twice, so that
// prediction always ends at a leaf. Nodes the walk does not reach (deleted
// ones) are kept as inert leaves so that indices stay as stored. w is
// scratch space, reused from tree to tree.
func (m *Model) addTree(t *rawTree, w *treeWalk) error {
	n := len(t.left)
	if n == 0 {
		return fmt.Errorf("no nodes: %w", ErrMalformed)
	}
	if len(t.right) != n || len(t.feature) != n || len(t.value) != n || len(t.defaultLeft) != n ||
		(t.categorical != nil && len(t.categorical) != n) {
		return fmt.Errorf("per-node arrays of different lengths: %w", ErrMalformed)
	}
	base := int32(len(m.nodes))
	m.nodes = m.nodes[:len(m.nodes)+n]
	nodes := m.nodes[base:]
	for i := range nodes {
		nodes[i] = node{left: -1, right: -1, value: t.value[i]}
	}
	if t.categorical != nil && m.catStart == nil {
		// The first tree with categorical splits: mark every node so far numeric.
		m.catStart = make([]int32, int(base), cap(m.nodes))
		m.catEnd = make([]int32, int(base), cap(m.nodes))
		for i := range m.catStart {
			m.catStart[i] = noCategories
		}
	}
	if m.catStart != nil {
		for range n {
			m.catStart = append(m.catStart, noCategories)
			m.catEnd = append(m.catEnd, noCategories)
		}
	}
	seen := w.reset(n)
	seen[0] = true
	stack := append(w.stack[:0], 0)
	defer func() { w.stack = stack }()
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		l, r := t.left[i], t.right[i]
		if l == -1 {
			continue // leaf
		}
		if l < 0 || l >= int64(n) || r < 0 || r >= int64(n) {
			return fmt.Errorf("node %d: children %d, %d of %d nodes: %w", i, l, r, n, ErrMalformed)
		}
		if l == r || seen[l] || seen[r] {
			return fmt.Errorf("node %d: a child is reached twice: %w", i, ErrMalformed)
		}
		seen[l], seen[r] = true, true
		stack = append(stack, int(l), int(r))
		f := t.feature[i]
		if f < 0 || f > featureMask {
			return fmt.Errorf("node %d: split feature %d: %w", i, f, ErrMalformed)
		}
		nd := &nodes[i]
		nd.left, nd.right, nd.split = base+int32(l), base+int32(r), uint32(f)
		if t.defaultLeft[i] {
			nd.split |= defaultLeft
		}
		if t.categorical != nil && t.categorical[i] {
			set, err := categorySet(t.categories[int64(i)])
			if err != nil {
				return fmt.Errorf("node %d: %w", i, err)
			}
			m.catStart[base+int32(i)] = int32(len(m.cats))
			m.cats = append(m.cats, set...)
			m.catEnd[base+int32(i)] = int32(len(m.cats))
		}
	}
	return nil
}

// treeWalk is addTree's scratch space: which nodes the walk has reached,
// and the nodes still to visit.
type treeWalk struct {
	seen  []bool
	stack []int
}

// reset returns n cleared seen flags.
func (w *treeWalk) reset(n int) []bool {
	if cap(w.seen) < n {
		w.seen = make([]bool, n)
	}
	w.seen = w.seen[:n]
	clear(w.seen)
	return w.seen
}

// maxCategory is XGBoost's bound on category values (2^24, the largest
// integer a float32 holds exactly); larger or negative inputs are not
// categories and go left.
const maxCategory = 1 << 24

func categorySet(cats []int64) ([]int32, error) {
	set := make([]int32, 0, len(cats))
	for _, c := range cats {
		if c < 0 || c >= maxCategory {
			return nil, fmt.Errorf("category %d: %w", c, ErrMalformed)
		}
		set = append(set, int32(c))
	}
	slices.Sort(set)
	return slices.Compact(set), nil
}

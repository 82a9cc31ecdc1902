package xgboost

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Sizes of the fixed structs of XGBoost's legacy binary format (little endian,
// written as C structs by XGBoost 0.x and 1.x).
const (
	learnerParamSize = 136 // LearnerModelParamLegacy
	gbtreeParamSize  = 160 // GBTreeModelParam
	treeParamSize    = 148 // TreeParam
	nodeSize         = 20  // RegTree::Node
	nodeStatSize     = 16  // RTreeNodeStat
	linearParamSize  = 136 // GBLinearModelParam
)

// reader reads little-endian values, refusing any length past the end of its
// input before allocating for it.
type reader struct {
	b   []byte
	off int
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) next(n int) ([]byte, error) {
	if n < 0 || n > r.remaining() {
		return nil, fmt.Errorf("%d bytes wanted at offset %d, %d left: %w", n, r.off, r.remaining(), ErrMalformed)
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p, nil
}

func (r *reader) u32() (uint32, error) {
	p, err := r.next(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p), nil
}

func (r *reader) i64() (int64, error) {
	p, err := r.next(8)
	if err != nil {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint64(p)), nil
}

// count reads a uint64 element count and checks that count elements of size
// bytes each fit in what is left.
func (r *reader) count(size int) (int, error) {
	n, err := r.i64()
	if err != nil {
		return 0, err
	}
	if n < 0 || n > int64(r.remaining()/size) {
		return 0, fmt.Errorf("count %d at offset %d exceeds the input: %w", n, r.off-8, ErrMalformed)
	}
	return int(n), nil
}

// str reads a dmlc string: a uint64 length and the bytes.
func (r *reader) str() (string, error) {
	n, err := r.count(1)
	if err != nil {
		return "", err
	}
	p, _ := r.next(n)
	return string(p), nil
}

// f32s reads a dmlc vector of float: a uint64 count and the values.
func (r *reader) f32s() ([]float32, error) {
	n, err := r.count(4)
	if err != nil {
		return nil, err
	}
	p, _ := r.next(4 * n)
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	return v, nil
}

func le32(p []byte, off int) uint32 { return binary.LittleEndian.Uint32(p[off:]) }

// loadBinary decodes the legacy binary format (after any "binf" header).
func loadBinary(data []byte) (*Model, error) {
	m, err := decodeBinary(data)
	if err != nil {
		return nil, fmt.Errorf("legacy binary model: %w", err)
	}
	model, err := m.build()
	if err != nil {
		return nil, fmt.Errorf("legacy binary model: %w", err)
	}
	return model, nil
}

func decodeBinary(data []byte) (*rawModel, error) {
	r := &reader{b: data}
	p, err := r.next(learnerParamSize)
	if err != nil {
		return nil, fmt.Errorf("learner parameters: %w", err)
	}
	m := &rawModel{
		format:     FormatBinary,
		baseScore:  math.Float32frombits(le32(p, 0)),
		numFeature: int64(le32(p, 4)),
		numClass:   int64(int32(le32(p, 8))),
		numTarget:  int64(le32(p, 28)),
	}
	hasAttrs := le32(p, 12) != 0
	m.marginBase = le32(p, 20) < 1 // major_version: 0 before XGBoost 1.0
	if m.numTarget > 1<<24 {
		return nil, fmt.Errorf("num_target %d: %w", m.numTarget, ErrMalformed)
	}
	if m.objective, err = r.str(); err != nil {
		return nil, fmt.Errorf("objective: %w", err)
	}
	if m.booster, err = r.str(); err != nil {
		return nil, fmt.Errorf("booster: %w", err)
	}
	switch m.booster {
	case "gbtree", "dart":
		if err := decodeBinaryTrees(r, m); err != nil {
			return nil, err
		}
		if m.booster == "dart" && len(m.trees) > 0 {
			if m.weightDrop, err = r.f32s(); err != nil {
				return nil, fmt.Errorf("dart weights: %w", err)
			}
		}
	case "gblinear":
		if _, err := r.next(linearParamSize); err != nil {
			return nil, fmt.Errorf("gblinear parameters: %w", err)
		}
		if m.linear, err = r.f32s(); err != nil {
			return nil, fmt.Errorf("gblinear weights: %w", err)
		}
	default:
		return nil, fmt.Errorf("booster %q: %w", m.booster, ErrUnsupported)
	}
	if hasAttrs {
		n, err := r.count(16) // each pair is at least two lengths
		if err != nil {
			return nil, fmt.Errorf("attributes: %w", err)
		}
		m.attrs = make(map[string]string, n)
		for range n {
			k, err := r.str()
			if err != nil {
				return nil, fmt.Errorf("attributes: %w", err)
			}
			v, err := r.str()
			if err != nil {
				return nil, fmt.Errorf("attributes: %w", err)
			}
			m.attrs[k] = v
		}
	}
	// Anything after (an old count:poisson max_delta_step, eval metric names)
	// does not affect prediction; XGBoost reads it only for training.
	return m, nil
}

func decodeBinaryTrees(r *reader, m *rawModel) error {
	p, err := r.next(gbtreeParamSize)
	if err != nil {
		return fmt.Errorf("gbtree parameters: %w", err)
	}
	numTrees := int64(int32(le32(p, 0)))
	if sz := int32(le32(p, 28)); sz > 1 {
		return fmt.Errorf("vector leaves (size_leaf_vector %d): %w", sz, ErrUnsupported)
	}
	minTree := int64(treeParamSize + nodeSize + nodeStatSize + 4)
	if numTrees < 0 || numTrees > int64(r.remaining())/minTree {
		return fmt.Errorf("%d trees do not fit in the input: %w", numTrees, ErrMalformed)
	}
	m.trees = make([]rawTree, numTrees)
	arena := newTreeArena(binaryNodeCount(*r, numTrees))
	for i := range m.trees {
		if err := decodeBinaryTree(r, &m.trees[i], &arena); err != nil {
			return fmt.Errorf("tree %d: %w", i, err)
		}
	}
	p, err = r.next(4 * int(numTrees))
	if err != nil {
		return fmt.Errorf("tree_info: %w", err)
	}
	m.treeInfo = make([]int64, numTrees)
	for i := range m.treeInfo {
		m.treeInfo[i] = int64(int32(le32(p, 4*i)))
	}
	return nil
}

// nodesFit reports whether a tree of n nodes (and their statistics) fits
// in what r has left.
func nodesFit(n int64, r *reader) bool {
	return n > 0 && n <= int64(r.remaining())/(nodeSize+nodeStatSize)
}

// binaryNodeCount adds up the nodes of the numTrees trees that r (a copy)
// starts with, stopping at the first that does not fit: decodeBinaryTree
// reports what is wrong with it.
func binaryNodeCount(r reader, numTrees int64) int {
	total := 0
	for range numTrees {
		p, err := r.next(treeParamSize)
		if err != nil {
			break
		}
		n := int64(int32(le32(p, 4)))
		if !nodesFit(n, &r) {
			break
		}
		r.off += int(n) * (nodeSize + nodeStatSize)
		total += int(n)
	}
	return total
}

func decodeBinaryTree(r *reader, t *rawTree, a *treeArena) error {
	p, err := r.next(treeParamSize)
	if err != nil {
		return err
	}
	n := int64(int32(le32(p, 4)))
	if sz := int32(le32(p, 20)); sz > 1 {
		return fmt.Errorf("vector leaves (size_leaf_vector %d): %w", sz, ErrUnsupported)
	}
	if !nodesFit(n, r) {
		return fmt.Errorf("%d nodes do not fit in the input: %w", n, ErrMalformed)
	}
	nodes, _ := r.next(int(n) * nodeSize)
	if _, err := r.next(int(n) * nodeStatSize); err != nil { // statistics: training only
		return err
	}
	a.take(t, int(n))
	for i := range n {
		q := nodes[i*nodeSize:]
		// parent int32, cleft int32, cright int32, sindex uint32 (top bit:
		// default left), then the split condition or leaf value.
		t.left[i] = int64(int32(le32(q, 4)))
		t.right[i] = int64(int32(le32(q, 8)))
		s := le32(q, 12)
		t.feature[i] = int64(s & (1<<31 - 1))
		t.defaultLeft[i] = s>>31 != 0
		t.value[i] = math.Float32frombits(le32(q, 16))
	}
	return nil
}

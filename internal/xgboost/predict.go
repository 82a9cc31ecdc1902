package xgboost

import (
	"fmt"
	"math"
	"slices"
)

// Predict scores nrow rows of a dense row-major matrix (len(rows)/nrow
// columns, NaN for a missing value; columns past the end of a row are
// missing too). With margin false it returns NumOutputs values per row, the
// objective's transform applied; with margin true, NumGroups raw margins per
// row. Rows with more columns than the model has features are refused with a
// *FeatureCountError, as XGBoost refuses them.
func (m *Model) Predict(rows []float32, nrow int, margin bool) ([]float32, error) {
	return m.AppendPredict(nil, rows, nrow, margin)
}

// AppendPredict is Predict appending to dst, so that a caller scoring many
// requests can reuse one buffer and allocate nothing.
func (m *Model) AppendPredict(dst, rows []float32, nrow int, margin bool) ([]float32, error) {
	if nrow < 0 || (nrow == 0 && len(rows) != 0) || (nrow > 0 && len(rows)%nrow != 0) {
		return dst, fmt.Errorf("xgboost: %d values do not make %d rows", len(rows), nrow)
	}
	if nrow == 0 {
		return dst, nil
	}
	ncol := len(rows) / nrow
	if ncol > m.numFeature {
		return dst, &FeatureCountError{Got: ncol, Want: m.numFeature}
	}
	g := m.numGroup
	start := len(dst)
	dst = slices.Grow(dst, nrow*g)[:start+nrow*g]
	out := dst[start:]
	for r := 0; r < nrow; r += blockRows {
		n := min(blockRows, nrow-r)
		m.margins(rows[r*ncol:(r+n)*ncol], ncol, out[r*g:(r+n)*g])
	}
	if margin {
		return dst, nil
	}
	switch m.obj.transform {
	case transformIdentity:
	case transformSoftmax:
		for r := range nrow {
			softmax(out[r*g : (r+1)*g])
		}
	case transformArgmax:
		// One class index per row, compacted in place: row r's index goes
		// to out[r], which no later row reads.
		for r := range nrow {
			out[r] = float32(argmax(out[r*g : (r+1)*g]))
		}
		dst = dst[:start+nrow]
	default:
		for i, v := range out {
			out[i] = m.obj.scalar(v)
		}
	}
	return dst, nil
}

// blockRows is how many rows go through each tree together: the tree stays
// in the nearest cache while they do, as in XGBoost's own predictor.
const blockRows = 64

// margins writes the raw margins of a block of rows: the base margin plus
// every tree's leaf, accumulated in float32 in tree order as XGBoost's CPU
// predictor does.
func (m *Model) margins(rows []float32, ncol int, out []float32) {
	for i := range out {
		out[i] = m.baseMargin
	}
	g := m.numGroup
	if m.linear != nil {
		for r := range len(out) / g {
			m.linearMargins(rows[r*ncol:(r+1)*ncol], out[r*g:(r+1)*g])
		}
		return
	}
	cat := m.catStart != nil
	leaf := func(root int32, row []float32) float32 {
		if cat {
			return m.leafCategorical(root, row)
		}
		return m.leaf(root, row)
	}
	for t, root := range m.roots {
		grp := int(m.treeGroup[t])
		if m.weights != nil { // dart
			w := m.weights[t]
			for r, i := 0, grp; i < len(out); r, i = r+1, i+g {
				out[i] += float32(leaf(root, rows[r*ncol:(r+1)*ncol]) * w)
			}
			continue
		}
		for r, i := 0, grp; i < len(out); r, i = r+1, i+g {
			out[i] += leaf(root, rows[r*ncol:(r+1)*ncol])
		}
	}
}

// leaf walks one tree of numerical splits and returns the value of the leaf
// the row reaches.
func (m *Model) leaf(idx int32, row []float32) float32 {
	nodes := m.nodes
	for {
		n := &nodes[idx]
		if n.left < 0 {
			return n.value
		}
		f := n.split & featureMask
		switch {
		case int(f) >= len(row): // past the row's end: missing
		case row[f] < n.value:
			idx = n.left
			continue
		case row[f] >= n.value:
			idx = n.right
			continue
		}
		// Missing (NaN) values follow the default direction.
		if n.split&defaultLeft != 0 {
			idx = n.left
		} else {
			idx = n.right
		}
	}
}

// leafCategorical is leaf for models with categorical splits. A value in a
// categorical node's set goes right; any other value goes left, including
// ones that are not categories (negative, 2^24 or more), as in XGBoost 1.7;
// fractional values are truncated.
func (m *Model) leafCategorical(idx int32, row []float32) float32 {
	nodes := m.nodes
	for {
		n := &nodes[idx]
		if n.left < 0 {
			return n.value
		}
		f := n.split & featureMask
		v := float32(math.NaN())
		if int(f) < len(row) {
			v = row[f]
		}
		switch {
		case v != v:
			if n.split&defaultLeft != 0 {
				idx = n.left
			} else {
				idx = n.right
			}
		case m.catStart[idx] >= 0:
			set := m.cats[m.catStart[idx]:m.catEnd[idx]]
			idx = n.left
			if v >= 0 && v < maxCategory {
				if _, in := slices.BinarySearch(set, int32(v)); in {
					idx = n.right
				}
			}
		case v < n.value:
			idx = n.left
		default:
			idx = n.right
		}
	}
}

// linearMargins adds gblinear's bias and each present feature times its
// weight, in feature order and in float32, as XGBoost does.
func (m *Model) linearMargins(row, out []float32) {
	g := len(out)
	bias := m.linear[m.numFeature*g:]
	for k := range out {
		sum := bias[k] + out[k]
		for f, v := range row {
			if v != v {
				continue
			}
			sum += float32(v * m.linear[f*g+k])
		}
		out[k] = sum
	}
}

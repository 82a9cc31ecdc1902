package xgboost

import (
	"fmt"
	"math"
)

// link is how an objective turns the stored base_score into a margin
// (XGBoost's ObjFunction::ProbToMargin).
type link uint8

const (
	linkIdentity link = iota
	linkLogit         // -log(1/p - 1), logistic objectives
	linkLog           // log(p), objectives predicting through exp
)

// transform is the objective's output transform (ObjFunction::PredTransform).
type transform uint8

const (
	transformIdentity transform = iota
	transformSigmoid
	transformExp
	transformHinge   // 1 if margin > 0 else 0
	transformSoftmax // per-row softmax over the output groups
	transformArgmax  // index of the largest margin, one value per row
)

type objective struct {
	name      string // canonical name, as XGBoost reports it in its config
	link      link
	transform transform
}

// lookupObjective returns the objective a model names. Links and transforms
// were checked against XGBoost 1.7.4 (binary:logitraw, for one, keeps its
// base_score as is).
func lookupObjective(name string) (objective, error) {
	o := objective{name: name}
	switch name {
	case "reg:squarederror", "reg:squaredlogerror", "reg:pseudohubererror",
		"reg:absoluteerror", "reg:quantileerror", "binary:logitraw",
		"rank:pairwise", "rank:ndcg", "rank:map":
	case "reg:linear":
		o.name = "reg:squarederror" // deprecated alias; XGBoost reports the new name
	case "reg:logistic", "binary:logistic":
		o.link, o.transform = linkLogit, transformSigmoid
	case "binary:hinge":
		o.transform = transformHinge
	case "count:poisson", "reg:gamma", "reg:tweedie", "survival:cox", "survival:aft":
		o.link, o.transform = linkLog, transformExp
	case "multi:softprob":
		o.transform = transformSoftmax
	case "multi:softmax":
		o.transform = transformArgmax
	default:
		return objective{}, fmt.Errorf("objective %q: %w", name, ErrUnsupported)
	}
	return o, nil
}

// margin converts a base_score to margin space, in float32 as XGBoost does.
func (o objective) margin(baseScore float32) (float32, error) {
	switch o.link {
	case linkLogit:
		if !(baseScore > 0 && baseScore < 1) {
			return 0, fmt.Errorf("base_score must be in (0,1) for logistic loss, got %v: %w", baseScore, ErrMalformed)
		}
		return -logf(1/baseScore - 1), nil
	case linkLog:
		return logf(baseScore), nil
	}
	return baseScore, nil
}

// scalar applies a per-value transform; softmax and argmax work on whole rows.
func (o objective) scalar(x float32) float32 {
	switch o.transform {
	case transformSigmoid:
		return sigmoid(x)
	case transformExp:
		return expf(x)
	case transformHinge:
		if x > 0 {
			return 1
		}
		return 0
	}
	return x
}

func expf(x float32) float32 { return float32(math.Exp(float64(x))) }
func logf(x float32) float32 { return float32(math.Log(float64(x))) }

// sigmoid is XGBoost's common::Sigmoid: the exponent is clamped at 88.7 so the
// result underflows to a tiny positive number instead of dividing by +Inf.
func sigmoid(x float32) float32 {
	e := min(-x, 88.7)
	return 1 / (expf(e) + 1)
}

// softmax is XGBoost's common::Softmax: float32 exponentials of the shifted
// margins, summed in float64, divided in float32.
func softmax(row []float32) {
	wmax := row[0]
	for _, v := range row[1:] {
		wmax = fmaxf(v, wmax)
	}
	var wsum float64
	for i, v := range row {
		e := expf(v - wmax)
		row[i] = e
		wsum += float64(e)
	}
	s := float32(wsum)
	for i := range row {
		row[i] /= s
	}
}

// fmaxf follows C's fmaxf: a NaN operand yields the other one.
func fmaxf(a, b float32) float32 {
	switch {
	case a != a:
		return b
	case b != b:
		return a
	case a > b:
		return a
	}
	return b
}

// argmax returns the index of the first largest value, as XGBoost's
// FindMaxIndex does.
func argmax(row []float32) int {
	best := 0
	for i := 1; i < len(row); i++ {
		if row[i] > row[best] {
			best = i
		}
	}
	return best
}

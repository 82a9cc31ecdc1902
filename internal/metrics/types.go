package metrics

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dimension is one name/value pair that, with the namespace and metric
// name, identifies a metric.
type Dimension struct {
	Name  string
	Value string
}

// MetricID identifies a metric the way CloudWatch does: namespace, metric
// name and the set of dimensions. Dimensions are kept sorted by name.
type MetricID struct {
	Namespace  string
	Name       string
	Dimensions []Dimension
}

// NewMetricID returns the canonical identity of a metric: a copy of dims
// sorted by name (then value).
func NewMetricID(namespace, name string, dims []Dimension) MetricID {
	d := slices.Clone(dims)
	sortDimensions(d)
	return MetricID{Namespace: namespace, Name: name, Dimensions: d}
}

func sortDimensions(d []Dimension) {
	slices.SortFunc(d, func(a, b Dimension) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
}

// key returns an unambiguous string for the metric identity. Every part is
// length-prefixed, so no byte inside a name can make two identities collide.
func (m MetricID) key() string {
	var b strings.Builder
	writePart := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	writePart(m.Namespace)
	writePart(m.Name)
	for _, d := range m.Dimensions {
		writePart(d.Name)
		writePart(d.Value)
	}
	return b.String()
}

// dimsText is the canonical text form of the dimensions stored in SQLite.
func (m MetricID) dimsText() string {
	pairs := make([][2]string, len(m.Dimensions))
	for i, d := range m.Dimensions {
		pairs[i] = [2]string{d.Name, d.Value}
	}
	b, _ := json.Marshal(pairs) // a [][2]string always marshals
	return string(b)
}

func parseDimsText(s string) ([]Dimension, error) {
	var pairs [][2]string
	if err := json.Unmarshal([]byte(s), &pairs); err != nil {
		return nil, err
	}
	d := make([]Dimension, len(pairs))
	for i, p := range pairs {
		d[i] = Dimension{Name: p[0], Value: p[1]}
	}
	return d, nil
}

func compareMetricIDs(a, b MetricID) int {
	if c := cmp.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return slices.CompareFunc(a.Dimensions, b.Dimensions, func(x, y Dimension) int {
		if c := cmp.Compare(x.Name, y.Name); c != 0 {
			return c
		}
		return cmp.Compare(x.Value, y.Value)
	})
}

// Unit is a CloudWatch StandardUnit.
type Unit string

// The CloudWatch standard units.
const (
	UnitSeconds        Unit = "Seconds"
	UnitMicroseconds   Unit = "Microseconds"
	UnitMilliseconds   Unit = "Milliseconds"
	UnitBytes          Unit = "Bytes"
	UnitKilobytes      Unit = "Kilobytes"
	UnitMegabytes      Unit = "Megabytes"
	UnitGigabytes      Unit = "Gigabytes"
	UnitTerabytes      Unit = "Terabytes"
	UnitBits           Unit = "Bits"
	UnitKilobits       Unit = "Kilobits"
	UnitMegabits       Unit = "Megabits"
	UnitGigabits       Unit = "Gigabits"
	UnitTerabits       Unit = "Terabits"
	UnitPercent        Unit = "Percent"
	UnitCount          Unit = "Count"
	UnitBytesPerSecond Unit = "Bytes/Second"
	UnitKBPerSecond    Unit = "Kilobytes/Second"
	UnitMBPerSecond    Unit = "Megabytes/Second"
	UnitGBPerSecond    Unit = "Gigabytes/Second"
	UnitTBPerSecond    Unit = "Terabytes/Second"
	UnitBitsPerSecond  Unit = "Bits/Second"
	UnitKbitsPerSecond Unit = "Kilobits/Second"
	UnitMbitsPerSecond Unit = "Megabits/Second"
	UnitGbitsPerSecond Unit = "Gigabits/Second"
	UnitTbitsPerSecond Unit = "Terabits/Second"
	UnitCountPerSecond Unit = "Count/Second"
	UnitNone           Unit = "None"
)

// Valid reports whether u is one of the CloudWatch standard units.
func (u Unit) Valid() bool {
	switch u {
	case UnitSeconds, UnitMicroseconds, UnitMilliseconds, UnitBytes, UnitKilobytes,
		UnitMegabytes, UnitGigabytes, UnitTerabytes, UnitBits, UnitKilobits, UnitMegabits,
		UnitGigabits, UnitTerabits, UnitPercent, UnitCount, UnitBytesPerSecond,
		UnitKBPerSecond, UnitMBPerSecond, UnitGBPerSecond, UnitTBPerSecond,
		UnitBitsPerSecond, UnitKbitsPerSecond, UnitMbitsPerSecond, UnitGbitsPerSecond,
		UnitTbitsPerSecond, UnitCountPerSecond, UnitNone:
		return true
	}
	return false
}

// Statistic names a CloudWatch basic statistic.
type Statistic string

// The CloudWatch basic statistics.
const (
	SampleCount Statistic = "SampleCount"
	Average     Statistic = "Average"
	Sum         Statistic = "Sum"
	Minimum     Statistic = "Minimum"
	Maximum     Statistic = "Maximum"
)

// Valid reports whether s is one of the five basic statistics.
func (s Statistic) Valid() bool {
	switch s {
	case SampleCount, Average, Sum, Minimum, Maximum:
		return true
	}
	return false
}

// StatisticSet is a pre-aggregated set of observations, as in CloudWatch's
// PutMetricData StatisticValues.
type StatisticSet struct {
	SampleCount float64
	Sum         float64
	Minimum     float64
	Maximum     float64
}

// Datapoint is the aggregate of one metric, one unit, over one period.
type Datapoint struct {
	// Timestamp is the start of the period.
	Timestamp   time.Time
	Unit        Unit
	SampleCount float64
	Sum         float64
	Minimum     float64
	Maximum     float64
	// Percentiles holds one value per Query.Percentiles entry, in the same
	// order; NaN where a percentile is unavailable (negative values, or
	// statistic sets whose minimum and maximum differ).
	Percentiles []float64
}

// Average is Sum divided by SampleCount.
func (d Datapoint) Average() float64 {
	if d.SampleCount == 0 {
		return math.NaN()
	}
	return d.Sum / d.SampleCount
}

// Statistic returns the value of one basic statistic.
func (d Datapoint) Statistic(s Statistic) float64 {
	switch s {
	case SampleCount:
		return d.SampleCount
	case Average:
		return d.Average()
	case Sum:
		return d.Sum
	case Minimum:
		return d.Minimum
	case Maximum:
		return d.Maximum
	}
	return math.NaN()
}

// Clock tells the time. Tests use a fake; production uses the system clock.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// floorDiv divides rounding toward negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// floorTo rounds a down to a multiple of m.
func floorTo(a, m int64) int64 { return floorDiv(a, m) * m }

package xgbserve

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A payloadError is a payload that does not parse (answered with 400).
type payloadError struct {
	kind string // "csv" or "libsvm"
	msg  string
}

func (e *payloadError) Error() string {
	// The container's wording, the Python exception class included.
	return fmt.Sprintf("Loading %s data failed with Exception, please ensure data is in %s format:\n <class 'ValueError'>\n %s",
		e.kind, e.kind, e.msg)
}

// matrix is a dense row-major matrix; NaN marks a missing value.
type matrix struct {
	values     []float32
	nrow, ncol int
}

// isSpace reports Python's ASCII whitespace, what bytes.strip() removes.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// csvDelimiter picks the delimiter from the first line, as the container's
// csv.Sniffer call does for numeric data: a comma when there is one, else the
// first of tab, semicolon, pipe and space that appears.
func csvDelimiter(firstLine string) byte {
	for _, d := range []byte{',', '\t', ';', '|', ' '} {
		if strings.IndexByte(firstLine, d) >= 0 {
			return d
		}
	}
	return ','
}

// parseNumber parses a field the way Python's float() does for the forms a
// payload holds: surrounding whitespace, a sign, decimal digits, an exponent,
// inf, infinity and nan in any case.
func parseNumber(s string) (float64, bool) {
	s = trimSpace(s)
	if s == "" || strings.ContainsAny(s, "xX_pP") && !isSpecial(s) {
		return 0, false
	}
	if isSpecial(s) {
		t := strings.TrimLeft(s, "+-")
		if strings.EqualFold(t, "nan") {
			return math.NaN(), true
		}
		if s[0] == '-' {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return v, true // ±Inf or 0, as Python gives
		}
		return 0, false
	}
	return v, true
}

func isSpecial(s string) bool {
	t := strings.TrimLeft(s, "+-")
	if len(s)-len(t) > 1 {
		return false
	}
	return strings.EqualFold(t, "nan") || strings.EqualFold(t, "inf") || strings.EqualFold(t, "infinity")
}

// quoteField renders a field for an error message as Python's repr would,
// cut short.
func quoteField(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return "'" + s + "'"
}

// value converts a parsed field as the container's numpy array does on its
// way into XGBoost: float64, then float32. Infinity is refused, as XGBoost
// refuses it.
func value(s string) (float32, string) {
	v, ok := parseNumber(s)
	if !ok {
		return 0, "could not convert string to float: " + quoteField(s)
	}
	f := float32(v)
	if math.IsInf(float64(f), 0) {
		return 0, "Input data contains `inf` or a value too large for float32: " + quoteField(s)
	}
	return f, ""
}

// parseCSV reads a text/csv payload as the container does: the payload is
// stripped of surrounding whitespace and split into lines on "\n", each line
// into fields on the delimiter; an empty field is missing. Every row must
// have as many fields as the first. Fields are trimmed, so "\r\n" line ends
// and ", " separators read as expected.
func parseCSV(body string, dst []float32) (matrix, error) {
	s := trimSpace(body)
	if !utf8.ValidString(s) {
		return matrix{}, &payloadError{"csv", "payload is not valid UTF-8"}
	}
	first, _, _ := strings.Cut(s, "\n")
	sep := string([]byte{csvDelimiter(first)})
	m := matrix{values: dst[:0], ncol: strings.Count(first, sep) + 1}
	for {
		line, rest, more := strings.Cut(s, "\n")
		s = rest
		m.nrow++
		if n := strings.Count(line, sep) + 1; n != m.ncol {
			return matrix{}, &payloadError{"csv", fmt.Sprintf(
				"row %d has %d fields but row 1 has %d: all rows must have the same number of columns", m.nrow, n, m.ncol)}
		}
		for col := 1; ; col++ {
			field, next, found := strings.Cut(line, sep)
			line = next
			v := float32(math.NaN())
			if trimSpace(field) != "" {
				var msg string
				if v, msg = value(field); msg != "" {
					return matrix{}, &payloadError{"csv", fmt.Sprintf("row %d, column %d: %s", m.nrow, col, msg)}
				}
			}
			m.values = append(m.values, v)
			if !found {
				break
			}
		}
		if !more {
			return m, nil
		}
	}
}

// sparse holds a libsvm payload: entries in row order.
type sparse struct {
	rows       []int32
	cols       []int32
	vals       []float32
	nrow, ncol int
}

// parseLibSVM reads a text/libsvm payload as the container does: lines split
// on "\n", items on " "; every item holding a colon is an index:value pair
// (anything after a second colon is ignored), other items (labels) are
// skipped. The index is the column number as written. The matrix has a row
// for each line up to the last one with a pair, and a column for each index
// up to the largest; pairs repeating a column add up.
func parseLibSVM(body string, sp *sparse) error {
	s := trimSpace(body)
	if !utf8.ValidString(s) {
		return &payloadError{"libsvm", "payload is not valid UTF-8"}
	}
	sp.rows, sp.cols, sp.vals = sp.rows[:0], sp.cols[:0], sp.vals[:0]
	sp.nrow, sp.ncol = 0, 0
	for row := 0; ; row++ {
		line, rest, more := strings.Cut(s, "\n")
		s = rest
		for line != "" {
			item, next, _ := strings.Cut(line, " ")
			line = next
			idx, val, ok := strings.Cut(item, ":")
			if !ok {
				continue
			}
			val, _, _ = strings.Cut(val, ":")
			c, err := strconv.ParseInt(trimSpace(idx), 10, 32)
			if err != nil || c < 0 {
				return &payloadError{"libsvm", fmt.Sprintf("row %d: invalid feature index %s", row+1, quoteField(idx))}
			}
			v, msg := value(val)
			if msg != "" {
				return &payloadError{"libsvm", fmt.Sprintf("row %d, feature %d: %s", row+1, c, msg)}
			}
			if row > math.MaxInt32 {
				return &payloadError{"libsvm", "too many rows"}
			}
			sp.rows = append(sp.rows, int32(row))
			sp.cols = append(sp.cols, int32(c))
			sp.vals = append(sp.vals, v)
			sp.nrow = row + 1
			sp.ncol = max(sp.ncol, int(c)+1)
		}
		if !more {
			break
		}
	}
	if len(sp.rows) == 0 {
		return &payloadError{"libsvm", "no index:value pairs in the payload"}
	}
	return nil
}

// mediaType splits a Content-Type or Accept value as Python's
// cgi.parse_header does: the type before the first ';', lower-cased, and
// key=value parameters.
func mediaType(v string) (string, map[string]string) {
	typ, rest, _ := strings.Cut(v, ";")
	var params map[string]string
	for rest != "" {
		var p string
		p, rest, _ = strings.Cut(rest, ";")
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		if params == nil {
			params = map[string]string{}
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		params[strings.ToLower(strings.TrimSpace(k))] = val
	}
	return strings.ToLower(strings.TrimSpace(typ)), params
}

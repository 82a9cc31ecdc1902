package fleet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"hearth/internal/httpwire"
)

// The worker response parser: HTTP/1.1 (and 1.0) responses to POST
// /invocations, read straight from the connection's buffer with strict
// bounds and no allocation but the body and header values not seen
// before. It keeps what Hearth passes on (status, Content-Type, custom
// attributes, body) and what framing needs (Content-Length,
// Transfer-Encoding, Connection).

// Bounds of a worker response's head.
const (
	maxHeadBytes = 64 << 10 // status line and header fields together
	maxChunkLine = 4 << 10  // a chunk-size line with its extensions
)

var (
	errHeadTooLarge  = errors.New("response head exceeds 64 KiB")
	errMalformedResp = errors.New("malformed HTTP response")
)

// respHead is what readHead keeps of a response's head.
type respHead struct {
	status        int
	contentType   []byte // views into the reader's buffer: valid until the next read
	customAttrs   []byte
	contentLength int64 // -1: none given
	chunked       bool
	close         bool // the worker will close the connection after this response
}

// headerCache keeps the last header values a connection saw, so that a
// worker answering the same Content-Type every time costs no allocation.
type headerCache struct {
	contentType, customAttrs string
}

func (c *headerCache) intern(last *string, b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if string(b) != *last { // no allocation for the comparison
		*last = string(b)
	}
	return *last
}

// readWorkerResponse reads one response: its head, then a body of at most
// limit bytes. tooLarge reports a longer body, of which the rest is left
// unread (the connection must be closed); keep says whether the
// connection may be reused.
func readWorkerResponse(br *bufio.Reader, limit int, cache *headerCache) (resp Response, tooLarge, keep bool, err error) {
	var h respHead
	for {
		h, err = readHead(br)
		if err != nil {
			return resp, false, false, err
		}
		// 1xx answers come before the real one (101 would switch
		// protocols, which a model server has no business doing).
		if h.status >= 200 || h.status == 101 {
			break
		}
	}
	if h.status == 101 {
		return resp, false, false, fmt.Errorf("%w: 101 Switching Protocols", errMalformedResp)
	}
	resp.Status = h.status
	// The header views die with the next read: copy them now.
	resp.ContentType = cache.intern(&cache.contentType, h.contentType)
	resp.CustomAttributes = cache.intern(&cache.customAttrs, h.customAttrs)
	keep = !h.close
	switch {
	case h.status == 204 || h.status == 304:
		// No body, whatever the headers say.
	case h.chunked:
		resp.Body, tooLarge, err = readChunked(br, limit)
	case h.contentLength >= 0:
		if h.contentLength > int64(limit) {
			return resp, true, false, nil
		}
		resp.Body = make([]byte, h.contentLength)
		if _, err = io.ReadFull(br, resp.Body); err != nil {
			return resp, false, false, fmt.Errorf("read worker response body: %w", unexpectedEOF(err))
		}
	default:
		// No length: the body runs to the end of the connection.
		keep = false
		resp.Body, tooLarge, err = readToEOF(br, limit)
	}
	if err != nil || tooLarge {
		return resp, tooLarge, false, err
	}
	return resp, tooLarge, keep, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readLine reads one CRLF- (or LF-) terminated line of at most max bytes,
// without its terminator. The line is a view into br's buffer.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errHeadTooLarge
		}
		return nil, unexpectedEOF(err)
	}
	if len(line) > max {
		return nil, errHeadTooLarge
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// readHead reads the status line and header fields.
func readHead(br *bufio.Reader) (respHead, error) {
	h := respHead{contentLength: -1}
	budget := maxHeadBytes
	line, err := readLine(br, budget)
	if err != nil {
		return h, err
	}
	budget -= len(line) + 2
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || (line[7] != '0' && line[7] != '1') ||
		line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return h, fmt.Errorf("%w: status line %q", errMalformedResp, truncate(line))
	}
	http10 := line[7] == '0'
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return h, fmt.Errorf("%w: status line %q", errMalformedResp, truncate(line))
		}
		h.status = h.status*10 + int(c-'0')
	}
	if h.status < 100 {
		return h, fmt.Errorf("%w: status %d", errMalformedResp, h.status)
	}
	keepAlive := false
	for {
		line, err := readLine(br, budget)
		if err != nil {
			return h, err
		}
		budget -= len(line) + 2
		if budget < 0 {
			return h, errHeadTooLarge
		}
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || line[0] == ' ' || line[0] == '\t' {
			// No name, or an obsolete folded continuation line.
			return h, fmt.Errorf("%w: header line %q", errMalformedResp, truncate(line))
		}
		name := line[:colon]
		for _, c := range name {
			if c <= ' ' || c >= 0x7f {
				return h, fmt.Errorf("%w: header name %q", errMalformedResp, truncate(name))
			}
		}
		value := bytes.TrimSpace(line[colon+1:])
		switch {
		case httpwire.EqualFold(name, "Content-Length"):
			n, ok := httpwire.ParseLength(value)
			if !ok || (h.contentLength >= 0 && h.contentLength != n) {
				return h, fmt.Errorf("%w: Content-Length %q", errMalformedResp, truncate(value))
			}
			h.contentLength = n
		case httpwire.EqualFold(name, "Transfer-Encoding") && !http10:
			// HTTP/1.0 has no transfer codings: the field is ignored there.
			if !httpwire.EqualFold(value, "chunked") {
				return h, fmt.Errorf("%w: unsupported Transfer-Encoding %q", errMalformedResp, truncate(value))
			}
			h.chunked = true
		case httpwire.EqualFold(name, "Connection"):
			if httpwire.HasToken(value, "close") {
				h.close = true
			}
			if httpwire.HasToken(value, "keep-alive") {
				keepAlive = true
			}
		case httpwire.EqualFold(name, "Content-Type"):
			if h.contentType == nil {
				h.contentType = value
			}
		case httpwire.EqualFold(name, "X-Amzn-SageMaker-Custom-Attributes"):
			if h.customAttrs == nil {
				h.customAttrs = value
			}
		}
	}
	if h.chunked {
		h.contentLength = -1 // Transfer-Encoding wins (RFC 9112 §6.3)
	}
	if http10 && !keepAlive {
		h.close = true
	}
	return h, nil
}

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// readChunked reads a chunked body of at most limit bytes, and its
// trailer section.
func readChunked(br *bufio.Reader, limit int) ([]byte, bool, error) {
	var body []byte
	for {
		line, err := readLine(br, maxChunkLine)
		if err != nil {
			return nil, false, fmt.Errorf("read worker response chunk: %w", err)
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || len(line) > 15 {
			return nil, false, fmt.Errorf("%w: chunk size %q", errMalformedResp, truncate(line))
		}
		var size int64
		for _, c := range line {
			var d byte
			switch {
			case '0' <= c && c <= '9':
				d = c - '0'
			case 'a' <= c && c <= 'f':
				d = c - 'a' + 10
			case 'A' <= c && c <= 'F':
				d = c - 'A' + 10
			default:
				return nil, false, fmt.Errorf("%w: chunk size %q", errMalformedResp, truncate(line))
			}
			size = size<<4 | int64(d)
		}
		if size == 0 {
			break
		}
		if int64(len(body))+size > int64(limit) {
			return nil, true, nil
		}
		n := len(body)
		body = append(body, make([]byte, size)...)
		if _, err := io.ReadFull(br, body[n:]); err != nil {
			return nil, false, fmt.Errorf("read worker response chunk: %w", unexpectedEOF(err))
		}
		if line, err := readLine(br, 2); err != nil || len(line) != 0 {
			return nil, false, fmt.Errorf("%w: chunk not followed by CRLF", errMalformedResp)
		}
	}
	// Trailer fields, up to the empty line; none is kept.
	budget := maxHeadBytes
	for {
		line, err := readLine(br, budget)
		if err != nil {
			return nil, false, fmt.Errorf("read worker response trailer: %w", err)
		}
		if len(line) == 0 {
			break
		}
		budget -= len(line) + 2
	}
	if body == nil {
		body = []byte{}
	}
	return body, false, nil
}

// readToEOF reads a body delimited by the end of the connection.
func readToEOF(br *bufio.Reader, limit int) ([]byte, bool, error) {
	body, err := io.ReadAll(io.LimitReader(br, int64(limit)+1))
	if err != nil {
		return nil, false, fmt.Errorf("read worker response body: %w", err)
	}
	if len(body) > limit {
		return nil, true, nil
	}
	return body, false, nil
}

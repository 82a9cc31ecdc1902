package logs

import (
	"encoding/binary"
	"errors"
)

// Events are stored in chunks: the lines one stream wrote between two
// appender runs, in one row. A chunk's data is, per event, the uvarint
// offset of its time from the chunk's first, the uvarint length of its
// message, then the message. An event's sequence number is its chunk id
// shifted left by seqShift, plus its index in the chunk; within a stream,
// times never decrease in sequence order (the writer sees to that).
const (
	seqShift        = 16
	maxChunkEvents  = 1 << seqShift
	maxChunkPayload = 1 << 20
)

func seqOf(chunk int64, index int) int64 { return chunk<<seqShift | int64(index) }

func encodeChunk(evs []Event) []byte {
	n := 0
	for i := range evs {
		n += len(evs[i].Message) + 2*binary.MaxVarintLen64
	}
	b := make([]byte, 0, n)
	first := evs[0].Time
	for i := range evs {
		b = binary.AppendUvarint(b, uint64(evs[i].Time-first))
		b = binary.AppendUvarint(b, uint64(len(evs[i].Message)))
		b = append(b, evs[i].Message...)
	}
	return b
}

// storedEvent is an event read back from a chunk.
type storedEvent struct {
	pos      position
	stream   int64 // the stream's row id
	ingested int64
	message  string
}

var errCorruptChunk = errors.New("logs: corrupt chunk")

// decodeChunk appends chunk id's events to out.
func decodeChunk(out []storedEvent, id, stream, first, ingested int64, data []byte) ([]storedEvent, error) {
	for i := 0; len(data) > 0; i++ {
		off, n := binary.Uvarint(data)
		if n <= 0 {
			return out, errCorruptChunk
		}
		data = data[n:]
		l, n := binary.Uvarint(data)
		if n <= 0 || uint64(len(data)-n) < l {
			return out, errCorruptChunk
		}
		data = data[n:]
		out = append(out, storedEvent{
			pos:      position{ts: first + int64(off), id: seqOf(id, i)},
			stream:   stream,
			ingested: ingested,
			message:  string(data[:l]),
		})
		data = data[l:]
	}
	return out, nil
}

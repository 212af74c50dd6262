package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/record"
	"github.com/prometheus/prometheus/tsdb/wlog"
)

// reader is the queue's read cursor: it tails segments with wlog's
// LiveReader, which returns records as soon as they are whole and can be
// asked again after the end of what is written so far.
type reader struct {
	pos    Position // the segment being read
	skipTo int64    // records ending at or before this offset were acknowledged before Open
	f      *os.File
	lr     *wlog.LiveReader
	d      decoder

	held    []Sample // a record read but not yet handed out (it did not fit a batch)
	heldEnd Position
}

// moveTo closes the current segment and points the reader at the start of segment i.
func (r *reader) moveTo(i int) {
	r.close()
	r.pos, r.skipTo = Position{Segment: i}, 0
}

func (r *reader) close() {
	if r.f != nil {
		r.f.Close()
	}
	r.f, r.lr, r.held = nil, nil, r.held[:0]
}

// open opens segment i for reading, unless it is open already.
func (r *reader) open(dir string, i int, log *slog.Logger) error {
	if r.f != nil && r.pos.Segment == i {
		return nil
	}
	r.close()
	f, err := os.Open(wlog.SegmentName(dir, i))
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	if r.pos.Segment != i {
		r.skipTo = 0
	}
	r.f, r.pos = f, Position{Segment: i}
	r.lr = wlog.NewLiveReader(log, wlog.NewLiveReaderMetrics(nil), f)
	r.d.init()
	return nil
}

// read adds records of seg to b until b holds max samples or the segment's
// written data ends. It reports whether b is full; an error means the rest of
// the segment cannot be read.
func (r *reader) read(b *Batch, seg *segment, max int, cutoff int64) (full bool, err error) {
	for {
		if len(r.held) > 0 {
			if len(b.Samples) > 0 && len(b.Samples)+len(r.held) > max {
				return true, nil
			}
			r.take(b, seg, cutoff)
			// Bound the work of one call when everything read is too old.
			if len(b.Samples) >= max || b.Dropped >= int64(4*max) {
				return true, nil
			}
			continue
		}
		if !r.lr.Next() {
			if err := r.lr.Err(); err != nil && !errors.Is(err, io.EOF) {
				return false, err
			}
			return false, nil
		}
		end := Position{Segment: seg.index, Offset: r.lr.Offset()}
		smps, _, err := r.d.decode(r.lr.Record(), r.held[:0])
		if err != nil {
			return false, err
		}
		r.held = smps
		if end.Offset <= r.skipTo {
			r.held = r.held[:0] // acknowledged before this process started
			continue
		}
		r.heldEnd = end
		r.pos.Offset = end.Offset
	}
}

// take moves the held record into b.
func (r *reader) take(b *Batch, seg *segment, cutoff int64) {
	for _, s := range r.held {
		if s.T < cutoff {
			b.Dropped++
			continue
		}
		if len(b.Samples) == 0 || s.T < b.MinT {
			b.MinT = s.T
		}
		b.Samples = append(b.Samples, s)
	}
	n := int64(len(r.held))
	seg.read = min(seg.read+n, seg.samples)
	seg.nextT = r.held[len(r.held)-1].T
	b.End = r.heldEnd
	r.held = r.held[:0]
}

// decoder decodes the records of one segment, keeping its series.
type decoder struct {
	dec    record.Decoder
	series map[chunks.HeadSeriesRef]labels.Labels
	rs     []record.RefSeries
	smp    []record.RefSample
}

func (d *decoder) init() {
	d.dec = record.NewDecoder(nil, nil)
	d.series = map[chunks.HeadSeriesRef]labels.Labels{}
}

// decode decodes rec: Series records extend the segment's series, Samples
// records append to out, and an acknowledgement is returned as a position.
func (d *decoder) decode(rec []byte, out []Sample) ([]Sample, *Position, error) {
	if len(rec) == 0 {
		return out, nil, errors.New("empty record")
	}
	var err error
	switch rec[0] {
	case ackType:
		p, err := decodeAck(rec)
		if err != nil {
			return out, nil, err
		}
		return out, &p, nil
	case byte(record.Series):
		d.rs, err = d.dec.Series(rec, d.rs[:0])
		if err != nil {
			return out, nil, fmt.Errorf("series record: %w", err)
		}
		for _, s := range d.rs {
			if s.Labels.IsEmpty() {
				return out, nil, errors.New("series record: a series without labels")
			}
			d.series[s.Ref] = s.Labels.Copy()
		}
		return out, nil, nil
	case byte(record.Samples):
		d.smp, err = d.dec.Samples(rec, d.smp[:0])
		if err != nil {
			return out, nil, fmt.Errorf("samples record: %w", err)
		}
		for _, s := range d.smp {
			ls, ok := d.series[s.Ref]
			if !ok {
				return out, nil, fmt.Errorf("samples record: sample of unknown series %d", s.Ref)
			}
			out = append(out, Sample{Labels: ls, T: s.T, V: s.V})
		}
		return out, nil, nil
	}
	return out, nil, fmt.Errorf("unknown record type %d", rec[0])
}

// decodeAck decodes an acknowledgement record.
func decodeAck(rec []byte) (Position, error) {
	b := rec[1:]
	seg, n := binary.Uvarint(b)
	if n <= 0 {
		return Position{}, errors.New("acknowledgement record: bad segment")
	}
	b = b[n:]
	off, n := binary.Uvarint(b)
	if n <= 0 || n != len(b) {
		return Position{}, errors.New("acknowledgement record: bad offset")
	}
	if seg > 1<<31 || off > 1<<40 {
		return Position{}, errors.New("acknowledgement record: out of range")
	}
	return Position{Segment: int(seg), Offset: int64(off)}, nil
}

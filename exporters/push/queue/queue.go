// Package queue is the durable on-disk queue behind remote-write push: every
// sample is written to disk before it is sent, acknowledged after the receiver
// took it, and read back oldest first after a restart.
//
// Storage is Prometheus' own write-ahead log (tsdb/wlog: 32 KiB pages of
// CRC32-checked records, segment files named 00000000, 00000001, ...) holding
// Prometheus' own WAL records (tsdb/record: Series and Samples, as Prometheus'
// agent mode writes them), snappy-compressed, plus one record type of this
// package: an acknowledgement, which names the queue position up to which the
// receiver has taken (or, for a rejected sample, been given) everything.
//
// Every segment is self-contained: it begins with the Series records of the
// series its samples use, so any segment can be read or deleted on its own, and
// a corrupted or torn segment loses only its own tail. A segment is never
// appended to after the process that wrote it stopped: each Open starts a new
// one, so a torn last write (a crash or power cut mid-write) stays at the end
// of a closed segment, where the CRC or a truncated record detects it and the
// reader drops it.
//
// The queue does no fsync of its own accord: Sync is meant to be called once
// per push interval after the interval's Append (and any Acks), so an SD card
// sees one fsync per interval, plus one for a finished segment when the queue
// moves to the next.
package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/record"
	"github.com/prometheus/prometheus/tsdb/wlog"
	"github.com/prometheus/prometheus/util/compression"
)

// ackType is the record type of an acknowledgement. Prometheus' record types
// are small numbers (1 to 10 today); 200 is far from them.
const ackType = 200

const (
	// maxRecordSamples bounds one Samples record (about 11 bytes a sample
	// before compression), so no record is large and batches split finely.
	maxRecordSamples = 500
	// maxSeriesRecordBytes bounds one Series record before compression.
	maxSeriesRecordBytes = 64 << 10
	// wlogSegmentBytes is the segment size given to wlog. The queue rolls to a
	// new segment itself, at Options.SegmentBytes, long before this, so wlog
	// never starts a segment on its own (which would leave the new segment
	// without the Series records its samples refer to).
	wlogSegmentBytes = 256 << 20
	// pageBytes is wlog's page size: segments grow in pages when finished.
	pageBytes = 32 << 10
)

// Sample is one sample of one series.
type Sample struct {
	// Labels include __name__.
	Labels labels.Labels
	// T is the sample's timestamp in milliseconds since the Unix epoch.
	T int64
	V float64
}

// Position is a place in the queue: the byte offset just after a record in a
// segment.
type Position struct {
	Segment int
	Offset  int64
}

// Less reports whether p is before o.
func (p Position) Less(o Position) bool {
	return p.Segment < o.Segment || p.Segment == o.Segment && p.Offset < o.Offset
}

// Options configure a queue.
type Options struct {
	// Dir holds the segment files and a lock file; it is created (0700) if
	// missing. Only one process may use a Dir at a time.
	Dir string
	// MaxBytes bounds the segment files' total size: past it, Enforce drops
	// whole segments, oldest first. 0 means no bound.
	MaxBytes int64
	// MaxAge bounds how old a queued sample may be: Enforce drops segments
	// whose newest sample is older, and Next skips older samples. 0 means no bound.
	MaxAge time.Duration
	// SegmentBytes is the size at which the queue starts a new segment
	// (0: MaxBytes/16 between 128 KiB and 8 MiB). It sets the granularity of
	// deleting sent data and of dropping data past MaxBytes.
	SegmentBytes int64
	// Logger gets warnings about corrupted data; nil discards them.
	Logger *slog.Logger
}

// segment is what the queue knows of one segment file.
type segment struct {
	index   int
	bytes   int64 // file size
	samples int64 // readable samples
	read    int64 // of which the reader has consumed (acknowledged or in flight)
	minT    int64 // oldest and newest sample timestamps (ms); valid when samples > 0
	maxT    int64
	// nextT is the timestamp (ms) of the oldest unread sample, or a lower
	// bound of it; valid when samples > read.
	nextT int64
	// damaged is set once a corruption in the segment has been counted.
	damaged bool
}

func (s *segment) note(t int64) {
	if s.samples == 0 || t < s.minT {
		s.minT = t
	}
	if s.samples == 0 || t > s.maxT {
		s.maxT = t
	}
}

// Queue is a durable queue of samples. Append, Sync, Enforce, Next, Ack and
// Stats are safe for concurrent use; Next and Ack are meant for one sender.
type Queue struct {
	opts Options
	log  *slog.Logger
	lock *os.File

	mu      sync.Mutex
	w       *wlog.WL
	segs    []*segment // oldest first; the last one is being written
	refs    map[string]chunks.HeadSeriesRef
	nextRef chunks.HeadSeriesRef
	enc     record.Encoder
	key     []byte

	rd           *reader
	inflight     int64 // samples handed out by Next and not yet acknowledged
	inflightMinT int64
	acked        Position

	written     int64 // bytes written to segment files
	corruptions int64 // corrupted or torn places found
	closed      bool
}

// Stats describe the queue.
type Stats struct {
	// Pending counts samples not yet acknowledged (queued or in flight).
	Pending int64
	// OldestPending is the timestamp (ms) of the oldest pending sample; valid
	// when Pending > 0.
	OldestPending int64
	// Bytes is the segment files' total size.
	Bytes int64
	// Written counts bytes written to segment files since Open.
	Written int64
	// Segments is the number of segment files.
	Segments int
	// Corruptions counts corrupted records and torn writes found since Open
	// (everything after one in its segment is dropped).
	Corruptions int64
}

// Open opens (or creates) the queue in opts.Dir. It reads the existing
// segments to find what is still pending, deletes those already sent, and
// starts a new segment for writing.
func Open(opts Options) (*Queue, error) {
	if opts.Dir == "" {
		return nil, errors.New("queue: no directory")
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = min(max(opts.MaxBytes/16, 128<<10), 8<<20)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	q := &Queue{opts: opts, log: log, lock: lock, refs: map[string]chunks.HeadSeriesRef{}, nextRef: 1}
	if err := q.recover(); err != nil {
		lock.Close()
		return nil, err
	}
	w, err := wlog.NewSize(log, nil, opts.Dir, wlogSegmentBytes, compression.Snappy)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("queue: opening write-ahead log in %s: %w", opts.Dir, err)
	}
	q.w = w
	_, last, err := wlog.Segments(opts.Dir)
	if err != nil || last < 0 {
		w.Close()
		lock.Close()
		return nil, fmt.Errorf("queue: listing segments in %s: %v", opts.Dir, err)
	}
	q.segs = append(q.segs, &segment{index: last})
	q.rd = &reader{pos: Position{Segment: q.segs[0].index}}
	if q.acked.Segment == q.segs[0].index {
		q.rd.skipTo = q.acked.Offset
	}
	return q, nil
}

// lockDir takes an exclusive lock on dir/lock so two processes never share a queue.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("queue: %s is in use by another process: %w", dir, err)
	}
	return f, nil
}

// recover reads the segments already in the directory: it finds the last
// acknowledgement, deletes segments wholly before it, and counts what is pending.
func (q *Queue) recover() error {
	idx, err := listSegments(q.opts.Dir)
	if err != nil {
		return err
	}
	// A gap in the numbering (a file deleted by hand) would stop wlog from
	// opening the directory: segments before the last gap go.
	for k := len(idx) - 1; k > 0; k-- {
		if idx[k-1]+1 != idx[k] {
			q.log.Warn("queue: segment numbering has a gap; deleting the segments before it", "gap_after", idx[k-1])
			if err := q.remove(idx[:k]); err != nil {
				return err
			}
			idx = idx[k:]
			break
		}
	}
	// The last acknowledgement: read segments newest first until one has an
	// acknowledgement (during an outage the newest ones have none).
	for i := len(idx) - 1; i >= 0; i-- {
		info, err := scanSegment(q.opts.Dir, idx[i], Position{}, nil)
		if err != nil {
			return err
		}
		// An acknowledgement is written after what it acknowledges: one
		// naming a later segment is nonsense (and ignored).
		if info.ack != nil && info.ack.Segment <= idx[i] {
			q.acked = *info.ack
			break
		}
	}
	k := 0
	for k < len(idx) && idx[k] < q.acked.Segment {
		k++
	}
	if err := q.remove(idx[:k]); err != nil {
		return err
	}
	for _, i := range idx[k:] {
		info, err := scanSegment(q.opts.Dir, i, q.acked, nil)
		if err != nil {
			return err
		}
		if info.corrupt != nil {
			q.corruptions++
			q.log.Warn("queue: dropping the rest of a damaged segment", "segment", i, "offset", info.validEnd, "err", info.corrupt)
			info.seg.damaged = true
		}
		s := info.seg
		q.segs = append(q.segs, &s)
	}
	return nil
}

// remove deletes the segment files with the given indexes.
func (q *Queue) remove(idx []int) error {
	for _, i := range idx {
		if err := os.Remove(wlog.SegmentName(q.opts.Dir, i)); err != nil {
			return fmt.Errorf("queue: deleting segment: %w", err)
		}
	}
	return nil
}

// listSegments lists the indexes of the segment files in dir, in order.
func listSegments(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	var idx []int
	for _, e := range ents {
		if i, err := strconv.Atoi(e.Name()); err == nil && e.Type().IsRegular() && i >= 0 {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	return idx, nil
}

// segmentInfo is what scanSegment learns of one segment.
type segmentInfo struct {
	seg      segment
	ack      *Position // the last acknowledgement in it
	validEnd int64     // offset just after the last readable record
	corrupt  error     // why reading stopped before the end, if it did
}

// scanSegment reads segment i of dir from the start. Samples in records
// ending at or before acked count as read. fn, if not nil, gets every sample
// with its record's end position.
func scanSegment(dir string, i int, acked Position, fn func(Sample, Position)) (segmentInfo, error) {
	info := segmentInfo{seg: segment{index: i}}
	f, err := os.Open(wlog.SegmentName(dir, i))
	if err != nil {
		return info, fmt.Errorf("queue: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return info, fmt.Errorf("queue: %w", err)
	}
	info.seg.bytes = st.Size()
	var (
		d    decoder
		r    = wlog.NewReader(bufioReader(f))
		smps []Sample
	)
	d.init()
	for r.Next() {
		pos := Position{Segment: i, Offset: r.Offset()}
		info.validEnd = pos.Offset
		smps = smps[:0]
		var ack *Position
		smps, ack, err = d.decode(r.Record(), smps)
		if err != nil {
			info.corrupt = err
			return info, nil
		}
		if ack != nil {
			info.ack = ack
		}
		acked := !acked.Less(pos)
		for _, s := range smps {
			if !acked && info.seg.samples == info.seg.read {
				info.seg.nextT = s.T
			}
			info.seg.note(s.T)
			info.seg.samples++
			if acked {
				info.seg.read++
			}
			if fn != nil {
				fn(s, pos)
			}
		}
	}
	if err := r.Err(); err != nil {
		info.corrupt = err
	}
	return info, nil
}

// Append writes samples to the queue (not yet synced to disk: see Sync).
// Samples of one series must come in timestamp order across calls.
func (q *Queue) Append(samples []Sample) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errors.New("queue: closed")
	}
	if len(samples) == 0 {
		return nil
	}
	act := q.segs[len(q.segs)-1]
	if act.bytes >= q.opts.SegmentBytes {
		if err := q.roll(); err != nil {
			return err
		}
		act = q.segs[len(q.segs)-1]
	}
	var recs [][]byte
	// Series records for series not yet in this segment.
	var series []record.RefSeries
	refs := make([]chunks.HeadSeriesRef, len(samples))
	size := 0
	flush := func() {
		if len(series) > 0 {
			recs = append(recs, q.enc.Series(series, nil))
			series, size = series[:0], 0
		}
	}
	for i, s := range samples {
		q.key = s.Labels.Bytes(q.key[:0])
		ref, ok := q.refs[string(q.key)]
		if !ok {
			ref = q.nextRef
			q.nextRef++
			q.refs[string(q.key)] = ref
			series = append(series, record.RefSeries{Ref: ref, Labels: s.Labels})
			size += len(q.key) + 8
			if size >= maxSeriesRecordBytes {
				flush()
			}
		}
		refs[i] = ref
	}
	flush()
	rs := make([]record.RefSample, 0, min(len(samples), maxRecordSamples))
	for i, s := range samples {
		rs = append(rs, record.RefSample{Ref: refs[i], T: s.T, V: s.V})
		if len(rs) == maxRecordSamples || i == len(samples)-1 {
			recs = append(recs, q.enc.Samples(rs, nil))
			rs = rs[:0]
		}
	}
	if err := q.w.Log(recs...); err != nil {
		return fmt.Errorf("queue: writing: %w", err)
	}
	if act.samples == act.read {
		act.nextT = samples[0].T
	}
	for _, s := range samples {
		act.note(s.T)
		act.samples++
	}
	return q.noteSize(act)
}

// noteSize updates the active segment's size and the bytes-written count.
func (q *Queue) noteSize(act *segment) error {
	st, err := os.Stat(wlog.SegmentName(q.opts.Dir, act.index))
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	q.written += st.Size() - act.bytes
	act.bytes = st.Size()
	return nil
}

// roll finishes the active segment and starts a new one.
func (q *Queue) roll() error {
	act := q.segs[len(q.segs)-1]
	i, err := q.w.NextSegment()
	if err != nil {
		return fmt.Errorf("queue: starting a new segment: %w", err)
	}
	// wlog pads the finished segment to a whole page.
	if err := q.noteSize(act); err != nil {
		return err
	}
	q.segs = append(q.segs, &segment{index: i})
	clear(q.refs)
	return nil
}

// SetBounds changes MaxBytes and MaxAge (they apply at the next Enforce and Next).
func (q *Queue) SetBounds(maxBytes int64, maxAge time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.opts.MaxBytes, q.opts.MaxAge = maxBytes, maxAge
}

// Sync makes everything written so far durable (one fsync of the segment
// being written).
func (q *Queue) Sync() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errors.New("queue: closed")
	}
	if err := q.w.Sync(); err != nil {
		return fmt.Errorf("queue: fsync: %w", err)
	}
	return nil
}

// Dropped counts samples dropped by Enforce or Next, by reason.
type Dropped struct {
	// MaxBytes counts samples in segments deleted to stay within MaxBytes.
	MaxBytes int64
	// MaxAge counts samples older than MaxAge.
	MaxAge int64
}

// Enforce applies MaxBytes and MaxAge at time now: it deletes whole segments,
// oldest first, while the files exceed MaxBytes or a segment's newest sample
// is older than MaxAge. The segment being written is never deleted.
func (q *Queue) Enforce(now time.Time) (Dropped, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var d Dropped
	if q.closed {
		return d, errors.New("queue: closed")
	}
	total := int64(0)
	for _, s := range q.segs {
		total += s.bytes
	}
	cutoff := q.cutoff(now)
	n := 0
	for n < len(q.segs)-1 {
		s := q.segs[n]
		switch {
		case q.opts.MaxBytes > 0 && total > q.opts.MaxBytes:
			d.MaxBytes += s.samples - s.read
		case q.opts.MaxAge > 0 && (s.samples == 0 || s.maxT < cutoff) && (s.samples > s.read || s.samples == 0):
			// An empty segment (a restart's, written nothing) goes too.
			d.MaxAge += s.samples - s.read
		default:
			goto done
		}
		total -= s.bytes
		n++
	}
done:
	if n == 0 {
		return d, nil
	}
	return d, q.deleteSegments(n)
}

// cutoff is the oldest timestamp (ms) MaxAge keeps at now.
func (q *Queue) cutoff(now time.Time) int64 {
	if q.opts.MaxAge <= 0 {
		return -1 << 63
	}
	return now.Add(-q.opts.MaxAge).UnixMilli()
}

// deleteSegments deletes the n oldest segments and moves the reader past them.
func (q *Queue) deleteSegments(n int) error {
	next := q.segs[n].index
	if err := q.w.Truncate(next); err != nil {
		return fmt.Errorf("queue: deleting segments: %w", err)
	}
	q.segs = append(q.segs[:0], q.segs[n:]...)
	if q.rd.pos.Segment < next {
		q.rd.close()
		q.rd.pos, q.rd.skipTo = Position{Segment: next}, 0
	}
	return nil
}

// Batch is a run of samples handed out by Next, oldest first.
type Batch struct {
	Samples []Sample
	// End is the position just after the batch's last record: Ack(End)
	// acknowledges the batch.
	End Position
	// Dropped counts samples skipped because they were older than MaxAge.
	Dropped int64
	// MinT is the oldest timestamp in Samples (ms).
	MinT int64
}

// Next returns the oldest samples not yet handed out, whole records at a
// time, at most max samples unless one record holds more; Samples is empty
// when nothing is pending. The samples stay pending until Ack. Samples
// older than MaxAge at now are skipped and counted in Dropped (they too
// need the Ack).
func (q *Queue) Next(max int, now time.Time) (Batch, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var b Batch
	if q.closed {
		return b, errors.New("queue: closed")
	}
	cutoff := q.cutoff(now)
	for {
		seg := q.segment(q.rd.pos.Segment)
		if seg == nil {
			if q.rd.pos.Segment > q.segs[len(q.segs)-1].index {
				break // cannot happen: the reader never passes the segment being written
			}
			// The reader's segment was deleted: go on from the oldest one left.
			q.rd.moveTo(q.segs[0].index)
			continue
		}
		live := seg == q.segs[len(q.segs)-1]
		if !live && q.rd.f == nil && seg.read >= seg.samples {
			q.rd.moveTo(seg.index + 1) // nothing unread here: no need to read it
			continue
		}
		if err := q.rd.open(q.opts.Dir, seg.index, q.log); err != nil {
			return b, err
		}
		full, err := q.rd.read(&b, seg, max, cutoff)
		if err != nil {
			if !seg.damaged {
				seg.damaged = true
				q.corruptions++
				q.log.Warn("queue: dropping the rest of a damaged segment", "segment", seg.index, "offset", q.rd.lr.Offset(), "err", err)
			}
			seg.samples = seg.read // what cannot be read is no longer pending
			if live {
				// Write on in a new segment, after the damage.
				if err := q.roll(); err != nil {
					return b, err
				}
			}
			q.rd.moveTo(seg.index + 1)
			continue
		}
		if full || live {
			break
		}
		q.rd.moveTo(seg.index + 1) // the end of a finished segment
	}
	if n := int64(len(b.Samples)) + b.Dropped; n > 0 {
		if len(b.Samples) > 0 && (q.inflight == 0 || b.MinT < q.inflightMinT) {
			q.inflightMinT = b.MinT
		}
		q.inflight += n
	}
	return b, nil
}

// segment returns the segment with index i, or nil.
func (q *Queue) segment(i int) *segment {
	if len(q.segs) == 0 || i < q.segs[0].index || i > q.segs[len(q.segs)-1].index {
		return nil
	}
	return q.segs[i-q.segs[0].index]
}

// Ack acknowledges everything up to pos (a Batch's End): n samples leave the
// pending count. The acknowledgement is written (not synced: see Sync), and
// segments wholly before pos are deleted.
func (q *Queue) Ack(pos Position, n int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errors.New("queue: closed")
	}
	q.inflight = max(q.inflight-n, 0)
	if !q.acked.Less(pos) {
		return nil
	}
	q.acked = pos
	rec := appendAck(make([]byte, 0, 24), pos)
	if err := q.w.Log(rec); err != nil {
		return fmt.Errorf("queue: writing acknowledgement: %w", err)
	}
	if err := q.noteSize(q.segs[len(q.segs)-1]); err != nil {
		return err
	}
	n2 := 0
	for n2 < len(q.segs)-1 && q.segs[n2].index < pos.Segment {
		n2++
	}
	if n2 > 0 {
		return q.deleteSegments(n2)
	}
	return nil
}

// Stats returns the queue's figures.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := Stats{Pending: q.inflight, Written: q.written, Segments: len(q.segs), Corruptions: q.corruptions}
	if q.inflight > 0 {
		st.OldestPending = q.inflightMinT
	}
	for _, s := range q.segs {
		st.Bytes += s.bytes
		if unread := s.samples - s.read; unread > 0 {
			if st.Pending == 0 {
				st.OldestPending = s.nextT
			}
			st.Pending += unread
		}
	}
	return st
}

// Close writes out the last page and releases the directory.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	q.rd.close()
	err := q.w.Close()
	q.lock.Close()
	return err
}

// appendAck encodes an acknowledgement record.
func appendAck(b []byte, pos Position) []byte {
	b = append(b, ackType)
	b = binary.AppendUvarint(b, uint64(pos.Segment))
	return binary.AppendUvarint(b, uint64(pos.Offset))
}

// bufioReader wraps a segment file for wlog.Reader.
func bufioReader(f *os.File) io.Reader { return &pageReader{f: f} }

// pageReader reads a file in page-sized chunks (wlog.Reader reads a byte at
// a time at record headers; an unbuffered file would make a syscall each).
type pageReader struct {
	f        *os.File
	buf      [pageBytes]byte
	off, end int
}

func (r *pageReader) Read(p []byte) (int, error) {
	if r.off == r.end {
		n, err := r.f.Read(r.buf[:])
		if n == 0 {
			if err == nil {
				err = io.EOF
			}
			return 0, err
		}
		r.off, r.end = 0, n
	}
	n := copy(p, r.buf[r.off:r.end])
	r.off += n
	return n, nil
}

package queue

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/wlog"
)

// t0 is the first interval's timestamp (ms) in these tests.
var t0 = time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)

// interval returns one gather's samples: nSeries series at interval k.
func interval(nSeries, k int) []Sample {
	out := make([]Sample, nSeries)
	for i := range out {
		out[i] = Sample{
			Labels: labels.FromStrings("__name__", "wardprobe_test", "series", fmt.Sprint(i), "ward", "Ward 7 (St Mary's)"),
			T:      t0.Add(time.Duration(k) * time.Second).UnixMilli(),
			V:      float64(k*1000 + i),
		}
	}
	return out
}

func open(t *testing.T, dir string, o Options) *Queue {
	t.Helper()
	o.Dir = dir
	q, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func appendN(t *testing.T, q *Queue, nSeries, from, to int) {
	t.Helper()
	for k := from; k < to; k++ {
		if err := q.Append(interval(nSeries, k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Sync(); err != nil {
		t.Fatal(err)
	}
}

// key identifies a sample for comparisons.
type key struct {
	series string
	t      int64
	v      float64
}

func keyOf(s Sample) key { return key{s.Labels.String(), s.T, s.V} }

// drain reads and acknowledges everything pending, checking that no series
// ever goes back in time, and returns what it read.
func drain(t *testing.T, q *Queue, max int) []key {
	t.Helper()
	var out []key
	last := map[string]int64{}
	for range 100000 {
		b, err := q.Next(max, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Samples) == 0 && b.Dropped == 0 {
			return out
		}
		if len(b.Samples) > max && len(b.Samples) > maxRecordSamples {
			t.Fatalf("batch of %d samples for max %d", len(b.Samples), max)
		}
		for _, s := range b.Samples {
			k := keyOf(s)
			if lt, ok := last[k.series]; ok && s.T <= lt {
				t.Fatalf("series %s: sample at %d after one at %d", k.series, s.T, lt)
			}
			last[k.series] = s.T
			out = append(out, k)
		}
		if err := q.Ack(b.End, int64(len(b.Samples))+b.Dropped); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("drain did not end")
	return nil
}

func want(nSeries, from, to int) []key {
	var out []key
	for k := from; k < to; k++ {
		for _, s := range interval(nSeries, k) {
			out = append(out, keyOf(s))
		}
	}
	return out
}

// copyDir copies a queue directory as it is on disk at this moment: what a
// kill -9 leaves (every write reached the page cache; nothing more).
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestRoundTripOrder(t *testing.T) {
	for _, tc := range []struct {
		name             string
		series, n, max   int
		segmentBytes     int64
		wantSegmentsOver int
	}{
		{"one segment", 260, 20, 2000, 0, 0},
		{"many segments", 260, 200, 2000, 64 << 10, 4},
		{"batches smaller than a record", 700, 10, 100, 0, 0},
		{"one series", 1, 5000, 64, 32 << 10, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := open(t, t.TempDir(), Options{SegmentBytes: tc.segmentBytes})
			appendN(t, q, tc.series, 0, tc.n)
			st := q.Stats()
			if st.Pending != int64(tc.series*tc.n) {
				t.Errorf("pending %d, want %d", st.Pending, tc.series*tc.n)
			}
			if st.OldestPending != t0.UnixMilli() {
				t.Errorf("oldest pending %d, want %d", st.OldestPending, t0.UnixMilli())
			}
			if st.Segments <= tc.wantSegmentsOver {
				t.Errorf("%d segments, want more than %d", st.Segments, tc.wantSegmentsOver)
			}
			got := drain(t, q, tc.max)
			if !slices.Equal(got, want(tc.series, 0, tc.n)) {
				t.Fatalf("read %d samples, not the %d written in order", len(got), tc.series*tc.n)
			}
			if st := q.Stats(); st.Pending != 0 {
				t.Errorf("pending %d after draining", st.Pending)
			}
			// Sent segments are deleted: only the one being written is left.
			if st := q.Stats(); st.Segments != 1 {
				t.Errorf("%d segments left after draining, want 1", st.Segments)
			}
		})
	}
}

func TestTailWhileWriting(t *testing.T) {
	q := open(t, t.TempDir(), Options{SegmentBytes: 64 << 10})
	var got []key
	for k := range 300 {
		appendN(t, q, 50, k, k+1)
		if k%7 == 0 {
			got = append(got, drain(t, q, 120)...)
		}
	}
	got = append(got, drain(t, q, 120)...)
	if !slices.Equal(got, want(50, 0, 300)) {
		t.Fatalf("read %d samples, not the %d written in order", len(got), 50*300)
	}
}

func TestRestart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		clean bool // Close before reopening (else a copy of the files: a kill -9)
	}{{"clean", true}, {"kill -9", false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			q := open(t, dir, Options{SegmentBytes: 128 << 10})
			appendN(t, q, 260, 0, 100)
			// Send and acknowledge some; leave one batch in flight.
			var sent []key
			for range 5 {
				b, err := q.Next(2000, t0)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range b.Samples {
					sent = append(sent, keyOf(s))
				}
				if err := q.Ack(b.End, int64(len(b.Samples))); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := q.Next(2000, t0); err != nil {
				t.Fatal(err)
			}
			appendN(t, q, 260, 100, 120)
			reopen := dir
			if tc.clean {
				q.Close()
			} else {
				reopen = copyDir(t, dir)
			}
			q2 := open(t, reopen, Options{SegmentBytes: 128 << 10})
			all := want(260, 0, 120)
			if st := q2.Stats(); st.Pending != int64(len(all)-len(sent)) {
				t.Errorf("pending after restart %d, want %d", st.Pending, len(all)-len(sent))
			}
			rest := drain(t, q2, 2000)
			if !slices.Equal(append(sent, rest...), all) {
				t.Fatalf("sent %d + %d after restart, not the %d queued exactly once in order", len(sent), len(rest), len(all))
			}
			// Several restarts in a row (a crash loop) lose nothing either.
			appendN(t, q2, 260, 120, 130)
			q2.Close()
			for range 3 {
				q3 := open(t, reopen, Options{SegmentBytes: 128 << 10})
				q3.Close()
			}
			q4 := open(t, reopen, Options{SegmentBytes: 128 << 10})
			if got := drain(t, q4, 2000); !slices.Equal(got, want(260, 120, 130)) {
				t.Fatalf("after a crash loop read %d samples, want the %d queued", len(got), 2600)
			}
		})
	}
}

func TestLockedDir(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, Options{})
	if _, err := Open(Options{Dir: dir}); err == nil {
		t.Fatal("a second Open of the same directory succeeded")
	}
}

// lastSegment returns the path of the newest segment file in dir.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	idx, err := listSegments(dir)
	if err != nil || len(idx) == 0 {
		t.Fatalf("no segments: %v", err)
	}
	return wlog.SegmentName(dir, idx[len(idx)-1])
}

func TestTornWrite(t *testing.T) {
	// A power cut mid-write leaves a segment cut short anywhere in its last
	// record, or extended with zeros the data never reached.
	src := t.TempDir()
	q := open(t, src, Options{})
	appendN(t, q, 260, 0, 10)
	q.Close()
	seg := lastSegment(t, src)
	full, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mangle func(b []byte) []byte
	}{
		{"cut in the last record's data", func(b []byte) []byte { return b[:lastRecordEnd(t, b)-100] }},
		{"cut in the last record's header", func(b []byte) []byte { return b[:lastRecordStart(t, b)+3] }},
		{"cut and zero-filled to the page end", func(b []byte) []byte {
			c := slices.Clone(b[:lastRecordEnd(t, b)-50])
			return append(c, make([]byte, pageBytes-len(c)%pageBytes)...)
		}},
		{"garbage after the last record", func(b []byte) []byte {
			c := slices.Clone(b[:lastRecordEnd(t, b)-40])
			for i := range 40 {
				c = append(c, byte(i*37+11))
			}
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, src)
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(seg)), tc.mangle(full), 0o600); err != nil {
				t.Fatal(err)
			}
			q := open(t, dir, Options{})
			st := q.Stats()
			got := drain(t, q, 2000)
			// The 10th interval spans two records (500 + 260 - 500); a cut in
			// its last record leaves its first.
			w := want(260, 0, 9)
			if len(got) < len(w) || !slices.Equal(got[:len(w)], w) {
				t.Fatalf("read %d samples, want the first %d intact", len(got), len(w))
			}
			if len(got) >= 260*10 {
				t.Fatalf("read %d samples: the torn record was returned", len(got))
			}
			if st.Corruptions == 0 && tc.name != "cut in the last record's header" {
				t.Errorf("the torn write was not counted")
			}
			// Writing goes on in a new segment after the torn one.
			appendN(t, q, 260, 10, 12)
			if got := drain(t, q, 2000); !slices.Equal(got, want(260, 10, 12)) {
				t.Fatalf("after a torn write, new samples read back as %d, want %d", len(got), 520)
			}
		})
	}
}

// records returns the start and end offsets of the records in a segment.
func records(t *testing.T, b []byte) (starts, ends []int64) {
	t.Helper()
	r := wlog.NewReader(&sliceReader{b: b})
	var prev int64
	for r.Next() {
		starts = append(starts, prev)
		prev = r.Offset()
		ends = append(ends, prev)
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	return starts, ends
}

func lastRecordEnd(t *testing.T, b []byte) int {
	_, ends := records(t, b)
	return int(ends[len(ends)-1])
}

func lastRecordStart(t *testing.T, b []byte) int {
	starts, _ := records(t, b)
	return int(starts[len(starts)-1])
}

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func TestCorruptedRecord(t *testing.T) {
	// A flipped bit in the middle of an older segment: the records before it
	// are read, the rest of that segment is dropped (its CRC fails), and the
	// later segments are read in full.
	src := t.TempDir()
	q := open(t, src, Options{SegmentBytes: 32 << 10})
	appendN(t, q, 100, 0, 200)
	q.Close()
	idx, _ := listSegments(src)
	if len(idx) < 4 {
		t.Fatalf("want at least 4 segments, got %d", len(idx))
	}
	for _, where := range []string{"live reader", "restart"} {
		t.Run(where, func(t *testing.T) {
			dir := copyDir(t, src)
			var q *Queue
			if where == "live reader" {
				q = open(t, dir, Options{SegmentBytes: 32 << 10})
			}
			path := wlog.SegmentName(dir, idx[1])
			b, _ := os.ReadFile(path)
			starts, _ := records(t, b)
			b[starts[len(starts)/2]+20] ^= 0x10
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if q == nil {
				q = open(t, dir, Options{SegmentBytes: 32 << 10})
			}
			got := drain(t, q, 1000)
			all := want(100, 0, 200)
			if len(got) >= len(all) || len(got) < len(all)/2 {
				t.Fatalf("read %d of %d samples", len(got), len(all))
			}
			// What was read is the queued data in order, with one gap.
			i := 0
			for i < len(got) && got[i] == all[i] {
				i++
			}
			j := slices.Index(all, got[i])
			if j < 0 || !slices.Equal(got[i:], all[j:]) {
				t.Fatalf("after the damage at sample %d the rest is not the queued tail", i)
			}
			if q.Stats().Corruptions != 1 {
				t.Errorf("corruptions %d, want 1", q.Stats().Corruptions)
			}
			if q.Stats().Pending != 0 {
				t.Errorf("pending %d after draining", q.Stats().Pending)
			}
		})
	}
}

func TestMaxBytes(t *testing.T) {
	q := open(t, t.TempDir(), Options{MaxBytes: 512 << 10, SegmentBytes: 64 << 10})
	appendN(t, q, 260, 0, 400)
	before := q.Stats()
	d, err := q.Enforce(t0)
	if err != nil {
		t.Fatal(err)
	}
	st := q.Stats()
	if st.Bytes > 512<<10 {
		t.Errorf("queue holds %d bytes after Enforce, over 512 KiB", st.Bytes)
	}
	if d.MaxBytes == 0 || before.Pending-d.MaxBytes != st.Pending {
		t.Errorf("dropped %d: pending %d -> %d", d.MaxBytes, before.Pending, st.Pending)
	}
	got := drain(t, q, 2000)
	all := want(260, 0, 400)
	// The newest are kept, the oldest dropped, whole segments at a time.
	if int64(len(got)) != st.Pending || !slices.Equal(got, all[len(all)-len(got):]) {
		t.Fatalf("read %d samples, want the newest %d", len(got), st.Pending)
	}
}

func TestMaxBytesWhileReading(t *testing.T) {
	// Segments are dropped under a reader that is part-way through them.
	q := open(t, t.TempDir(), Options{MaxBytes: 256 << 10, SegmentBytes: 32 << 10})
	appendN(t, q, 100, 0, 100)
	b, err := q.Next(150, t0)
	if err != nil || len(b.Samples) == 0 {
		t.Fatal(len(b.Samples), err)
	}
	appendN(t, q, 100, 100, 600)
	d, err := q.Enforce(t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Ack(b.End, int64(len(b.Samples))); err != nil {
		t.Fatal(err)
	}
	pending := q.Stats().Pending
	got := drain(t, q, 2000)
	if int64(len(got)) != pending {
		t.Errorf("read %d, pending said %d", len(got), pending)
	}
	if int64(len(b.Samples))+d.MaxBytes+int64(len(got)) != 100*600 {
		t.Errorf("in flight %d + dropped %d + read %d != queued %d", len(b.Samples), d.MaxBytes, len(got), 100*600)
	}
	all := want(100, 0, 600)
	if !slices.Equal(got, all[len(all)-len(got):]) {
		t.Fatalf("did not read the newest %d samples", len(got))
	}
}

func TestMaxAge(t *testing.T) {
	q := open(t, t.TempDir(), Options{MaxAge: time.Minute, SegmentBytes: 32 << 10})
	appendN(t, q, 100, 0, 300) // 5 minutes of samples at 1 s
	now := t0.Add(300 * time.Second)
	d, err := q.Enforce(now)
	if err != nil {
		t.Fatal(err)
	}
	var dropped, read int64 = d.MaxAge, 0
	for {
		b, err := q.Next(1000, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Samples) == 0 && b.Dropped == 0 {
			break
		}
		for _, s := range b.Samples {
			if s.T < now.Add(-time.Minute).UnixMilli() {
				t.Fatalf("sample at %d older than MaxAge returned", s.T)
			}
		}
		dropped += b.Dropped
		read += int64(len(b.Samples))
		if err := q.Ack(b.End, int64(len(b.Samples))+b.Dropped); err != nil {
			t.Fatal(err)
		}
	}
	if d.MaxAge == 0 {
		t.Error("Enforce dropped no whole segment past MaxAge")
	}
	if read != 100*60 || dropped != 100*240 {
		t.Errorf("read %d (want %d), dropped %d (want %d)", read, 100*60, dropped, 100*240)
	}
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir, Options{SegmentBytes: 32 << 10})
	appendN(t, q, 50, 0, 100)
	b, _ := q.Next(1000, t0)
	if err := q.Ack(b.End, int64(len(b.Samples))); err != nil {
		t.Fatal(err)
	}
	var acked, pending int
	damaged, err := Scan(dir, func(_ Sample, a bool) {
		if a {
			acked++
		} else {
			pending++
		}
	})
	if err != nil || damaged != 0 {
		t.Fatal(damaged, err)
	}
	if acked != len(b.Samples) || int64(pending) != q.Stats().Pending {
		t.Errorf("scan: %d acknowledged (want %d), %d pending (want %d)", acked, len(b.Samples), pending, q.Stats().Pending)
	}
}

func TestPowerCutLosesAtMostTheLastAcknowledgement(t *testing.T) {
	// A power cut keeps what was synced and loses what was not: the
	// acknowledgements written after the last Sync. The batch they
	// acknowledged is sent again (at least once), nothing is lost.
	dir := t.TempDir()
	q := open(t, dir, Options{})
	appendN(t, q, 100, 0, 10) // synced
	b1, _ := q.Next(300, t0)
	if err := q.Ack(b1.End, int64(len(b1.Samples))); err != nil {
		t.Fatal(err)
	}
	if err := q.Sync(); err != nil {
		t.Fatal(err)
	}
	synced := copyDir(t, dir) // the disk as the last fsync left it
	b2, _ := q.Next(300, t0)
	if err := q.Ack(b2.End, int64(len(b2.Samples))); err != nil { // not synced: lost in the cut
		t.Fatal(err)
	}
	q2 := open(t, synced, Options{})
	got := drain(t, q2, 300)
	all := want(100, 0, 10)
	if !slices.Equal(got, all[len(b1.Samples):]) {
		t.Fatalf("after the power cut read %d samples, want the %d after the synced acknowledgement", len(got), len(all)-len(b1.Samples))
	}
}

package queue

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/tsdb/wlog"
)

// FuzzReader feeds arbitrary bytes to the queue as a segment left by an
// earlier run, followed by a valid segment: Scan and Open must never panic or
// hang, what they read must add up, and the valid segment after the damaged
// one must still be read in full. `go test` runs the seeds; `go test -fuzz
// FuzzReader ./exporters/push/queue` explores.
func FuzzReader(f *testing.F) {
	// Seeds: a clean segment, one with an acknowledgement, and cut-short
	// and bit-flipped versions of them.
	src := f.TempDir()
	q, err := Open(Options{Dir: src})
	if err != nil {
		f.Fatal(err)
	}
	for k := range 3 {
		if err := q.Append(interval(40, k)); err != nil {
			f.Fatal(err)
		}
	}
	b, _ := q.Next(50, t0)
	if err := q.Ack(b.End, int64(len(b.Samples))); err != nil {
		f.Fatal(err)
	}
	if err := q.Append(interval(40, 3)); err != nil {
		f.Fatal(err)
	}
	q.Close()
	clean, err := os.ReadFile(wlog.SegmentName(src, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(clean)
	f.Add(clean[:len(clean)/2])
	f.Add(clean[:7])
	flipped := append([]byte(nil), clean...)
	flipped[len(flipped)/3] ^= 0xff
	f.Add(flipped)
	f.Add([]byte{})
	f.Add(make([]byte, pageBytes+3))
	f.Add([]byte{1, 0, 4, 0, 0, 0, 0, ackType, 1, 2, 3})

	f.Fuzz(func(t *testing.T, seg []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "00000000"), seg, 0o600); err != nil {
			t.Fatal(err)
		}
		var scanned int
		if _, err := Scan(dir, func(Sample, bool) { scanned++ }); err != nil {
			t.Fatal(err)
		}
		q, err := Open(Options{Dir: dir, MaxAge: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		if err := q.Append(interval(5, 1000)); err != nil {
			t.Fatal(err)
		}
		pending := q.Stats().Pending
		var read int64
		var valid int
		for range 10000 {
			b, err := q.Next(100, t0.Add(1000*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			n := int64(len(b.Samples)) + b.Dropped
			if n == 0 {
				break
			}
			for _, s := range b.Samples {
				if s.T == t0.Add(1000*time.Second).UnixMilli() && s.Labels.Get("series") != "" {
					valid++
				}
			}
			read += n
			if err := q.Ack(b.End, n); err != nil {
				t.Fatal(err)
			}
		}
		if read != pending {
			t.Fatalf("read %d samples, Stats said %d pending", read, pending)
		}
		if valid < 5 {
			t.Fatalf("the valid samples written after the damaged segment: read %d of 5", valid)
		}
		if int64(scanned)+5 < read {
			t.Fatalf("Scan saw %d samples, the queue read %d", scanned, read-5)
		}
	})
}

package exporters

import (
	"time"

	"github.com/wardprobe/wardprobe/probe"
)

// Window of the landing page's per-target figures.
const (
	statusWindow = time.Minute
	// recentFailures bounds the failures kept per target for the page.
	recentFailures = 10
)

// Failure is one failed result, for the landing page.
type Failure struct {
	Time   time.Time
	Reason probe.Reason
	Detail string
}

// secondBucket is one second of a target's results.
type secondBucket struct {
	sec                     int64 // Unix second; 0 when unused
	results, failures       int
	packets, lost, answered int
	durSum                  time.Duration
	okResults               int
	okDurSum                time.Duration
	jitter                  time.Duration
	haveJitter              bool
}

// recent keeps a minute of a target's results in one-second buckets (bounded
// memory whatever the rate) and its last failures.
type recent struct {
	buckets  [60]secondBucket
	failures []Failure
}

func (r *recent) add(res probe.Result) {
	sec := res.Time.Unix()
	b := &r.buckets[sec%int64(len(r.buckets))]
	if b.sec != sec {
		*b = secondBucket{sec: sec}
	}
	b.results++
	b.packets += res.Packets
	if res.Success {
		b.okResults++
		b.okDurSum += res.Duration
		if res.Packets > 0 {
			b.answered += res.Packets
			b.durSum += res.Duration
		}
	} else {
		b.failures++
		b.lost += res.Packets
		r.failures = append(r.failures, Failure{res.Time, res.Reason, res.Detail})
		if len(r.failures) > recentFailures {
			r.failures = r.failures[1:]
		}
	}
	if res.HaveJitter {
		b.jitter, b.haveJitter = res.Jitter, true
	}
}

// Minute is what a target did over the last minute.
type Minute struct {
	Results, Failures int
	// Packets, Lost and Answered count the packets of a packet kind.
	Packets, Lost, Answered int
	// RTT is the mean round trip of answered packets; Mean the mean
	// duration of successful results (any kind). Zero when there are none.
	RTT, Mean time.Duration
	// Jitter is the latest jitter in the window; HaveJitter whether there is one.
	Jitter     time.Duration
	HaveJitter bool
}

// Loss returns the share of packets lost, and whether there were any.
func (m Minute) Loss() (float64, bool) {
	if m.Packets == 0 {
		return 0, false
	}
	return float64(m.Lost) / float64(m.Packets), true
}

func (r *recent) minute(now time.Time) Minute {
	var m Minute
	var rttSum, okSum time.Duration
	var ok int
	latest := int64(0)
	from := now.Add(-statusWindow).Unix()
	for _, b := range r.buckets {
		if b.sec == 0 || b.sec <= from || b.sec > now.Unix() {
			continue
		}
		m.Results += b.results
		m.Failures += b.failures
		m.Packets += b.packets
		m.Lost += b.lost
		m.Answered += b.answered
		rttSum += b.durSum
		okSum += b.okDurSum
		ok += b.okResults
		if b.haveJitter && b.sec > latest {
			latest, m.Jitter, m.HaveJitter = b.sec, b.jitter, true
		}
	}
	if m.Answered > 0 {
		m.RTT = rttSum / time.Duration(m.Answered)
	}
	if ok > 0 {
		m.Mean = okSum / time.Duration(ok)
	}
	return m
}

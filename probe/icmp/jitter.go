package icmp

import "time"

// Jitter is an RFC 3550 style interarrival jitter estimate over round-trip
// times: J += (|D| − J)/16, where D is the difference between consecutive RTTs.
type Jitter struct {
	last time.Duration
	have bool
	j    float64 // nanoseconds
}

// Add folds a new RTT in and returns the jitter estimate.
func (j *Jitter) Add(rtt time.Duration) time.Duration {
	if j.have {
		d := float64(rtt - j.last)
		if d < 0 {
			d = -d
		}
		j.j += (d - j.j) / 16
	}
	j.last, j.have = rtt, true
	return time.Duration(j.j)
}

// Value returns the current jitter estimate.
func (j *Jitter) Value() time.Duration { return time.Duration(j.j) }

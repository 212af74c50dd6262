package survey

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/wardprobe/wardprobe/probe/coverage"
	"github.com/wardprobe/wardprobe/probe/wifi"
)

// Verdict is a point's judgement against the ward's standard.
type Verdict struct {
	Standard string `json:"standard"`
	Met      bool   `json:"met"`
	// State is the coverage state a device would be in here: good,
	// degraded, notspot or disconnected (no BSS of the configured SSIDs heard).
	State  string  `json:"state"`
	Reason string  `json:"reason"`
	Checks []Check `json:"checks"`
}

// Check is one threshold of the standard applied at a point.
type Check struct {
	Name string `json:"name"`
	// Measured says whether there was a measurement to judge; an unmeasured
	// check does not count against the standard.
	Measured bool `json:"measured"`
	Met      bool `json:"met"`
	// Value is in base units (dBm, dB, ratio, seconds); nil when there is
	// none (a second AP that was not heard).
	Value *float64 `json:"value"`
	Limit float64  `json:"limit"`
	// Text says it in words, e.g. "signal FAILS: -70 dBm (needs >= -65 dBm)".
	Text string `json:"text"`
}

// Failed returns the checks that were judged and failed.
func (v Verdict) Failed() []Check {
	var out []Check
	for _, c := range v.Checks {
		if c.Measured && !c.Met {
			out = append(out, c)
		}
	}
	return out
}

// Counts reports whether a BSS of SSID ssid (escaped) counts for coverage:
// it is one of ssids (written in the config with the same escapes, so a
// plain UTF-8 SSID is itself), or ssids is empty.
func Counts(ssid string, ssids []string) bool {
	return len(ssids) == 0 || slices.Contains(ssids, ssid)
}

// Judge judges point p with the coverage rules of the fixed probes
// (probe/coverage.Assess) against the standard s.Standard: the signal is the
// strongest BSS of the configured SSIDs the scans heard (the AP a device
// would roam to here, whatever the survey laptop happened to be associated
// with), the second AP the next strongest of the same SSID, the noise floor
// that of its channel and the SNR its signal minus that noise, and loss, RTT
// and jitter come from the ping burst. What a survey point does not measure
// (retries, channel busy time, connect and roam times) is not judged. A point where no BSS of the configured SSIDs was
// heard is "disconnected"; one whose every ICMP target lost every packet of
// its burst is a not-spot.
func Judge(p Point, s coverage.Settings) Verdict {
	var counted []BSS
	for _, b := range p.BSS {
		if Counts(b.SSID, s.SSIDs) {
			counted = append(counted, b)
		}
	}
	SortBSS(counted)
	snap := wifi.Snapshot{Time: p.Time, Present: true}
	if len(counted) == 0 {
		what := "any SSID"
		if len(s.SSIDs) > 0 {
			what = strings.Join(s.SSIDs, ", ")
		}
		snap.Detail = "no BSS of " + what + " heard here"
	} else {
		best := counted[0]
		snap.Associated, snap.Connected = true, true
		l := &snap.Link
		l.SSID, l.BSSID, l.FrequencyMHz, l.Channel = best.SSID, best.BSSID, best.FrequencyMHz, best.Channel
		l.Signal = wifi.Some(best.SignalDBM)
		if best.NoiseDBM != nil {
			l.Noise = wifi.Some(*best.NoiseDBM)
			l.SNR = wifi.Some(best.SignalDBM - *best.NoiseDBM)
		}
		for _, b := range counted {
			snap.Neighbors = append(snap.Neighbors, wifi.Neighbor{SSID: b.SSID, BSSID: b.BSSID,
				FrequencyMHz: b.FrequencyMHz, Channel: b.Channel, Signal: b.SignalDBM, Current: b.BSSID == best.BSSID})
		}
	}
	a := coverage.Assess(coverage.Input{WiFi: snap, Network: network(p.Ping)}, s)
	v := Verdict{Standard: s.Standard, State: string(a.State), Reason: a.Reason}
	if cv, ok := a.Verdict(s.Standard); ok {
		v.Met = cv.Met
		for _, c := range cv.Checks {
			out := Check{Name: c.Name, Measured: c.Measured, Met: c.Met, Limit: c.Limit, Text: c.String()}
			if c.Measured && !math.IsInf(c.Value, 0) && !math.IsNaN(c.Value) {
				val := c.Value
				out.Value = &val
			}
			v.Checks = append(v.Checks, out)
		}
	}
	return v
}

// network sums the ping bursts into what coverage judges loss, RTT and
// jitter by.
func network(pings []Ping) coverage.Network {
	var n coverage.Network
	var rttSum float64
	targets, silent := 0, 0
	for _, p := range pings {
		if p.Sent == 0 {
			continue
		}
		targets++
		if p.Lost == p.Sent {
			silent++
		}
		n.Packets += p.Sent
		n.Lost += p.Lost
		answered := p.Sent - p.Lost
		n.Answered += answered
		if p.RTTSeconds != nil {
			rttSum += *p.RTTSeconds * float64(answered)
		}
		if p.JitterSeconds != nil {
			j := time.Duration(*p.JitterSeconds * float64(time.Second))
			if !n.HaveJitter || j > n.Jitter {
				n.Jitter, n.HaveJitter = j, true
			}
		}
	}
	if n.Answered > 0 {
		n.RTT = time.Duration(rttSum / float64(n.Answered) * float64(time.Second))
	}
	if targets > 0 && silent == targets && n.Packets >= coverage.UnreachableAfter {
		n.Unusable = fmt.Sprintf("the network does not answer: no ICMP target answered any of the %d packets of the ping burst", n.Packets)
	}
	return n
}

// Summarize turns a burst's round trips into a Ping.
func Summarize(target, address string, sent int, rtts []time.Duration) Ping {
	p := Ping{Target: target, Address: address, Sent: sent, Lost: sent - len(rtts)}
	if sent > 0 {
		p.LossRatio = float64(p.Lost) / float64(sent)
	}
	if len(rtts) > 0 {
		var sum time.Duration
		for _, r := range rtts {
			sum += r
		}
		mean := (sum / time.Duration(len(rtts))).Seconds()
		p.RTTSeconds = &mean
	}
	if len(rtts) > 1 {
		var d float64
		for i := 1; i < len(rtts); i++ {
			d += math.Abs((rtts[i] - rtts[i-1]).Seconds())
		}
		j := d / float64(len(rtts)-1)
		p.JitterSeconds = &j
	}
	return p
}

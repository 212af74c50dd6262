// Package coverage judges what a clinical device at the probe's spot
// experiences: a coverage state (good, degraded, notspot, disconnected) and,
// for every known minimum standard, whether it is met. It is pure logic over
// a Wi-Fi snapshot and the recent results of the network probes.
package coverage

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe/wifi"
)

// State is a coverage state.
type State string

// Coverage states, best first.
const (
	// Good: meets the ward's standard.
	Good State = "good"
	// Degraded: usable, but fails the ward's standard.
	Degraded State = "degraded"
	// NotSpot: associated, but the signal is below the not-spot floor or the
	// network cannot carry traffic (no address, nothing answers).
	NotSpot State = "notspot"
	// Disconnected: not associated with an AP of the configured SSIDs.
	Disconnected State = "disconnected"
)

// States returns every state, best first.
func States() []State { return []State{Good, Degraded, NotSpot, Disconnected} }

// Check names, the "check" label of wardprobe_standard_check_met.
const (
	CheckSignal   = "signal"
	CheckSNR      = "snr"
	CheckSecondAP = "second_ap"
	CheckLoss     = "loss"
	CheckRTT      = "rtt"
	CheckJitter   = "jitter"
)

// MinPackets is the least number of ICMP packets in the window for loss to
// be judged.
const MinPackets = 5

// Settings are the parts of the config coverage is judged by.
type Settings struct {
	// Standard is the name of the ward's standard.
	Standard string
	// Standards are every known standard, resolved (built-in values with
	// custom overrides), by name.
	Standards map[string]config.Standard
	// NotSpotDBM is the signal below which an associated station is in a not-spot.
	NotSpotDBM float64
	// SSIDs are the configured SSIDs (empty: the one the interface is on).
	SSIDs []string
}

// SettingsFrom takes the Settings from a config.
func SettingsFrom(c *config.Config) Settings {
	s := Settings{Standard: c.Standard, Standards: map[string]config.Standard{}, NotSpotDBM: c.WiFi.NotSpotDBM,
		SSIDs: slices.Clone(c.WiFi.SSIDs)}
	names := []string{}
	for n := range config.BuiltinStandards() {
		names = append(names, n)
	}
	for n := range c.Standards {
		names = append(names, n)
	}
	for _, n := range names {
		if st, ok := c.ResolveStandard(n); ok {
			s.Standards[n] = st
		}
	}
	return s
}

// Network is what the network probes saw recently.
type Network struct {
	// Packets is how many ICMP packets the window holds, Lost how many of
	// them were lost.
	Packets, Lost int
	// Answered is how many were answered; RTT is their mean round trip.
	Answered int
	RTT      time.Duration
	// Jitter is the largest latest jitter of the ICMP targets; HaveJitter
	// says whether there is one.
	Jitter     time.Duration
	HaveJitter bool
	// Unusable says why the network cannot carry traffic ("" when it can).
	Unusable string
}

// Loss returns the share of packets lost (0 when there are none).
func (n Network) Loss() float64 {
	if n.Packets == 0 {
		return 0
	}
	return float64(n.Lost) / float64(n.Packets)
}

// Input is everything coverage is judged from.
type Input struct {
	WiFi    wifi.Snapshot
	Network Network
}

// Check is one threshold of a standard applied to one measurement.
type Check struct {
	Name string
	// Measured says whether the measurement was there; a check without it is
	// not judged and does not count against the standard.
	Measured bool
	Met      bool
	// Value and Limit are in base units: dBm, dB, ratio, seconds. Value is
	// -Inf for a second AP when none was heard.
	Value, Limit float64
}

// String describes the check in words.
func (c Check) String() string {
	unit, cmp := "", ">="
	val, lim := c.Value, c.Limit
	switch c.Name {
	case CheckSignal, CheckSecondAP:
		unit = " dBm"
	case CheckSNR:
		unit = " dB"
	case CheckLoss:
		unit, cmp, val, lim = "%", "<=", 100*val, 100*lim
	case CheckRTT, CheckJitter:
		unit, cmp, val, lim = " ms", "<=", 1000*val, 1000*lim
	}
	if !c.Measured {
		return fmt.Sprintf("%s not measured", c.Name)
	}
	if c.Name == CheckSecondAP && math.IsInf(c.Value, -1) {
		return fmt.Sprintf("no second AP heard (needs %s %.0f%s)", cmp, lim, unit)
	}
	verdict := "ok"
	if !c.Met {
		verdict = "FAILS"
	}
	return fmt.Sprintf("%s %s: %.4g%s (needs %s %.4g%s)", c.Name, verdict, val, unit, cmp, lim, unit)
}

// Verdict is whether one standard is met.
type Verdict struct {
	Standard string
	Met      bool
	// Checks are the thresholds the standard sets, in a fixed order.
	Checks []Check
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

// Assessment is the coverage judgement at one moment.
type Assessment struct {
	Time  time.Time
	State State
	// Reason says why, in words.
	Reason string
	// Standard is the ward's standard; Verdicts hold every standard, by name.
	Standard string
	Verdicts []Verdict
	// VisibleAPs counts, per SSID, the BSSs heard at or above VisibleDBM.
	VisibleAPs map[string]int
	VisibleDBM float64
}

// Verdict returns the verdict on the standard named name.
func (a Assessment) Verdict(name string) (Verdict, bool) {
	for _, v := range a.Verdicts {
		if v.Standard == name {
			return v, true
		}
	}
	return Verdict{}, false
}

// Assess judges the input against the settings.
func Assess(in Input, s Settings) Assessment {
	w := in.WiFi
	a := Assessment{Time: w.Time, Standard: s.Standard, VisibleDBM: visibleDBM(s)}
	a.VisibleAPs = visible(w, s, a.VisibleDBM)
	names := make([]string, 0, len(s.Standards))
	for n := range s.Standards {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := Verdict{Standard: n}
		if w.Connected {
			v = judge(n, s.Standards[n], in)
		}
		a.Verdicts = append(a.Verdicts, v)
	}
	sig := w.Link.SignalUsed()
	switch {
	case !w.Connected:
		a.State, a.Reason = Disconnected, w.Detail
		if a.Reason == "" {
			a.Reason = "not connected"
		}
	case sig.OK && sig.V < s.NotSpotDBM:
		a.State = NotSpot
		a.Reason = fmt.Sprintf("signal %.0f dBm is below the not-spot floor of %.0f dBm", sig.V, s.NotSpotDBM)
	case in.Network.Unusable != "":
		a.State, a.Reason = NotSpot, in.Network.Unusable
	default:
		v, ok := a.Verdict(s.Standard)
		switch {
		case !ok:
			a.State, a.Reason = Degraded, fmt.Sprintf("unknown standard %q", s.Standard)
		case v.Met:
			a.State, a.Reason = Good, fmt.Sprintf("meets the %s standard", s.Standard)
		default:
			var why []string
			for _, c := range v.Failed() {
				why = append(why, c.String())
			}
			a.State, a.Reason = Degraded, fmt.Sprintf("fails the %s standard: %s", s.Standard, strings.Join(why, "; "))
		}
	}
	if a.State == NotSpot || a.State == Disconnected {
		for i := range a.Verdicts {
			a.Verdicts[i].Met = false
		}
	}
	return a
}

// judge applies one standard.
func judge(name string, st config.Standard, in Input) Verdict {
	v := Verdict{Standard: name, Met: true}
	l := in.WiFi.Link
	n := in.Network
	add := func(check string, limit *float64, measured bool, value float64, atLeast bool) {
		if limit == nil {
			return
		}
		c := Check{Name: check, Measured: measured, Value: value, Limit: *limit}
		if measured {
			if atLeast {
				c.Met = value >= *limit
			} else {
				c.Met = value <= *limit
			}
			v.Met = v.Met && c.Met
		}
		v.Checks = append(v.Checks, c)
	}
	sig := l.SignalUsed()
	add(CheckSignal, st.SignalDBM, sig.OK, sig.V, true)
	add(CheckSNR, st.SNRDB, l.SNR.OK, l.SNR.V, true)
	add(CheckSecondAP, st.SecondAPDBM, true, secondAP(in.WiFi), true)
	add(CheckLoss, st.LossRatio, n.Packets >= MinPackets, n.Loss(), false)
	add(CheckRTT, st.RTTSeconds, n.Answered > 0, n.RTT.Seconds(), false)
	add(CheckJitter, st.JitterSeconds, n.HaveJitter, n.Jitter.Seconds(), false)
	return v
}

// secondAP returns the signal of the strongest BSS of the current SSID other
// than the current one, -Inf when none was heard.
func secondAP(w wifi.Snapshot) float64 {
	best := math.Inf(-1)
	for _, nb := range w.Neighbors {
		if nb.SSID == w.Link.SSID && nb.BSSID != w.Link.BSSID && nb.Signal > best {
			best = nb.Signal
		}
	}
	return best
}

// visibleDBM is the signal at which an AP counts as visible for roaming: the
// ward standard's second-AP threshold, else its signal threshold, else the
// not-spot floor.
func visibleDBM(s Settings) float64 {
	st := s.Standards[s.Standard]
	switch {
	case st.SecondAPDBM != nil:
		return *st.SecondAPDBM
	case st.SignalDBM != nil:
		return *st.SignalDBM
	}
	return s.NotSpotDBM
}

// visible counts the BSSs per SSID at or above dbm: every configured SSID
// (or the current one) appears, with 0 when none is heard.
func visible(w wifi.Snapshot, s Settings, dbm float64) map[string]int {
	out := map[string]int{}
	for _, ssid := range s.SSIDs {
		out[ssid] = 0
	}
	if len(s.SSIDs) == 0 && w.Associated {
		out[w.Link.SSID] = 0
	}
	counted := map[string]bool{}
	if w.Associated {
		if sig := w.Link.SignalUsed(); sig.OK && sig.V >= dbm {
			if _, ok := out[w.Link.SSID]; ok {
				out[w.Link.SSID]++
				counted[w.Link.BSSID] = true
			}
		}
	}
	for _, nb := range w.Neighbors {
		if _, ok := out[nb.SSID]; !ok || counted[nb.BSSID] || (w.Associated && nb.BSSID == w.Link.BSSID) {
			continue
		}
		if nb.Signal >= dbm {
			out[nb.SSID]++
			counted[nb.BSSID] = true
		}
	}
	return out
}

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

// CheckSignal is the check every standard needs measured: without a signal,
// coverage is never good.
const CheckSignal = "signal"

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
	for _, n := range c.StandardNames() {
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
	// Connect is how long the last successful connect test took to join
	// the network, in seconds; Roam how long the last roam took.
	Connect, Roam wifi.Value
}

// Check is one threshold of a standard applied to one measurement.
type Check struct {
	// Name is the threshold's check name ("signal").
	Name string
	// Measured says whether the measurement was there. An unmeasured check
	// is not met and not failed: it is shown as unmeasured, and a standard
	// with its signal check unmeasured is not met.
	Measured bool
	Met      bool
	// Value and Limit are in the threshold's unit: dBm, dB, ratio or
	// seconds. Value is -Inf for a second AP when none was heard.
	Value, Limit float64
	// Unit and AtLeast come from the threshold.
	Unit    string
	AtLeast bool
}

// String describes the check in words.
func (c Check) String() string {
	cmp := "<="
	if c.AtLeast {
		cmp = ">="
	}
	scale, unit := 1.0, " "+c.Unit
	switch c.Unit {
	case config.UnitRatio:
		scale, unit = 100, "%"
	case config.UnitSeconds:
		scale, unit = 1000, " ms"
	}
	val, lim := c.Value*scale, c.Limit*scale
	if !c.Measured {
		return fmt.Sprintf("%s not measured (needs %s %.4g%s)", c.Name, cmp, lim, unit)
	}
	if math.IsInf(c.Value, -1) { // a second AP, when none was heard
		return fmt.Sprintf("no second AP heard (needs %s %.4g%s)", cmp, lim, unit)
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
	return slices.DeleteFunc(slices.Clone(v.Checks), func(c Check) bool { return !c.Measured || c.Met })
}

// Unmeasured returns the checks whose measurement was missing.
func (v Verdict) Unmeasured() []Check {
	return slices.DeleteFunc(slices.Clone(v.Checks), func(c Check) bool { return c.Measured })
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
	case !sig.OK:
		a.State, a.Reason = Degraded, "no signal measurement: the driver reports no signal for the associated AP, so coverage cannot be judged good"
	default:
		v, ok := a.Verdict(s.Standard)
		switch {
		case !ok:
			a.State, a.Reason = Degraded, fmt.Sprintf("unknown standard %q", s.Standard)
		case v.Met:
			a.State, a.Reason = Good, fmt.Sprintf("meets the %s standard", s.Standard)
			if un := v.Unmeasured(); len(un) > 0 {
				a.Reason += fmt.Sprintf(" (%d of its checks not measured)", len(un))
			}
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

// measure returns the measurement of the threshold with key, and whether
// there is one.
func measure(key string, in Input) (float64, bool) {
	l, n := in.WiFi.Link, in.Network
	val := func(v wifi.Value) (float64, bool) { return v.V, v.OK }
	switch key {
	case "signal_dbm":
		return val(l.SignalUsed())
	case "snr_db":
		return val(l.SNR)
	case "noise_dbm":
		return val(l.Noise)
	case "second_ap_dbm":
		return secondAP(in.WiFi), true
	case "retry_ratio":
		return val(l.RetryRatio)
	case "channel_busy_ratio":
		return val(l.BusyRatio)
	case "loss_ratio":
		return n.Loss(), n.Packets >= MinPackets
	case "rtt_seconds":
		return n.RTT.Seconds(), n.Answered > 0
	case "jitter_seconds":
		return n.Jitter.Seconds(), n.HaveJitter
	case "connect_seconds":
		return val(in.Connect)
	case "roam_seconds":
		return val(in.Roam)
	}
	return 0, false
}

// judge applies one standard: every threshold it sets, in the table's order.
// It is met when every measured check is met and the signal is measured.
func judge(name string, st config.Standard, in Input) Verdict {
	v := Verdict{Standard: name, Met: true}
	for _, t := range config.Thresholds() {
		limit, ok := st.Limit(t.Key)
		if !ok {
			continue
		}
		value, measured := measure(t.Key, in)
		c := Check{Name: t.Check, Measured: measured, Value: value, Limit: limit, Unit: t.Unit, AtLeast: t.AtLeast}
		if measured {
			c.Met = value <= limit
			if t.AtLeast {
				c.Met = value >= limit
			}
		}
		v.Met = v.Met && (c.Met || !measured && t.Check != CheckSignal)
		v.Checks = append(v.Checks, c)
	}
	if !in.WiFi.Link.SignalUsed().OK {
		v.Met = false // no signal, no pass, whatever the standard sets
	}
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
	if v, ok := st.Limit("second_ap_dbm"); ok {
		return v
	}
	if v, ok := st.Limit("signal_dbm"); ok {
		return v
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

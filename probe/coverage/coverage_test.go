package coverage

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/probe/kinds"
	"github.com/wardprobe/wardprobe/probe/wifi"
)

func settings(t *testing.T, yaml string) Settings {
	t.Helper()
	c, err := kinds.Parse("t.yml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return SettingsFrom(c)
}

const (
	cur   = "02:00:00:00:00:00"
	other = "02:00:00:00:01:00"
)

// ward is a snapshot of a station connected to CLINICAL with the given
// average signal and noise, and a second AP at second dBm (none when NaN).
func ward(signal, noise, second float64) wifi.Snapshot {
	s := wifi.Snapshot{Time: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC), Interface: "wlan0", Present: true,
		Associated: true, Connected: true, Detail: "connected",
		Link: wifi.Link{SSID: "CLINICAL", BSSID: cur, FrequencyMHz: 5180, Channel: 36, Band: "5GHz",
			Signal: wifi.Some(signal + 1), SignalAverage: wifi.Some(signal)}}
	if !math.IsNaN(noise) {
		s.Link.Noise, s.Link.SNR = wifi.Some(noise), wifi.Some(signal-noise)
	}
	s.Neighbors = []wifi.Neighbor{{SSID: "CLINICAL", BSSID: cur, Signal: signal, Current: true}}
	if !math.IsNaN(second) {
		s.Neighbors = append(s.Neighbors, wifi.Neighbor{SSID: "CLINICAL", BSSID: other, Signal: second})
	}
	return s
}

// clean is a network window of 100 packets with the given losses, mean RTT and jitter.
func clean(lost int, rtt, jitter time.Duration) Network {
	return Network{Packets: 100, Lost: lost, Answered: 100 - lost, RTT: rtt, Jitter: jitter, HaveJitter: true}
}

func TestAssess(t *testing.T) {
	ms := time.Millisecond
	nan := math.NaN()
	voice := "standard: voice\nwifi: {ssids: [CLINICAL]}\n"
	for _, tc := range []struct {
		name   string
		cfg    string
		wifi   wifi.Snapshot
		net    Network
		state  State
		reason string
		met    map[string]bool
		checks map[string]string // check -> "met" | "fails" | "absent" for the ward standard
	}{
		{name: "good: every voice threshold met", cfg: voice, wifi: ward(-60, -95, -65), net: clean(0, 5*ms, 3*ms),
			state: Good, reason: "meets the voice standard", met: map[string]bool{"voice": true, "data": true},
			checks: map[string]string{"signal": "met", "snr": "met", "second_ap": "met", "loss": "met", "jitter": "met", "rtt": "absent"}},
		{name: "signal exactly at -67 meets voice", cfg: voice, wifi: ward(-67, -95, -67), net: clean(1, 5*ms, 30*ms),
			state: Good, met: map[string]bool{"voice": true, "data": true}},
		{name: "signal just below -67 is degraded", cfg: voice, wifi: ward(-67.5, -95, -66), net: clean(0, 5*ms, 3*ms),
			state: Degraded, reason: "fails the voice standard: signal FAILS: -67.5 dBm (needs >= -67 dBm)",
			met: map[string]bool{"voice": false, "data": true}, checks: map[string]string{"signal": "fails", "snr": "met"}},
		{name: "the average signal is judged, not the last frame", cfg: voice,
			wifi: func() wifi.Snapshot { s := ward(-68, -95, -60); s.Link.Signal = wifi.Some(-50); return s }(),
			net:  clean(0, 5*ms, 3*ms), state: Degraded, checks: map[string]string{"signal": "fails"}},
		{name: "the last frame's signal when there is no average", cfg: voice,
			wifi: func() wifi.Snapshot { s := ward(-68, -95, -60); s.Link.SignalAverage = wifi.Value{}; return s }(),
			net:  clean(0, 5*ms, 3*ms), state: Good},
		{name: "SNR exactly 25 meets voice", cfg: voice, wifi: ward(-65, -90, -66), net: clean(0, 5*ms, 3*ms), state: Good},
		{name: "SNR just below 25 fails voice", cfg: voice, wifi: ward(-65, -89.9, -66), net: clean(0, 5*ms, 3*ms),
			state: Degraded, checks: map[string]string{"snr": "fails", "signal": "met"}},
		{name: "no noise data: SNR not judged", cfg: voice, wifi: ward(-60, nan, -66), net: clean(0, 5*ms, 3*ms),
			state: Good, checks: map[string]string{"snr": "absent"}},
		{name: "no station signal: never good", cfg: voice,
			wifi: func() wifi.Snapshot {
				s := ward(-60, -95, -60)
				s.Link.Signal, s.Link.SignalAverage = wifi.Value{}, wifi.Value{}
				return s
			}(), net: clean(0, 5*ms, 3*ms), state: Degraded, reason: "no signal measurement",
			met: map[string]bool{"voice": false, "data": false}, checks: map[string]string{"signal": "absent"}},
		{name: "no second AP heard fails voice", cfg: voice, wifi: ward(-55, -95, nan), net: clean(0, 5*ms, 3*ms),
			state: Degraded, reason: "no second AP heard (needs >= -67 dBm)",
			met: map[string]bool{"voice": false, "data": true}, checks: map[string]string{"second_ap": "fails"}},
		{name: "second AP just below -67 fails voice", cfg: voice, wifi: ward(-55, -95, -67.01), net: clean(0, 5*ms, 3*ms),
			state: Degraded, checks: map[string]string{"second_ap": "fails"}},
		{name: "an AP of another SSID is no second AP", cfg: voice,
			wifi: func() wifi.Snapshot {
				s := ward(-55, -95, nan)
				s.Neighbors = append(s.Neighbors, wifi.Neighbor{SSID: "GUEST", BSSID: other, Signal: -40})
				return s
			}(), net: clean(0, 5*ms, 3*ms), state: Degraded, checks: map[string]string{"second_ap": "fails"}},
		{name: "loss exactly 1% meets voice", cfg: voice, wifi: ward(-60, -95, -60), net: clean(1, 5*ms, 3*ms), state: Good},
		{name: "loss 2% fails voice, meets data", cfg: voice, wifi: ward(-60, -95, -60), net: clean(2, 5*ms, 3*ms),
			state: Degraded, reason: "loss FAILS: 2% (needs <= 1%)", met: map[string]bool{"voice": false, "data": true}},
		{name: "loss 3% fails data too", cfg: voice, wifi: ward(-60, -95, -60), net: clean(3, 5*ms, 3*ms),
			state: Degraded, met: map[string]bool{"voice": false, "data": false}},
		{name: "too few packets: loss not judged", cfg: voice, wifi: ward(-60, -95, -60),
			net: Network{Packets: MinPackets - 1, Lost: 2, Answered: 2, RTT: 5 * ms}, state: Good,
			checks: map[string]string{"loss": "absent", "jitter": "absent"}},
		{name: "jitter just above 30 ms fails voice", cfg: voice, wifi: ward(-60, -95, -60), net: clean(0, 5*ms, 30*ms+time.Microsecond),
			state: Degraded, checks: map[string]string{"jitter": "fails"}},
		{name: "data standard: -72 dBm and no second AP is good", cfg: "standard: data\n", wifi: ward(-72, -95, nan),
			net: clean(2, 5*ms, 50*ms), state: Good, reason: "meets the data standard", met: map[string]bool{"voice": false, "data": true}},
		{name: "data standard: -72.5 dBm is degraded", cfg: "standard: data\n", wifi: ward(-72.5, -95, nan),
			net: clean(0, 5*ms, 3*ms), state: Degraded},
		{name: "custom standard with an RTT limit", cfg: "standard: trust\nstandards:\n  trust: {signal_dbm: -65, rtt_seconds: 0.1}\n",
			wifi: ward(-65, -95, nan), net: clean(0, 100*ms, 3*ms), state: Good,
			met:    map[string]bool{"trust": true, "voice": false, "data": true},
			checks: map[string]string{"signal": "met", "rtt": "met", "snr": "absent"}},
		{name: "custom standard: RTT above the limit", cfg: "standard: trust\nstandards:\n  trust: {signal_dbm: -65, rtt_seconds: 0.1}\n",
			wifi: ward(-60, -95, nan), net: clean(0, 101*ms, 3*ms), state: Degraded, checks: map[string]string{"rtt": "fails"}},
		{name: "overridden built-in: trust's -65 dBm voice", cfg: "standards:\n  voice: {signal_dbm: -65}\n",
			wifi: ward(-66, -95, -60), net: clean(0, 5*ms, 3*ms), state: Degraded, checks: map[string]string{"signal": "fails"}},
		{name: "not-spot floor: exactly -80 dBm is degraded, not a not-spot", cfg: voice, wifi: ward(-80, -95, nan),
			net: clean(0, 5*ms, 3*ms), state: Degraded, met: map[string]bool{"voice": false, "data": false}},
		{name: "below the not-spot floor", cfg: voice, wifi: ward(-80.5, -95, nan), net: clean(0, 5*ms, 3*ms),
			state: NotSpot, reason: "signal -80 dBm is below the not-spot floor of -80 dBm", met: map[string]bool{"voice": false, "data": false}},
		{name: "configured not-spot floor", cfg: "wifi: {notspot_dbm: -75}\n", wifi: ward(-76, -95, nan), net: clean(0, 5*ms, 3*ms), state: NotSpot},
		{name: "strong signal but no usable network is a not-spot", cfg: voice, wifi: ward(-50, -95, -55),
			net: Network{Packets: 10, Lost: 10, Unusable: "the network does not answer"}, state: NotSpot,
			reason: "the network does not answer", met: map[string]bool{"voice": false, "data": false}},
		{name: "disconnected", cfg: voice,
			wifi:  wifi.Snapshot{Interface: "wlan0", Present: true, Detail: "wlan0 is not associated with any access point"},
			state: Disconnected, reason: "wlan0 is not associated", met: map[string]bool{"voice": false, "data": false}},
		{name: "associated with another SSID is disconnected", cfg: voice,
			wifi:  func() wifi.Snapshot { s := ward(-50, -95, -50); s.Connected = false; s.Detail = "not ours"; return s }(),
			state: Disconnected, met: map[string]bool{"voice": false, "data": false}},
		{name: "no Wi-Fi interface", cfg: voice, wifi: wifi.Snapshot{Detail: "no Wi-Fi interface on this machine"},
			state: Disconnected, reason: "no Wi-Fi interface"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := settings(t, tc.cfg)
			a := Assess(Input{WiFi: tc.wifi, Network: tc.net}, s)
			if a.State != tc.state {
				t.Errorf("state %s, want %s (%s)", a.State, tc.state, a.Reason)
			}
			if !strings.Contains(a.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", a.Reason, tc.reason)
			}
			for name, met := range tc.met {
				v, ok := a.Verdict(name)
				if !ok || v.Met != met {
					t.Errorf("standard %s met=%v (known %v), want %v: %+v", name, v.Met, ok, met, v.Checks)
				}
			}
			v, _ := a.Verdict(s.Standard)
			for check, want := range tc.checks {
				got := "absent"
				for _, c := range v.Checks {
					if c.Name == check && c.Measured {
						got = map[bool]string{true: "met", false: "fails"}[c.Met]
					}
				}
				if got != want {
					t.Errorf("check %s: %s, want %s (%+v)", check, got, want, v.Checks)
				}
			}
		})
	}
}

func TestVisibleAPs(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name  string
		cfg   string
		wifi  wifi.Snapshot
		dbm   float64
		count map[string]int
	}{
		{"voice counts at -67: current and second", "standard: voice\nwifi: {ssids: [CLINICAL, STAFF]}\n", ward(-60, -95, -67), -67,
			map[string]int{"CLINICAL": 2, "STAFF": 0}},
		{"second just below the threshold", "standard: voice\nwifi: {ssids: [CLINICAL]}\n", ward(-60, -95, -67.5), -67,
			map[string]int{"CLINICAL": 1}},
		{"current below the threshold", "standard: voice\nwifi: {ssids: [CLINICAL]}\n", ward(-70, -95, -60), -67,
			map[string]int{"CLINICAL": 1}},
		{"data uses its signal threshold", "standard: data\nwifi: {ssids: [CLINICAL]}\n", ward(-72, -95, -73), -72,
			map[string]int{"CLINICAL": 1}},
		{"custom without signal thresholds uses the not-spot floor", "standard: x\nstandards:\n  x: {loss_ratio: 0.05}\n",
			ward(-79, -95, -81), -80, map[string]int{"CLINICAL": 1}},
		{"no SSIDs configured: the current one", "standard: voice\n", ward(-60, -95, nan), -67, map[string]int{"CLINICAL": 1}},
		{"disconnected, no SSIDs: nothing", "standard: voice\n", wifi.Snapshot{}, -67, map[string]int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Assess(Input{WiFi: tc.wifi}, settings(t, tc.cfg))
			if a.VisibleDBM != tc.dbm {
				t.Errorf("threshold %v, want %v", a.VisibleDBM, tc.dbm)
			}
			if len(a.VisibleAPs) != len(tc.count) {
				t.Errorf("visible %v, want %v", a.VisibleAPs, tc.count)
			}
			for ssid, n := range tc.count {
				if got, ok := a.VisibleAPs[ssid]; !ok || got != n {
					t.Errorf("visible[%s] = %d (present %v), want %d", ssid, got, ok, n)
				}
			}
		})
	}
}

// TestTransitions walks a ward through every state and back, checking each
// step's state against the one before.
func TestTransitions(t *testing.T) {
	ms := time.Millisecond
	nan := math.NaN()
	s := settings(t, "standard: voice\nwifi: {ssids: [CLINICAL]}\n")
	off := wifi.Snapshot{Interface: "wlan0", Present: true, Detail: "not associated"}
	gone := wifi.Snapshot{Interface: "wlan0", Detail: "missing"}
	steps := []struct {
		wifi wifi.Snapshot
		net  Network
		want State
	}{
		{off, Network{}, Disconnected},
		{ward(-55, -95, -60), clean(0, 2*ms, 1*ms), Good},
		{ward(-70, -95, -75), clean(0, 2*ms, 1*ms), Degraded},
		{ward(-85, -95, nan), clean(0, 2*ms, 1*ms), NotSpot},
		{ward(-70, -95, -75), clean(0, 2*ms, 1*ms), Degraded},
		{ward(-55, -95, -60), clean(0, 2*ms, 1*ms), Good},
		{ward(-85, -95, -90), clean(0, 2*ms, 1*ms), NotSpot},
		{ward(-55, -95, -60), clean(0, 2*ms, 1*ms), Good},
		{off, clean(50, 2*ms, 1*ms), Disconnected},
		{ward(-70, -95, -60), clean(50, 2*ms, 1*ms), Degraded},
		{gone, Network{}, Disconnected},
		{ward(-55, -95, -60), Network{Unusable: "no address"}, NotSpot},
		{off, Network{}, Disconnected},
		{ward(-85, -95, nan), Network{}, NotSpot},
		{off, Network{}, Disconnected},
		{ward(-70, -95, nan), Network{}, Degraded},
		{ward(-50, -95, -50), Network{Unusable: "no address"}, NotSpot},
		{ward(-50, -95, -50), Network{}, Good},
		{off, Network{}, Disconnected},
	}
	seen := map[[2]State]bool{}
	prev := State("")
	for i, st := range steps {
		a := Assess(Input{WiFi: st.wifi, Network: st.net}, s)
		if a.State != st.want {
			t.Errorf("step %d: %s, want %s (%s)", i, a.State, st.want, a.Reason)
		}
		if prev != "" {
			seen[[2]State{prev, a.State}] = true
		}
		prev = a.State
	}
	for _, from := range States() {
		for _, to := range States() {
			if from != to && !seen[[2]State{from, to}] {
				t.Errorf("transition %s -> %s not exercised", from, to)
			}
		}
	}
}

func TestCheckString(t *testing.T) {
	for _, tc := range []struct {
		c    Check
		want string
	}{
		{Check{Name: "signal", Unit: "dBm", AtLeast: true, Measured: true, Met: true, Value: -60, Limit: -67}, "signal ok: -60 dBm (needs >= -67 dBm)"},
		{Check{Name: "loss", Unit: "ratio", Measured: true, Value: 0.02, Limit: 0.01}, "loss FAILS: 2% (needs <= 1%)"},
		{Check{Name: "jitter", Unit: "seconds", Measured: true, Value: 0.045, Limit: 0.03}, "jitter FAILS: 45 ms (needs <= 30 ms)"},
		{Check{Name: "second_ap", Unit: "dBm", AtLeast: true, Measured: true, Value: math.Inf(-1), Limit: -67}, "no second AP heard (needs >= -67 dBm)"},
		{Check{Name: "snr", Unit: "dB", AtLeast: true, Limit: 25}, "snr not measured (needs >= 25 dB)"},
	} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.c, got, tc.want)
		}
	}
}

// TestMissingMeasurementIsNeverAPass is issue 9's driver that gives no
// station info: with no signal at all the ward is never good, under any
// standard, and the unmeasured checks say so.
func TestMissingMeasurementIsNeverAPass(t *testing.T) {
	ms := time.Millisecond
	for _, std := range []string{"nhs", "voice", "data"} {
		s := settings(t, "standard: "+std+"\nwifi: {ssids: [CLINICAL]}\n")
		w := ward(-60, -95, -60)
		w.Link.Signal, w.Link.SignalAverage = wifi.Value{}, wifi.Value{}
		a := Assess(Input{WiFi: w, Network: clean(0, 5*ms, 3*ms)}, s)
		if a.State == Good {
			t.Errorf("%s: no signal measured, yet good: %s", std, a.Reason)
		}
		v, _ := a.Verdict(std)
		if v.Met {
			t.Errorf("%s met without a signal: %+v", std, v.Checks)
		}
		var unmeasured []string
		for _, c := range v.Unmeasured() {
			unmeasured = append(unmeasured, c.Name)
		}
		if !slices.Contains(unmeasured, "signal") {
			t.Errorf("%s: the signal check is not shown as unmeasured: %v", std, unmeasured)
		}
	}
}

// TestNHSStandard judges the default standard's checks from the table.
func TestNHSStandard(t *testing.T) {
	ms := time.Millisecond
	s := settings(t, "wifi: {ssids: [CLINICAL]}\n")
	if s.Standard != "nhs" {
		t.Fatalf("default standard %q, want nhs", s.Standard)
	}
	w := ward(-64, -95, -70)
	w.Link.RetryRatio, w.Link.BusyRatio = wifi.Some(0.1), wifi.Some(0.3)
	in := Input{WiFi: w, Network: clean(0, 5*ms, 3*ms), Connect: wifi.Some(1.2), Roam: wifi.Some(0.15)}
	if a := Assess(in, s); a.State != Good {
		t.Errorf("want good, got %s: %s", a.State, a.Reason)
	}
	for _, bad := range []struct {
		name  string
		apply func(*Input)
		check string
	}{
		{"signal -66", func(in *Input) { in.WiFi.Link.SignalAverage = wifi.Some(-66) }, "signal"},
		{"noise -91", func(in *Input) { in.WiFi.Link.Noise = wifi.Some(-91) }, "noise"},
		{"retries 25%", func(in *Input) { in.WiFi.Link.RetryRatio = wifi.Some(0.25) }, "retry"},
		{"busy 60%", func(in *Input) { in.WiFi.Link.BusyRatio = wifi.Some(0.6) }, "channel_busy"},
		{"connect 6 s", func(in *Input) { in.Connect = wifi.Some(6) }, "connect"},
		{"roam 2.5 s", func(in *Input) { in.Roam = wifi.Some(2.5) }, "roam"},
	} {
		in2 := in
		bad.apply(&in2)
		a := Assess(in2, s)
		v, _ := a.Verdict("nhs")
		if a.State != Degraded || len(v.Failed()) != 1 || v.Failed()[0].Name != bad.check {
			t.Errorf("%s: %s, failed %+v, want degraded on %s", bad.name, a.State, v.Failed(), bad.check)
		}
	}
	// Without connect tests or roams the ward can still be good: those
	// checks are shown as unmeasured.
	in.Connect, in.Roam = wifi.Value{}, wifi.Value{}
	a := Assess(in, s)
	v, _ := a.Verdict("nhs")
	if a.State != Good || len(v.Unmeasured()) != 2 || !strings.Contains(a.Reason, "2 of its checks not measured") {
		t.Errorf("unmeasured connect/roam: %s %q %+v", a.State, a.Reason, v.Unmeasured())
	}
}

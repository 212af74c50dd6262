package wifi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	mdwifi "github.com/mdlayher/wifi"
)

func TestPollStates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		fake    func(f *fakeSource)
		openErr error
		check   func(t *testing.T, s Snapshot)
	}{
		{name: "no nl80211", openErr: fmt.Errorf("no Wi-Fi interface: the kernel has no nl80211 Wi-Fi stack loaded (%w)", syscall.ENOENT),
			check: func(t *testing.T, s Snapshot) {
				want(t, !s.Present && !s.Associated && !s.Connected, "present/connected: %+v", s)
				contains(t, s.Detail, "no nl80211")
			}},
		{name: "no interface at all", fake: func(f *fakeSource) { f.ifis = nil },
			check: func(t *testing.T, s Snapshot) {
				want(t, !s.Present && s.Interface == "", "present: %+v", s)
				contains(t, s.Detail, "no Wi-Fi interface on this machine")
			}},
		{name: "configured interface missing", cfg: Config{Interface: "wlan1"},
			check: func(t *testing.T, s Snapshot) {
				want(t, !s.Present && s.Interface == "wlan1", "present: %+v", s)
				contains(t, s.Detail, "wlan1 is missing")
			}},
		{name: "configured interface is no Wi-Fi interface", cfg: Config{Interface: "lo"},
			check: func(t *testing.T, s Snapshot) {
				want(t, !s.Present && s.Interface == "lo", "present: %+v", s)
				contains(t, s.Detail, "lo is not a Wi-Fi interface")
			}},
		{name: "interface in AP mode", fake: func(f *fakeSource) { f.ifis[0].Type = mdwifi.InterfaceTypeAP }, cfg: Config{Interface: "wlan0"},
			check: func(t *testing.T, s Snapshot) {
				want(t, s.Present && !s.Associated, "state: %+v", s)
				contains(t, s.Detail, "access point mode, not a station")
			}},
		{name: "not associated", fake: func(f *fakeSource) { f.aps[0].Status = mdwifi.BSSStatusNotAssociated; f.stations = nil },
			check: func(t *testing.T, s Snapshot) {
				want(t, s.Present && !s.Associated && !s.Connected, "state: %+v", s)
				contains(t, s.Detail, "wlan0 is not associated")
			}},
		{name: "connected", cfg: Config{SSIDs: []string{"CLINICAL"}},
			check: func(t *testing.T, s Snapshot) {
				want(t, s.Present && s.Associated && s.Connected && s.Interface == "wlan0", "state: %+v", s)
				l := s.Link
				want(t, l.SSID == "CLINICAL" && l.BSSID == ap1 && l.FrequencyMHz == 5180 && l.Channel == 36 && l.Band == "5GHz", "link: %+v", l)
				want(t, l.Signal == Some(-56) && l.SignalAverage == Some(-55) && l.Noise == Some(-92) && l.SNR == Some(37), "signal: %+v", l)
				want(t, l.TxBitrate == Some(144.4e6) && l.RxBitrate == Some(65e6), "bitrates: %+v", l)
				want(t, l.BusyRatio == Some(0.25), "busy: %+v", l.BusyRatio)
				want(t, l.ConnectedFor == 30*time.Second, "connected for %s", l.ConnectedFor)
				contains(t, s.Detail, `connected to "CLINICAL" (02:00:00:00:00:00) on channel 36 (5GHz) at -55 dBm`)
				want(t, capAvailable(s, CapNoise) == "yes" && capAvailable(s, CapChannelBusy) == "yes", "caps %+v", s.Capabilities)
			}},
		{name: "any SSID counts when none configured",
			check: func(t *testing.T, s Snapshot) { want(t, s.Connected, "connected: %+v", s) }},
		{name: "associated with another SSID", cfg: Config{SSIDs: []string{"OTHER"}},
			check: func(t *testing.T, s Snapshot) {
				want(t, s.Associated && !s.Connected && s.Link.SSID == "CLINICAL", "state: %+v", s)
				contains(t, s.Detail, `associated with "CLINICAL", which is not one of the configured SSIDs (OTHER)`)
			}},
		{name: "no survey support", fake: func(f *fakeSource) { f.surveys, f.errSurveys = nil, syscall.EOPNOTSUPP },
			check: func(t *testing.T, s Snapshot) {
				want(t, s.Connected && !s.Link.Noise.OK && !s.Link.SNR.OK && !s.Link.BusyRatio.OK, "link: %+v", s.Link)
				want(t, capAvailable(s, CapNoise) == "no" && capAvailable(s, CapChannelBusy) == "no", "caps %+v", s.Capabilities)
				contains(t, capDetail(s, CapNoise), "no survey data; noise and SNR are not measured")
			}},
		{name: "survey without noise or times", fake: func(f *fakeSource) { f.surveys = []*mdwifi.SurveyInfo{{Frequency: 5180}} },
			check: func(t *testing.T, s Snapshot) {
				want(t, !s.Link.Noise.OK && !s.Link.SNR.OK && !s.Link.BusyRatio.OK, "link: %+v", s.Link)
				contains(t, capDetail(s, CapNoise), "no noise floor")
			}},
		{name: "survey matched by frequency when none is in use", fake: func(f *fakeSource) {
			f.surveys = []*mdwifi.SurveyInfo{{Frequency: 2412, Noise: -95}, {Frequency: 5180, Noise: -90}}
		}, check: func(t *testing.T, s Snapshot) { want(t, s.Link.Noise == Some(-90), "noise %+v", s.Link.Noise) }},
		{name: "no signal average: SNR from the last signal", fake: func(f *fakeSource) { f.stations[0].SignalAverage = 0 },
			check: func(t *testing.T, s Snapshot) {
				want(t, !s.Link.SignalAverage.OK && s.Link.SNR == Some(36) && s.Link.SignalUsed() == Some(-56), "link: %+v", s.Link)
			}},
		{name: "no station data: signal from the associated BSS", fake: func(f *fakeSource) { f.stations, f.errStations = nil, syscall.EOPNOTSUPP },
			check: func(t *testing.T, s Snapshot) {
				want(t, s.Connected && s.Link.Signal == Some(-55) && !s.Link.SignalAverage.OK && s.Link.SNR == Some(37) && !s.Link.TxBitrate.OK,
					"link: %+v", s.Link)
			}},
		{name: "station signal 0 and no BSS signal: no signal at all", fake: func(f *fakeSource) {
			f.stations[0].Signal, f.stations[0].SignalAverage = 0, 0
			for _, ap := range f.aps {
				ap.Signal = 0
			}
		}, check: func(t *testing.T, s Snapshot) {
			want(t, s.Connected && !s.Link.SignalUsed().OK && !s.Link.SNR.OK, "link: %+v", s.Link)
		}},
		{name: "first station interface when none is named", fake: func(f *fakeSource) {
			ap := &mdwifi.Interface{Index: 1, Name: "wlan9", Type: mdwifi.InterfaceTypeAP}
			p2p := &mdwifi.Interface{Index: 2, Type: mdwifi.InterfaceTypeP2PDevice}
			f.ifis = []*mdwifi.Interface{ap, p2p, station("wlan5", 9), station("wlan0", 3)}
		}, check: func(t *testing.T, s Snapshot) { want(t, s.Interface == "wlan0", "interface %q", s.Interface) }},
		{name: "interface vanishes under the call", fake: func(f *fakeSource) { f.errAPs = syscall.ENODEV }, cfg: Config{Interface: "wlan0"},
			check: func(t *testing.T, s Snapshot) {
				want(t, !s.Present && !s.Connected, "state: %+v", s)
				contains(t, s.Detail, "wlan0 is missing")
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := connectedFake()
			if tc.fake != nil {
				tc.fake(f)
			}
			opens := 0
			p := NewPoller(tc.cfg, opener(f, &tc.openErr, &opens), (&clock{t: start()}).now)
			tc.check(t, p.Poll())
		})
	}
}

// TestReopenBacksOff: on a machine whose kernel has no nl80211 at all,
// polling once a second opens nl80211 after 1, 2, 4, 8, 16 s and then every
// 30 s, not every second (each try dials generic netlink twice).
func TestReopenBacksOff(t *testing.T) {
	openErr := errors.New("no Wi-Fi interface: the kernel has no nl80211 Wi-Fi stack loaded")
	opens := 0
	c := &clock{t: start()}
	p := NewPoller(Config{Interval: time.Second}, opener(connectedFake(), &openErr, &opens), c.now)
	var at []int
	for sec := 0; sec < 120; sec++ {
		before := opens
		s := p.Poll()
		contains(t, s.Detail, "no nl80211")
		if opens > before {
			at = append(at, sec)
		}
		c.add(time.Second)
	}
	wantAt := []int{0, 1, 3, 7, 15, 31, 61, 91}
	if fmt.Sprint(at) != fmt.Sprint(wantAt) {
		t.Errorf("opened at seconds %v, want %v", at, wantAt)
	}
	openErr = nil
	c.add(30 * time.Second)
	if s := p.Poll(); !s.Connected {
		t.Errorf("a Wi-Fi stack that appears is not noticed within %s: %+v", MaxReopen, s)
	}
}

func TestReopenAfterError(t *testing.T) {
	f := connectedFake()
	var openErr error
	opens := 0
	c := &clock{t: start()}
	p := NewPoller(Config{Interval: time.Second}, opener(f, &openErr, &opens), c.now)
	if s := p.Poll(); !s.Connected || opens != 1 {
		t.Fatalf("first poll: connected %v, opens %d", s.Connected, opens)
	}
	// A netlink failure: the poll says so and closes the source.
	f.set(func(f *fakeSource) { f.errIfaces = errors.New("netlink receive: no buffer space available") })
	s := p.Poll()
	want(t, !s.Connected && !s.Present, "after error: %+v", s)
	contains(t, s.Detail, "nl80211 will be reopened")
	want(t, f.closed == 1, "closed %d times", f.closed)
	// Reopening fails for a while: no crash, a clear detail.
	f.set(func(f *fakeSource) { f.errIfaces = nil })
	openErr = errors.New("opening nl80211: too many open files")
	s = p.Poll()
	contains(t, s.Detail, "too many open files")
	want(t, opens == 2, "opens %d", opens)
	// Then it works again, at the next try (a second later).
	openErr = nil
	c.add(time.Second)
	s = p.Poll()
	want(t, s.Connected && opens == 3, "recovered: connected %v, opens %d", s.Connected, opens)
	// The outage (two polls) was a disconnect.
	want(t, s.Counters.Disconnects == 1, "disconnects %d", s.Counters.Disconnects)
	p.Close()
	want(t, f.closed == 2, "closed %d times", f.closed)
}

func TestUnplugAndReplug(t *testing.T) {
	f := connectedFake()
	opens := 0
	c := &clock{t: start()}
	p := NewPoller(Config{Interface: "wlan0", SSIDs: []string{"CLINICAL"}, Interval: time.Second, MaxNeighbors: 8}, opener(f, nil, &opens), c.now)
	s := p.Poll()
	want(t, s.Connected && len(s.Neighbors) == 2, "plugged: %+v", s)
	ifis := f.ifis
	f.set(func(f *fakeSource) { f.ifis = nil })
	for i := range 3 {
		c.add(time.Second)
		s = p.Poll()
		want(t, !s.Present && !s.Connected && len(s.Neighbors) == 0, "unplugged poll %d: %+v", i, s)
		contains(t, s.Detail, "wlan0 is missing (unplugged")
	}
	want(t, s.Counters.Disconnects == 1 && s.Counters.Disconnected == 2*time.Second, "counters %+v", s.Counters)
	f.set(func(f *fakeSource) { f.ifis = ifis })
	c.add(time.Second)
	s = p.Poll()
	want(t, s.Present && s.Connected, "replugged: %+v", s)
	want(t, s.Counters.Disconnects == 1 && s.Counters.Disconnected == 3*time.Second && s.Counters.Roams == 0, "counters %+v", s.Counters)
	want(t, opens == 1, "the source stays open across an unplug: opens %d", opens)
}

func TestBusyRatioOverInterval(t *testing.T) {
	f := connectedFake()
	opens := 0
	c := &clock{t: start()}
	p := NewPoller(Config{}, opener(f, nil, &opens), c.now)
	want(t, p.Poll().Link.BusyRatio == Some(0.25), "first poll: whole-life ratio")
	f.set(func(f *fakeSource) {
		f.surveys[1].ChannelTime, f.surveys[1].ChannelTimeBusy = 2000*time.Millisecond, 1150*time.Millisecond
	})
	c.add(time.Second)
	if got := p.Poll().Link.BusyRatio; math.Abs(got.V-0.9) > 1e-9 {
		t.Errorf("busy over the interval = %v, want 0.9", got)
	}
	// Counters reset (driver reload): whole-life ratio again.
	f.set(func(f *fakeSource) {
		f.surveys[1].ChannelTime, f.surveys[1].ChannelTimeBusy = 100*time.Millisecond, 10*time.Millisecond
	})
	c.add(time.Second)
	if got := p.Poll().Link.BusyRatio; math.Abs(got.V-0.1) > 1e-9 {
		t.Errorf("busy after reset = %v, want 0.1", got)
	}
}

// A BSS's age in the scan dump counts from the kernel's answer, within the
// call: a slow dump must not make the BSS look heard earlier than it was.
func TestNeighborSeenWithinScanDump(t *testing.T) {
	c := &clock{t: start()}
	f := connectedFake()
	f.duringAPs = func() { c.add(4 * time.Second) }
	p := NewPoller(Config{SSIDs: []string{"CLINICAL"}, MaxNeighbors: 3}, opener(f, nil, new(int)), c.now)
	var seen time.Time
	for _, nb := range p.Poll().Neighbors {
		if nb.BSSID == ap1 {
			seen = nb.Seen
		}
	}
	// Heard 0 ms before an answer given at some moment of the 4 s call:
	// its midpoint.
	if want := start().Add(2 * time.Second); !seen.Equal(want) {
		t.Errorf("current BSS seen at %v, want %v (the scan dump's midpoint)", seen, want)
	}
}

// The station's connected time counts from the kernel's answer: a poll
// whose scan dump was slow reads it late, and the next poll must not take
// the difference for a drop and reassociation.
func TestReassociationTimedByStationQuery(t *testing.T) {
	c := &clock{t: start()}
	f := connectedFake()
	f.duringAPs = func() { c.add(3 * time.Second) }
	p := NewPoller(Config{SSIDs: []string{"CLINICAL"}}, opener(f, nil, new(int)), c.now)
	p.Poll() // connected 30 s when the station was read, 3 s after the poll began
	f.duringAPs = nil
	c.add(time.Second)
	f.stations = []*mdwifi.StationInfo{sta(ap1, -56, -55, 31*time.Second)}
	if s := p.Poll(); s.Counters.Disconnects != 0 {
		t.Errorf("connected time grew by the 1 s between station reads: %d disconnects, want none", s.Counters.Disconnects)
	}
}

func TestNeighbors(t *testing.T) {
	c := &clock{t: start()}
	f := connectedFake()
	f.aps = append(f.aps,
		bss("CLINICAL", "02:00:00:00:05:00", 5240, -7000, false),
		bss("CLINICAL", "02:00:00:00:06:00", 5260, -8000, false),
	)
	f.aps[1].Load = mdwifi.BSSLoad{Version: 2, StationCount: 12, ChannelUtilization: 51}
	f.aps[3].LastSeen = 4 * time.Minute // heard 4 minutes ago
	opens := 0
	p := NewPoller(Config{SSIDs: []string{"CLINICAL"}, MaxNeighbors: 3}, opener(f, nil, &opens), c.now)
	s := p.Poll()
	var got []string
	for _, nb := range s.Neighbors {
		got = append(got, fmt.Sprintf("%s %s ch%d %s %.0f cur=%v load=%v/%d/%.1f", nb.SSID, nb.BSSID, nb.Channel, nb.Band,
			nb.Signal, nb.Current, nb.HasLoad, nb.Stations, nb.Utilization))
	}
	wantList := []string{
		"CLINICAL 02:00:00:00:00:00 ch36 5GHz -55 cur=true load=false/0/0.0",
		"CLINICAL 02:00:00:00:01:00 ch1 2.4GHz -65 cur=false load=true/12/0.2",
		"CLINICAL 02:00:00:00:05:00 ch48 5GHz -70 cur=false load=false/0/0.0",
	}
	if strings.Join(got, "\n") != strings.Join(wantList, "\n") {
		t.Errorf("neighbours (bounded to 3, current first, strongest next, GUEST left out):\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantList, "\n"))
	}
	// The kernel forgets the BSSs (its cache expires); wardprobe holds them
	// for MinNeighborHold after they were last heard.
	f.set(func(f *fakeSource) { f.aps = f.aps[:1] })
	c.add(30 * time.Second)
	s = p.Poll()
	want(t, len(s.Neighbors) == 3, "held: %d", len(s.Neighbors))
	c.add(MinNeighborHold - 30*time.Second - 4*time.Minute + time.Second) // the one heard 4 min before start goes
	s = p.Poll()
	for _, nb := range s.Neighbors {
		want(t, nb.BSSID != "02:00:00:00:05:00", "expired neighbour still listed: %+v", nb)
	}
	c.add(4 * time.Minute)
	s = p.Poll()
	want(t, len(s.Neighbors) == 1 && s.Neighbors[0].Current, "only the current BSS is left: %+v", s.Neighbors)
	// Unbounded input stays bounded.
	var many []*mdwifi.BSS
	for i := range 500 {
		many = append(many, bss("CLINICAL", fmt.Sprintf("02:00:00:01:%02x:%02x", i/256, i%256), 2412, int32(-3000-i*10), false))
	}
	f.set(func(f *fakeSource) { f.aps = many })
	want(t, len(p.Poll().Neighbors) == 3, "bounded")
}

func TestScanCapability(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		available bool
		detail    string
	}{
		{"scan works", nil, true, ""},
		{"no privilege", syscall.EPERM, false, "need CAP_NET_ADMIN"},
		{"busy", syscall.EBUSY, true, "last active scan failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := connectedFake()
			f.errScan = tc.err
			opens := 0
			p := NewPoller(Config{ScanInterval: time.Minute}, opener(f, nil, &opens), nil)
			c := p.scan(t.Context(), "")
			want(t, c.Available == tc.available && f.scans == 1 && f.closed == 1, "capability %+v, scans %d, closed %d", c, f.scans, f.closed)
			if tc.detail != "" {
				contains(t, c.Detail, tc.detail)
			}
		})
	}
}

func TestRunPollsAndScans(t *testing.T) {
	f := connectedFake()
	opens := 0
	p := NewPoller(Config{Interval: 10 * time.Millisecond, ScanInterval: time.Hour}, opener(f, nil, &opens), nil)
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	p.Run(ctx, func(s Snapshot) {
		n++
		if n == 5 {
			cancel()
		}
	})
	want(t, n == 5, "polls %d", n)
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		scans := f.scans
		f.mu.Unlock()
		if scans == 1 || time.Now().After(deadline) {
			want(t, scans == 1, "one scan per ScanInterval: %d", scans)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestChannel(t *testing.T) {
	for _, tc := range []struct {
		mhz, ch int
		band    string
	}{
		{2412, 1, "2.4GHz"}, {2437, 6, "2.4GHz"}, {2472, 13, "2.4GHz"}, {2484, 14, "2.4GHz"},
		{5180, 36, "5GHz"}, {5500, 100, "5GHz"}, {5825, 165, "5GHz"}, {5885, 177, "5GHz"},
		{5955, 1, "6GHz"}, {5935, 2, "6GHz"}, {6415, 93, "6GHz"}, {7115, 233, "6GHz"},
		{0, 0, ""}, {2400, 0, ""}, {60480, 0, ""},
	} {
		ch, band := Channel(tc.mhz)
		if ch != tc.ch || band != tc.band {
			t.Errorf("Channel(%d) = %d %q, want %d %q", tc.mhz, ch, band, tc.ch, tc.band)
		}
	}
}

func capAvailable(s Snapshot, name string) string {
	for _, c := range s.Capabilities {
		if c.Name == name {
			if c.Available {
				return "yes"
			}
			return "no"
		}
	}
	return "unknown"
}

func capDetail(s Snapshot, name string) string {
	for _, c := range s.Capabilities {
		if c.Name == name {
			return c.Detail
		}
	}
	return ""
}

func want(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
}

func contains(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%q does not contain %q", s, sub)
	}
}

// BenchmarkPoll measures the work of one poll beyond the netlink calls, with
// a busy ward's scan cache (60 BSSs, 20 of them of the configured SSID).
func BenchmarkPoll(b *testing.B) {
	f := connectedFake()
	for i := range 60 {
		ssid := "CLINICAL"
		if i%3 != 0 {
			ssid = fmt.Sprintf("OTHER%d", i)
		}
		f.aps = append(f.aps, bss(ssid, fmt.Sprintf("02:00:00:02:00:%02x", i), 5180+20*(i%8), int32(-5000-100*i), false))
	}
	opens := 0
	c := &clock{t: start()}
	p := NewPoller(Config{SSIDs: []string{"CLINICAL"}, MaxNeighbors: 32}, opener(f, nil, &opens), c.now)
	b.ReportAllocs()
	for b.Loop() {
		c.add(time.Second)
		p.Poll()
	}
}

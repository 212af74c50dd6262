package survey

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe/coverage"
)

// fakeScanner plays back scans.
type fakeScanner struct {
	scans   [][]Heard
	n       int
	denied  bool
	cached  []Heard
	link    *Link
	noise   map[int]float64
	scanErr error
}

func (f *fakeScanner) Scan(context.Context) ([]Heard, error) {
	if f.denied {
		return nil, fmt.Errorf("trigger scan: operation not permitted: %w", ErrNoPermission)
	}
	if f.scanErr != nil {
		return nil, f.scanErr
	}
	s := f.scans[f.n%len(f.scans)]
	f.n++
	return s, nil
}
func (f *fakeScanner) Cached(context.Context) ([]Heard, error) { return f.cached, nil }
func (f *fakeScanner) Link(context.Context) (Link, bool, error) {
	if f.link == nil {
		return Link{}, false, nil
	}
	return *f.link, true, nil
}
func (f *fakeScanner) Noise(context.Context) (map[int]float64, error) { return f.noise, nil }

type fakePinger struct {
	calls []PingTarget
	rtts  []time.Duration
	err   error
}

func (f *fakePinger) Burst(_ context.Context, t PingTarget, count int, _, _ time.Duration, progress func(int)) (Burst, error) {
	f.calls = append(f.calls, t)
	if f.err != nil {
		return Burst{}, f.err
	}
	for i := 1; i <= count; i++ {
		progress(i)
	}
	n := min(count, len(f.rtts))
	return Burst{Address: "10.99.0.1", Sent: count, RTTs: f.rtts[:n]}, nil
}

func ms(v ...int) []time.Duration {
	var out []time.Duration
	for _, x := range v {
		out = append(out, time.Duration(x)*time.Millisecond)
	}
	return out
}

func threeScans() [][]Heard {
	return [][]Heard{
		{{BSSID: "02:00:00:00:00:00", SSID: "CLINICAL", FrequencyMHz: 2412, SignalDBM: -50}, {BSSID: "02:00:00:00:01:00", SSID: "CLINICAL", FrequencyMHz: 5180, SignalDBM: -70}},
		{{BSSID: "02:00:00:00:00:00", SSID: "CLINICAL", FrequencyMHz: 2412, SignalDBM: -56}, {BSSID: "02:00:00:00:02:00", SSID: "Guest\xff", FrequencyMHz: 2437, SignalDBM: -80}},
		{{BSSID: "02:00:00:00:00:00", SSID: "CLINICAL", FrequencyMHz: 2412, SignalDBM: -51}, {BSSID: "02:00:00:00:01:00", SSID: "CLINICAL", FrequencyMHz: 5180, SignalDBM: -74}},
	}
}

func TestCaptureMedianLinkAndPings(t *testing.T) {
	sc := &fakeScanner{scans: threeScans(), noise: map[int]float64{2412: -92, 5180: -95},
		link: &Link{Interface: "wlan2", SSID: "CLINICAL", BSSID: "02:00:00:00:00:00", FrequencyMHz: 2412, SignalDBM: -51}}
	pg := &fakePinger{rtts: ms(10, 12, 11, 15, 10, 10, 10, 10, 10, 10)}
	c := &Capturer{Scanner: sc, Pinger: pg, Scans: 3, Pings: 10, PingInterval: 10 * time.Millisecond, PingTimeout: time.Second,
		Targets: []PingTarget{{Name: "gateway", Address: "gateway"}}, SSIDs: []string{"CLINICAL"}}
	var prog []Progress
	p, err := c.Capture(context.Background(), 0.25, 0.75, func(pr Progress) { prog = append(prog, pr) })
	if err != nil {
		t.Fatal(err)
	}
	if sc.n != 3 {
		t.Errorf("%d scans, want 3", sc.n)
	}
	if len(p.BSS) != 3 {
		t.Fatalf("BSSs %+v", p.BSS)
	}
	b := p.BSS[0]
	if b.BSSID != "02:00:00:00:00:00" || b.SignalDBM != -51 || b.Heard != 3 || b.Channel != 1 || b.NoiseDBM == nil || *b.NoiseDBM != -92 {
		t.Errorf("AP1 %+v: want the median -51 of -50, -56, -51 heard in 3 scans on channel 1 with noise -92", b)
	}
	if b := p.BSS[1]; b.SignalDBM != -72 || b.Heard != 2 || b.Channel != 36 {
		t.Errorf("AP2 %+v: want the median -72 of -70, -74", b)
	}
	if b := p.BSS[2]; b.SSID != `Guest\xff` || b.Heard != 1 {
		t.Errorf("guest %+v: want the escaped SSID", b)
	}
	if p.Scan.Mode != ScanTriggered || p.Scan.Scans != 3 || len(p.Warnings) != 0 {
		t.Errorf("scan %+v warnings %v", p.Scan, p.Warnings)
	}
	if p.Link == nil || p.Link.Channel != 1 || p.Link.NoiseDBM == nil {
		t.Errorf("link %+v", p.Link)
	}
	if len(p.Ping) != 1 || p.Ping[0].Sent != 10 || p.Ping[0].Lost != 0 || p.Ping[0].RTTSeconds == nil {
		t.Fatalf("ping %+v", p.Ping)
	}
	if got := *p.Ping[0].RTTSeconds; math.Abs(got-0.0108) > 1e-9 {
		t.Errorf("mean RTT %v, want 10.8 ms", got)
	}
	// |12-10|+|11-12|+|15-11|+|10-15| = 12 ms over 9 differences.
	if got := *p.Ping[0].JitterSeconds; math.Abs(got-0.012/9) > 1e-9 {
		t.Errorf("jitter %v, want %v", got, 0.012/9)
	}
	last := prog[len(prog)-1]
	if last.Phase != "done" || last.Step != last.Steps || last.Steps != 3+1+10 {
		t.Errorf("last progress %+v", last)
	}
	for i := 1; i < len(prog); i++ {
		if prog[i].Step < prog[i-1].Step {
			t.Errorf("progress went back: %+v then %+v", prog[i-1], prog[i])
		}
	}
}

func TestCaptureWithoutCapNetAdmin(t *testing.T) {
	sc := &fakeScanner{denied: true, cached: []Heard{{BSSID: "02:00:00:00:00:00", SSID: "CLINICAL", FrequencyMHz: 2412, SignalDBM: -60, Age: 12 * time.Second}}}
	c := &Capturer{Scanner: sc, Pinger: &fakePinger{}, Scans: 3, Pings: 5, Targets: []PingTarget{{Name: "gw", Address: "gateway"}}, SSIDs: []string{"CLINICAL"}}
	p, err := c.Capture(context.Background(), 0.5, 0.5, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Scan.Mode != ScanCached || p.Scan.AgeSeconds != 12 || len(p.BSS) != 1 {
		t.Errorf("scan %+v bss %+v", p.Scan, p.BSS)
	}
	joined := strings.Join(p.Warnings, "\n")
	for _, want := range []string{"CAP_NET_ADMIN", "cached scan results", "12 s old", "no ping burst"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings lack %q:\n%s", want, joined)
		}
	}
}

func TestCaptureErrors(t *testing.T) {
	c := &Capturer{Scanner: &fakeScanner{scanErr: errors.New("device busy")}, Pinger: &fakePinger{}, Scans: 2}
	if _, err := c.Capture(context.Background(), 0.5, 0.5, nil); err == nil || !strings.Contains(err.Error(), "device busy") {
		t.Errorf("scan failure: %v", err)
	}
	pg := &fakePinger{err: errors.New("no route")}
	c = &Capturer{Scanner: &fakeScanner{scans: threeScans(), link: &Link{SSID: "CLINICAL", FrequencyMHz: 2412}}, Pinger: pg, Scans: 1, Pings: 5,
		Targets: []PingTarget{{Name: "gw"}, {Name: "epr"}}, SSIDs: []string{"CLINICAL"}}
	p, err := c.Capture(context.Background(), 0.5, 0.5, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Ping) != 2 || p.Ping[0].Error == "" || len(pg.calls) != 2 {
		t.Errorf("failed bursts are recorded per target: %+v", p.Ping)
	}
	// Associated with another SSID: no pings.
	pg = &fakePinger{}
	c.Pinger = pg
	c.Scanner = &fakeScanner{scans: threeScans(), link: &Link{SSID: "Guest", FrequencyMHz: 2437}}
	p, _ = c.Capture(context.Background(), 0.5, 0.5, nil)
	if len(pg.calls) != 0 || !strings.Contains(strings.Join(p.Warnings, " "), `"Guest", not a configured SSID`) {
		t.Errorf("pinged through another SSID: %d calls, warnings %v", len(pg.calls), p.Warnings)
	}
}

func f64(v float64) *float64 { return &v }

func settings() coverage.Settings {
	return coverage.Settings{Standard: "ward", NotSpotDBM: -80, SSIDs: []string{"CLINICAL"},
		Standards: map[string]config.Standard{"ward": {"signal_dbm": -65, "snr_db": 25, "second_ap_dbm": -67, "loss_ratio": 0.01}}}
}

func point(signals ...float64) Point {
	p := Point{Time: time.Unix(1700000000, 0)}
	for i, s := range signals {
		p.BSS = append(p.BSS, BSS{BSSID: fmt.Sprintf("02:00:00:00:0%d:00", i), SSID: "CLINICAL", FrequencyMHz: 2412, Channel: 1, SignalDBM: s, NoiseDBM: f64(-95)})
	}
	return p
}

func TestJudge(t *testing.T) {
	withPings := func(p Point, sent, lost int) Point {
		var rtts []time.Duration
		for range sent - lost {
			rtts = append(rtts, 5*time.Millisecond)
		}
		p.Ping = []Ping{Summarize("gw", "10.0.0.1", sent, rtts)}
		return p
	}
	foreign := point(-40)
	foreign.BSS[0].SSID = "Guest"
	for _, c := range []struct {
		name   string
		p      Point
		state  string
		met    bool
		failed []string
	}{
		{"strong, two APs", withPings(point(-55, -60), 20, 0), "good", true, nil},
		{"weak", withPings(point(-70, -72), 20, 0), "degraded", false, []string{"signal", "second_ap"}},
		{"no second AP", withPings(point(-50), 20, 0), "degraded", false, []string{"second_ap"}},
		{"lossy", withPings(point(-50, -60), 20, 2), "degraded", false, []string{"loss"}},
		{"not-spot", withPings(point(-85), 20, 0), "notspot", false, []string{"signal", "snr", "second_ap"}},
		{"silent network", withPings(point(-50, -60), 20, 20), "notspot", false, []string{"loss"}},
		{"nothing heard", foreign, "disconnected", false, nil},
		{"no pings", point(-55, -60), "good", true, nil},
	} {
		v := Judge(c.p, settings())
		var failed []string
		for _, ch := range v.Failed() {
			failed = append(failed, ch.Name)
		}
		if v.State != c.state || v.Met != c.met || strings.Join(failed, ",") != strings.Join(c.failed, ",") {
			t.Errorf("%s: state %s met %v failing %v (%s); want %s %v %v", c.name, v.State, v.Met, failed, v.Reason, c.state, c.met, c.failed)
		}
		if v.Standard != "ward" {
			t.Errorf("%s: standard %q", c.name, v.Standard)
		}
	}
	// A second AP that was not heard has no value (JSON cannot hold -Inf).
	v := Judge(point(-50), settings())
	for _, ch := range v.Checks {
		if ch.Name == "second_ap" && ch.Value != nil {
			t.Errorf("second AP value %v, want none", *ch.Value)
		}
	}
}

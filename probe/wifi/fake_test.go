package wifi

import (
	"context"
	"net"
	"sync"
	"time"

	mdwifi "github.com/mdlayher/wifi"
)

// fakeSource stands in for nl80211: it returns what the test put in it.
type fakeSource struct {
	mu       sync.Mutex
	ifis     []*mdwifi.Interface
	aps      []*mdwifi.BSS
	stations []*mdwifi.StationInfo
	surveys  []*mdwifi.SurveyInfo

	errIfaces, errAPs, errStations, errSurveys, errScan error
	// duringAPs, when set, runs within AccessPoints (a slow scan dump).
	duringAPs func()

	closed, scans int
}

func (f *fakeSource) Interfaces() ([]*mdwifi.Interface, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ifis, f.errIfaces
}

func (f *fakeSource) AccessPoints(*mdwifi.Interface) ([]*mdwifi.BSS, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.duringAPs != nil {
		f.duringAPs()
	}
	return f.aps, f.errAPs
}

func (f *fakeSource) StationInfo(*mdwifi.Interface) ([]*mdwifi.StationInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stations, f.errStations
}

func (f *fakeSource) SurveyInfo(*mdwifi.Interface) ([]*mdwifi.SurveyInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.surveys, f.errSurveys
}

func (f *fakeSource) Scan(context.Context, *mdwifi.Interface) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scans++
	return f.errScan
}

func (f *fakeSource) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}

// set changes the fake under its lock.
func (f *fakeSource) set(fn func(f *fakeSource)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// opener returns an Opener handing out f, failing while *fail is set, and
// counting opens.
func opener(f *fakeSource, fail *error, opens *int) Opener {
	return func() (Source, error) {
		*opens++
		if fail != nil && *fail != nil {
			return nil, *fail
		}
		return f, nil
	}
}

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// clock is a fake clock moved by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time             { return c.t }
func (c *clock) add(d time.Duration) *clock { c.t = c.t.Add(d); return c }

// start is the fake clock's first reading.
func start() time.Time { return time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC) }

const (
	ap1 = "02:00:00:00:00:00"
	ap2 = "02:00:00:00:01:00"
	ap3 = "02:00:00:00:03:00"
)

func station(name string, idx int) *mdwifi.Interface {
	return &mdwifi.Interface{Index: idx, Name: name, Type: mdwifi.InterfaceTypeStation, HardwareAddr: mac("02:00:00:00:02:00")}
}

func bss(ssid, bssid string, mhz int, mbm int32, associated bool) *mdwifi.BSS {
	b := &mdwifi.BSS{SSID: ssid, BSSID: mac(bssid), Frequency: mhz, Signal: mbm, Status: mdwifi.BSSStatusNotAssociated}
	if associated {
		b.Status = mdwifi.BSSStatusAssociated
	}
	return b
}

func sta(bssid string, signal, avg int, connected time.Duration) *mdwifi.StationInfo {
	return &mdwifi.StationInfo{HardwareAddr: mac(bssid), Signal: signal, SignalAverage: avg, Connected: connected,
		TransmitBitrate: 144_400_000, ReceiveBitrate: 65_000_000}
}

// connectedFake is a station wlan0 associated with CLINICAL on ap1, channel 36.
func connectedFake() *fakeSource {
	return &fakeSource{
		ifis:     []*mdwifi.Interface{station("wlan0", 3)},
		aps:      []*mdwifi.BSS{bss("CLINICAL", ap1, 5180, -5500, true), bss("CLINICAL", ap2, 2412, -6500, false), bss("GUEST", ap3, 2437, -4000, false)},
		stations: []*mdwifi.StationInfo{sta(ap1, -56, -55, 30*time.Second)},
		surveys: []*mdwifi.SurveyInfo{{Frequency: 2412, Noise: -95}, {Frequency: 5180, Noise: -92, InUse: true,
			ChannelTime: 1000 * time.Millisecond, ChannelTimeBusy: 250 * time.Millisecond}},
	}
}

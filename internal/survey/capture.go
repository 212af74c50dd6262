package survey

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wardprobe/wardprobe/internal/escape"
	"github.com/wardprobe/wardprobe/probe/wifi"
)

// ErrNoPermission is wrapped by a Scanner's Scan when the process may not
// trigger scans (nl80211 TRIGGER_SCAN needs CAP_NET_ADMIN).
var ErrNoPermission = errors.New("active scans need CAP_NET_ADMIN")

// Heard is one BSS in one scan's results.
type Heard struct {
	BSSID string
	// SSID is the raw SSID (any bytes); the capture escapes it.
	SSID         string
	FrequencyMHz int
	SignalDBM    float64
	// Age is how long ago the BSS was last heard.
	Age time.Duration
}

// Scanner is the part of the Wi-Fi radio a capture uses.
type Scanner interface {
	// Scan triggers one active scan of every channel and returns the BSSs it
	// heard (and only those: entries older than the scan are left out). An
	// error wrapping ErrNoPermission means scans cannot be triggered.
	Scan(ctx context.Context) ([]Heard, error)
	// Cached returns the kernel's cached scan results, with their age.
	Cached(ctx context.Context) ([]Heard, error)
	// Link returns the interface's association; ok is false when it is not
	// associated. Link.SSID is raw.
	Link(ctx context.Context) (l Link, ok bool, err error)
	// Noise returns the noise floor per frequency (MHz) from survey data, in
	// dBm; empty when the driver gives none.
	Noise(ctx context.Context) (map[int]float64, error)
}

// PingTarget is one ICMP target of the burst.
type PingTarget struct {
	Name string
	// Address is a host name, an IP address or "gateway".
	Address string
	// Size is the ICMP payload size in bytes.
	Size int
}

// Burst is the raw outcome of a ping burst.
type Burst struct {
	// Address is the address pinged.
	Address string
	// Sent is how many echo requests were sent; RTTs holds the round trips
	// of those answered within their timeout, in send order.
	Sent int
	RTTs []time.Duration
}

// Pinger sends ping bursts.
type Pinger interface {
	// Burst sends count echo requests to t, one every interval, each lost
	// when no reply comes within timeout of its sending, and calls progress
	// (when not nil) with the number of packets whose outcome is known;
	// progress is never called after Burst returns.
	Burst(ctx context.Context, t PingTarget, count int, interval, timeout time.Duration, progress func(done int)) (Burst, error)
}

// Progress is how far a capture has got.
type Progress struct {
	// Phase is "scan", "link", "ping" or "done".
	Phase string `json:"phase"`
	// Step of Steps is the overall progress.
	Step  int `json:"step"`
	Steps int `json:"steps"`
	// Detail says it in words, e.g. "scan 2 of 3".
	Detail string `json:"detail"`
}

// Capturer measures a point.
type Capturer struct {
	Scanner Scanner
	Pinger  Pinger
	// Scans is how many active scans are merged (their median); 1..5.
	Scans int
	// Targets are pinged, one burst each, when the interface is associated
	// with a configured SSID.
	Targets []PingTarget
	// Pings is the burst length per target; PingInterval the time between
	// packets; PingTimeout each packet's own timeout.
	Pings        int
	PingInterval time.Duration
	PingTimeout  time.Duration
	// SSIDs are the configured SSIDs (empty: every SSID counts).
	SSIDs []string
	// Now reads the clock (time.Now when nil).
	Now func() time.Time
}

// Capture measures the spot x,y: Scans triggered scans (falling back to
// the cached scan results, with a warning, when the process may not
// trigger scans), the link, and a ping burst to each target. progress is
// called at each step. A failed scan is an error; a failed ping burst is
// recorded in the point.
func (c *Capturer) Capture(ctx context.Context, x, y float64, progress func(Progress)) (Point, error) {
	if progress == nil {
		progress = func(Progress) {}
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	scans := min(max(c.Scans, 1), 5)
	steps := scans + 1 + len(c.Targets)*max(c.Pings, 0)
	step := 0
	report := func(phase, detail string) {
		progress(Progress{Phase: phase, Step: step, Steps: steps, Detail: detail})
	}
	p := Point{X: x, Y: y, Time: now().UTC(), Ping: []Ping{}}

	var all [][]Heard
	for i := range scans {
		report("scan", fmt.Sprintf("scan %d of %d", i+1, scans))
		hs, err := c.Scanner.Scan(ctx)
		if errors.Is(err, ErrNoPermission) {
			report("scan", "reading cached scan results")
			scanErr := err
			hs, err = c.Scanner.Cached(ctx)
			if err != nil {
				return Point{}, fmt.Errorf("reading cached scan results: %w", err)
			}
			all = [][]Heard{hs}
			p.Scan = Scan{Mode: ScanCached, Scans: 1}
			for _, h := range hs {
				p.Scan.AgeSeconds = max(p.Scan.AgeSeconds, h.Age.Seconds())
			}
			p.Warnings = append(p.Warnings, fmt.Sprintf("no active scan: %v; this point uses the kernel's cached scan results "+
				"(up to %.0f s old, made by the supplicant, possibly elsewhere): run wardprobe survey as root or with CAP_NET_ADMIN",
				scanErr, p.Scan.AgeSeconds))
			step = scans
			break
		}
		if err != nil {
			return Point{}, fmt.Errorf("scan %d of %d: %w", i+1, scans, err)
		}
		all = append(all, hs)
		p.Scan = Scan{Mode: ScanTriggered, Scans: len(all)}
		step++
	}
	noise, err := c.Scanner.Noise(ctx)
	if err != nil {
		p.Warnings = append(p.Warnings, fmt.Sprintf("no noise floor (survey data unreadable: %v): SNR not measured", err))
	}
	p.BSS = merge(all, noise)

	report("link", "reading the link")
	associated := false
	l, ok, err := c.Scanner.Link(ctx)
	switch {
	case err != nil:
		p.Warnings = append(p.Warnings, fmt.Sprintf("link unreadable: %v", err))
	case ok:
		l.SSID = escape.String([]byte(l.SSID))
		l.Channel, _ = wifi.Channel(l.FrequencyMHz)
		if n, ok := noise[l.FrequencyMHz]; ok && l.NoiseDBM == nil {
			l.NoiseDBM = &n
		}
		p.Link = &l
		associated = Counts(l.SSID, c.SSIDs)
	}
	step++

	if len(c.Targets) > 0 && !associated {
		why := "not associated with any network"
		if p.Link != nil {
			why = fmt.Sprintf("associated with %q, not a configured SSID", p.Link.SSID)
		}
		p.Warnings = append(p.Warnings, "no ping burst: the Wi-Fi interface is "+why+"; loss, RTT and jitter not measured here")
		step += len(c.Targets) * max(c.Pings, 0)
	}
	for _, t := range c.Targets {
		if !associated || c.Pings <= 0 {
			break
		}
		base := step
		report("ping", fmt.Sprintf("ping %s: 0 of %d", t.Name, c.Pings))
		b, err := c.Pinger.Burst(ctx, t, c.Pings, c.PingInterval, c.PingTimeout, func(done int) {
			step = base + min(done, c.Pings)
			report("ping", fmt.Sprintf("ping %s: %d of %d", t.Name, done, c.Pings))
		})
		step = base + c.Pings
		if ctx.Err() != nil {
			return Point{}, ctx.Err()
		}
		if err != nil {
			p.Ping = append(p.Ping, Ping{Target: t.Name, Error: err.Error()})
			p.Warnings = append(p.Warnings, fmt.Sprintf("ping burst to %s failed: %v", t.Name, err))
			continue
		}
		p.Ping = append(p.Ping, Summarize(t.Name, b.Address, b.Sent, b.RTTs))
	}
	step = steps
	report("done", "done")
	return p, nil
}

// merge folds the scans into one BSS list: per BSS the median signal of the
// scans that heard it, with its channel's noise floor, strongest first.
func merge(scans [][]Heard, noise map[int]float64) []BSS {
	type acc struct {
		b   BSS
		sig []float64
	}
	by := map[string]*acc{}
	for _, hs := range scans {
		seen := map[string]bool{}
		for _, h := range hs {
			if h.BSSID == "" || seen[h.BSSID] {
				continue
			}
			seen[h.BSSID] = true
			a := by[h.BSSID]
			if a == nil {
				ch, _ := wifi.Channel(h.FrequencyMHz)
				a = &acc{b: BSS{BSSID: strings.ToLower(h.BSSID), SSID: escape.String([]byte(h.SSID)), FrequencyMHz: h.FrequencyMHz, Channel: ch}}
				by[h.BSSID] = a
			}
			a.sig = append(a.sig, h.SignalDBM)
		}
	}
	out := make([]BSS, 0, len(by))
	for _, a := range by {
		a.b.SignalDBM = median(a.sig)
		a.b.Heard = len(a.sig)
		if n, ok := noise[a.b.FrequencyMHz]; ok {
			a.b.NoiseDBM = &n
		}
		out = append(out, a.b)
	}
	SortBSS(out)
	return out
}

// median returns the median of v (the mean of the middle two for an even
// count), rounded to 0.1 dB.
func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	m := s[n/2]
	if n%2 == 0 {
		m = (s[n/2-1] + s[n/2]) / 2
	}
	return float64(int64(m*10+sign(m)*0.5)) / 10
}

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

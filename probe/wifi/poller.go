package wifi

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	mdwifi "github.com/mdlayher/wifi"
)

// Timeouts of nl80211 calls.
const (
	// CallTimeout bounds the calls of one poll.
	CallTimeout = 2 * time.Second
	// ScanTimeout bounds one active scan.
	ScanTimeout = 20 * time.Second
)

// Config is what the poller needs from the wardprobe config.
type Config struct {
	// Interface is the interface under test ("" = the first station interface).
	Interface string
	// SSIDs are the networks that count (empty: whatever the interface is on).
	SSIDs []string
	// Interval is the poll interval.
	Interval time.Duration
	// ScanInterval enables active scans this often (0 = off).
	ScanInterval time.Duration
	// MaxNeighbors bounds the neighbours reported.
	MaxNeighbors int
}

// hold is how long a neighbour stays listed after it was last heard.
func (c Config) hold() time.Duration {
	return max(MinNeighborHold, 2*c.ScanInterval)
}

// Poller reads a Snapshot of the Wi-Fi interface under test on demand (Poll)
// or every Config.Interval (Run). It keeps one Source open, and closes and
// reopens it after an error, so a failing nl80211 socket or a vanished
// interface never stops it. It is safe for concurrent use.
type Poller struct {
	open Opener
	now  func() time.Time

	mu     sync.Mutex
	cfg    Config
	src    Source
	tr     tracker
	nb     neighbors
	iface  string
	survey map[int]surveySample
	caps   map[string]Capability
	retry  retryWindow

	planned Planned

	// openErr is the last error opening nl80211, retried no sooner than
	// openAt (backing off while the kernel has no Wi-Fi stack at all).
	openErr   error
	openAt    time.Time
	openDelay time.Duration

	scanMu   sync.Mutex
	scanning bool
	lastScan time.Time
}

type surveySample struct {
	time, busy time.Duration
}

// NewPoller returns a Poller that opens its Source with open (OpenNL80211 in
// production) and reads the clock with now (time.Now when nil).
func NewPoller(cfg Config, open Opener, now func() time.Time) *Poller {
	if now == nil {
		now = time.Now
	}
	return &Poller{open: open, now: now, cfg: cfg, caps: map[string]Capability{}}
}

// SetConfig changes the configuration; the next poll uses it. Changing the
// interface starts its events and neighbours afresh.
func (p *Poller) SetConfig(cfg Config) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cfg.Interface != p.cfg.Interface {
		p.nb.reset()
		p.survey = nil
	}
	if cfg.ScanInterval == 0 {
		delete(p.caps, CapActiveScan)
	}
	p.cfg = cfg
}

// Planned tells whether an outage of an interface at a moment was planned
// (a connect test reconnecting the main link); *connect.Planned satisfies it.
type Planned interface {
	Covers(iface string, t time.Time) bool
}

// SetPlanned makes the poller ask pl, at every poll, whether the interface
// is in a planned outage: then nothing counts, no roam, no disconnect, no
// time disconnected, and the snapshot says Planned.
func (p *Poller) SetPlanned(pl Planned) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.planned = pl
}

// Config returns the configuration in force.
func (p *Poller) Config() Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

// Close closes the Source.
func (p *Poller) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeSource()
}

func (p *Poller) closeSource() {
	if p.src != nil {
		_ = p.src.Close()
		p.src = nil
	}
}

// Poll reads the current state once.
func (p *Poller) Poll() Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	s := Snapshot{Time: now, Interface: p.cfg.Interface}
	o := observation{now: now}
	p.read(&s, &o)
	if p.planned != nil && p.planned.Covers(p.cfg.Interface, now) {
		s.Planned = true
		s.Counters = p.tr.skip(o)
	} else {
		s.Counters = p.tr.observe(o)
	}
	s.Neighbors = p.nb.list(max(p.cfg.MaxNeighbors, 0))
	for _, c := range p.caps {
		s.Capabilities = append(s.Capabilities, c)
	}
	sort.Slice(s.Capabilities, func(i, j int) bool { return s.Capabilities[i].Name < s.Capabilities[j].Name })
	return s
}

// missing describes an interface nl80211 does not list.
func (p *Poller) missing(s *Snapshot) {
	p.nb.reset()
	if p.cfg.Interface == "" {
		s.Detail = "no Wi-Fi interface on this machine"
		return
	}
	if _, err := net.InterfaceByName(p.cfg.Interface); err == nil {
		s.Detail = p.cfg.Interface + " is not a Wi-Fi interface (nl80211 does not know it)"
		return
	}
	s.Detail = "Wi-Fi interface " + p.cfg.Interface + " is missing (unplugged, renamed or its driver unloaded)"
}

// Backoff of opening nl80211 after a failure: a machine without a Wi-Fi
// stack is asked again after MinReopen, doubling to MaxReopen, so that
// polling costs next to nothing there; a module loaded later (an adapter
// plugged in for the first time) is noticed within MaxReopen.
const (
	MinReopen = time.Second
	MaxReopen = 30 * time.Second
)

func (p *Poller) read(s *Snapshot, o *observation) {
	if p.src == nil {
		if p.openErr != nil && s.Time.Before(p.openAt) {
			s.Detail = p.openErr.Error()
			p.nb.reset()
			return
		}
		src, err := p.open()
		if err != nil {
			p.openDelay = min(max(2*p.openDelay, MinReopen), MaxReopen)
			p.openErr, p.openAt = err, s.Time.Add(p.openDelay)
			s.Detail = err.Error()
			p.nb.reset()
			return
		}
		p.src, p.openErr, p.openDelay = src, nil, 0
	}
	if d, ok := p.src.(deadliner); ok {
		_ = d.SetDeadline(time.Now().Add(CallTimeout))
	}
	ifis, err := p.src.Interfaces()
	if err != nil {
		p.closeSource()
		s.Detail = fmt.Sprintf("reading Wi-Fi interfaces failed, nl80211 will be reopened: %v", err)
		return
	}
	ifi := pick(ifis, p.cfg.Interface)
	if ifi == nil {
		p.missing(s)
		return
	}
	s.Interface, s.Present = ifi.Name, true
	if ifi.Name != p.iface {
		p.iface, p.survey = ifi.Name, nil
	}
	if ifi.Type != mdwifi.InterfaceTypeStation {
		s.Detail = fmt.Sprintf("%s is in %s mode, not a station", ifi.Name, ifi.Type)
		p.nb.reset()
		return
	}
	asked := p.now()
	aps, err := p.src.AccessPoints(ifi) // each BSS's age is as of the answer
	answered := p.answeredSince(asked)
	if err != nil {
		if isGone(err) {
			s.Present = false
			p.missing(s)
			return
		}
		p.closeSource()
		s.Detail = fmt.Sprintf("reading scan results of %s failed, nl80211 will be reopened: %v", ifi.Name, err)
		return
	}
	var cur *mdwifi.BSS
	for _, ap := range aps {
		if ap != nil && ap.Status == mdwifi.BSSStatusAssociated {
			cur = ap
		}
	}
	p.nb.update(answered, aps, p.wanted(cur), p.cfg.hold())
	if cur == nil {
		s.Detail = ifi.Name + " is not associated with any access point"
		return
	}
	s.Associated = true
	l := &s.Link
	l.SSID, l.BSSID, l.FrequencyMHz = cur.SSID, cur.BSSID.String(), cur.Frequency
	if l.FrequencyMHz == 0 {
		l.FrequencyMHz = ifi.Frequency
	}
	l.Channel, l.Band = Channel(l.FrequencyMHz)
	s.Connected = len(p.cfg.SSIDs) == 0 || slices.Contains(p.cfg.SSIDs, cur.SSID)
	*o = observation{now: o.now, connected: s.Connected, ssid: l.SSID, bssid: l.BSSID}
	p.station(ifi, l, o)
	if !l.Signal.OK && !l.SignalAverage.OK && cur.Signal != 0 {
		// The driver gives no station signal (or reports 0): the scan
		// results still say how loud the associated BSS is (mBm).
		l.Signal = Some(float64(cur.Signal) / 100)
	}
	p.surveyInfo(ifi, l)
	if sig := signal(*l); sig.OK && l.Noise.OK {
		l.SNR = Some(sig.V - l.Noise.V)
	}
	if !s.Connected {
		s.Detail = fmt.Sprintf("%s is associated with %q, which is not one of the configured SSIDs (%s)",
			ifi.Name, l.SSID, strings.Join(p.cfg.SSIDs, ", "))
		return
	}
	s.Detail = fmt.Sprintf("connected to %q (%s) on channel %d", l.SSID, l.BSSID, l.Channel)
	if l.Band != "" {
		s.Detail += " (" + l.Band + ")"
	}
	if sig := signal(*l); sig.OK {
		s.Detail += fmt.Sprintf(" at %.0f dBm", sig.V)
	}
}

// signal returns the average signal when the driver gives one, else the last.
func signal(l Link) Value {
	if l.SignalAverage.OK {
		return l.SignalAverage
	}
	return l.Signal
}

// SignalUsed returns the signal coverage is judged on: the driver's average
// when it gives one, else the last frame's, in dBm.
func (l Link) SignalUsed() Value { return signal(l) }

// answeredSince times a kernel answer to a query made at asked and just
// returned: its midpoint. The kernel gives ages and counts (a BSS's age,
// the connected time) as of its answer, somewhere within the call, not at
// the poll's start, several queries earlier; the midpoint is off by at
// most half the call.
func (p *Poller) answeredSince(asked time.Time) time.Time {
	return asked.Add(p.now().Sub(asked) / 2)
}

// station fills the link from the AP's station entry.
func (p *Poller) station(ifi *mdwifi.Interface, l *Link, o *observation) {
	asked := p.now()
	sts, err := p.src.StationInfo(ifi) // the connected time is as of the answer
	if err != nil || len(sts) == 0 {
		return
	}
	answered := p.answeredSince(asked)
	st := sts[0]
	for _, x := range sts {
		if x != nil && x.HardwareAddr.String() == l.BSSID {
			st = x
		}
	}
	if st == nil {
		return
	}
	if st.Signal != 0 {
		l.Signal = Some(float64(st.Signal))
	}
	if st.SignalAverage != 0 {
		l.SignalAverage = Some(float64(st.SignalAverage))
	}
	if st.TransmitBitrate > 0 {
		l.TxBitrate = Some(float64(st.TransmitBitrate))
	}
	if st.ReceiveBitrate > 0 {
		l.RxBitrate = Some(float64(st.ReceiveBitrate))
	}
	l.ConnectedFor = st.Connected
	l.RetryRatio = p.retry.add(answered, l.BSSID, st.Connected, max(st.TransmittedPackets, 0), max(st.TransmitRetries, 0))
	o.station, o.stationAt, o.connectedFor = true, answered, st.Connected
	o.retries, o.failed, o.beaconLoss = uint64(max(st.TransmitRetries, 0)), uint64(max(st.TransmitFailed, 0)), uint64(max(st.BeaconLoss, 0))
}

// surveyInfo fills noise and channel busy time from the survey of the
// channel in use, and records which of them the driver gives.
func (p *Poller) surveyInfo(ifi *mdwifi.Interface, l *Link) {
	svs, err := p.src.SurveyInfo(ifi)
	if err != nil && !isGone(err) {
		detail := fmt.Sprintf("survey data unreadable: %v", err)
		if isUnsupported(err) {
			detail = "the driver gives no survey data"
		}
		p.caps[CapNoise] = Capability{Name: CapNoise, Detail: detail + "; noise and SNR are not measured"}
		p.caps[CapChannelBusy] = Capability{Name: CapChannelBusy, Detail: detail + "; channel busy time is not measured"}
		return
	}
	var sv *mdwifi.SurveyInfo
	for _, x := range svs {
		if x != nil && (x.InUse || (sv == nil && x.Frequency == l.FrequencyMHz)) {
			sv = x
		}
	}
	if sv != nil && sv.Noise != 0 {
		l.Noise = Some(float64(sv.Noise))
		p.caps[CapNoise] = Capability{Name: CapNoise, Available: true}
	} else {
		p.caps[CapNoise] = Capability{Name: CapNoise, Detail: "the driver reports no noise floor for the channel; SNR is not measured"}
	}
	if sv == nil || sv.ChannelTime <= 0 {
		p.caps[CapChannelBusy] = Capability{Name: CapChannelBusy, Detail: "the driver reports no channel busy time"}
		return
	}
	p.caps[CapChannelBusy] = Capability{Name: CapChannelBusy, Available: true}
	now := surveySample{time: sv.ChannelTime, busy: sv.ChannelTimeBusy}
	if p.survey == nil {
		p.survey = map[int]surveySample{}
	}
	was, ok := p.survey[l.FrequencyMHz]
	p.survey[l.FrequencyMHz] = now
	if dt := now.time - was.time; ok && dt > 0 && now.busy >= was.busy {
		l.BusyRatio = Some(min(1, float64(now.busy-was.busy)/float64(dt)))
		return
	}
	l.BusyRatio = Some(min(1, float64(now.busy)/float64(now.time)))
}

// wanted returns whether a BSS of an SSID counts as a neighbour.
func (p *Poller) wanted(cur *mdwifi.BSS) func(string) bool {
	if len(p.cfg.SSIDs) > 0 {
		ssids := p.cfg.SSIDs
		return func(s string) bool { return slices.Contains(ssids, s) }
	}
	if cur == nil {
		return func(string) bool { return false }
	}
	ssid := cur.SSID
	return func(s string) bool { return s == ssid }
}

// pick returns the interface named name, or the first station interface
// when name is empty.
func pick(ifis []*mdwifi.Interface, name string) *mdwifi.Interface {
	var first *mdwifi.Interface
	for _, ifi := range ifis {
		if ifi == nil || ifi.Name == "" {
			continue
		}
		if name != "" && ifi.Name == name {
			return ifi
		}
		if name == "" && ifi.Type == mdwifi.InterfaceTypeStation && (first == nil || ifi.Index < first.Index) {
			first = ifi
		}
	}
	return first
}

// Run polls every Config.Interval, calling report with each Snapshot, and
// runs active scans when Config.ScanInterval is set, until ctx ends.
func (p *Poller) Run(ctx context.Context, report func(Snapshot)) {
	defer p.Close()
	next := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		report(p.Poll())
		cfg := p.Config()
		p.maybeScan(ctx, cfg)
		next = next.Add(cfg.Interval)
		if now := time.Now(); next.Before(now) {
			next = now.Add(cfg.Interval) // fell behind: do not burst
		}
		t.Reset(time.Until(next))
	}
}

// maybeScan starts an active scan in the background when one is due. It uses
// its own Source so that a scan never holds up polling.
func (p *Poller) maybeScan(ctx context.Context, cfg Config) {
	if cfg.ScanInterval <= 0 {
		return
	}
	p.scanMu.Lock()
	defer p.scanMu.Unlock()
	if p.scanning || (!p.lastScan.IsZero() && time.Since(p.lastScan) < cfg.ScanInterval) {
		return
	}
	p.scanning, p.lastScan = true, time.Now()
	go func() {
		c := p.scan(ctx, cfg.Interface)
		p.mu.Lock()
		if p.cfg.ScanInterval > 0 {
			p.caps[CapActiveScan] = c
		}
		p.mu.Unlock()
		p.scanMu.Lock()
		p.scanning = false
		p.scanMu.Unlock()
	}()
}

// scan runs one active scan and says whether scanning works.
func (p *Poller) scan(ctx context.Context, name string) Capability {
	c := Capability{Name: CapActiveScan}
	src, err := p.open()
	if err != nil {
		c.Detail = "active scan: " + err.Error()
		return c
	}
	defer src.Close()
	ifis, err := src.Interfaces()
	if err != nil {
		c.Detail = fmt.Sprintf("active scan: reading interfaces: %v", err)
		return c
	}
	ifi := pick(ifis, name)
	if ifi == nil {
		c.Detail = "active scan: no Wi-Fi interface"
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, ScanTimeout)
	defer cancel()
	switch err := src.Scan(ctx, ifi); {
	case err == nil:
		c.Available = true
	case isDenied(err):
		c.Detail = "active scans need CAP_NET_ADMIN; neighbours come from the scans the supplicant makes"
	default:
		c.Available = true // permitted, this one failed (busy, aborted): try again next time
		c.Detail = fmt.Sprintf("last active scan failed: %v", err)
	}
	return c
}

// retryWindow keeps a minute of one association's transmit counters, for
// the retry ratio.
type retryWindow struct {
	bssid   string
	samples []retrySample
}

type retrySample struct {
	at               time.Time
	packets, retries int
}

// retryMinAttempts is the least number of transmission attempts a retry
// ratio is computed from.
const retryMinAttempts = 10

// add records the counters of the association with bssid (connected for
// connectedFor) at now and returns the retry ratio over the last minute.
func (w *retryWindow) add(now time.Time, bssid string, connectedFor time.Duration, packets, retries int) Value {
	if n := len(w.samples); bssid != w.bssid || n > 0 && (packets < w.samples[n-1].packets || retries < w.samples[n-1].retries) {
		w.bssid, w.samples = bssid, w.samples[:0] // a new association: its counters start afresh
	}
	w.samples = append(w.samples, retrySample{now, packets, retries})
	for len(w.samples) > 2 && now.Sub(w.samples[1].at) >= time.Minute {
		w.samples = w.samples[1:]
	}
	first := w.samples[0]
	dp, dr := packets-first.packets, retries-first.retries
	if len(w.samples) == 1 && connectedFor < time.Minute {
		dp, dr = packets, retries // the association is young: its whole life so far
	}
	if dp+dr < retryMinAttempts {
		return Value{}
	}
	return Some(float64(dr) / float64(dp+dr))
}

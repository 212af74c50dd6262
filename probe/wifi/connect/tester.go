package connect

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
)

// Tester runs connect tests on one adapter. Tests never overlap. It is
// safe for concurrent use.
type Tester struct {
	cfg Config
	now func() time.Time

	mu   sync.Mutex
	held *held // a shared adapter's connection, kept between tests
}

// held is a connection kept after a test on a shared adapter: the
// supplicant stays (and reconnects by itself after a drop) and hold keeps
// a lease on the adapter.
type held struct {
	sup    *supplicant
	nc     *netConfig
	dc     *nclient4.Client
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Tester for cfg (defaults applied, then validated).
func New(cfg Config) (*Tester, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Tester{cfg: cfg, now: time.Now}, nil
}

// Config returns the configuration in force (defaults applied).
func (t *Tester) Config() Config { return t.cfg }

func (t *Tester) method() string {
	if t.cfg.EAP == nil {
		return "psk"
	}
	return t.cfg.EAP.Method
}

// Run tests every Config.Interval (±5%) until ctx ends, and calls emit
// with each Result. On a shared adapter the first test runs at once (it
// brings the main link up); otherwise after a random delay of up to 10 s
// (at most a thirtieth of the interval).
// When ctx ends the adapter is released (Close).
func (t *Tester) Run(ctx context.Context, emit func(Result)) {
	defer t.Close()
	wait := time.Duration(0)
	if !t.cfg.Shared {
		// Spread the first tests of a fleet restarted at once (at most 10 s,
		// and a thirtieth of the interval).
		wait = time.Duration(rand.Int64N(int64(min(10*time.Second, t.cfg.Interval/30)) + 1))
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		emit(t.Test(ctx))
		jitter := time.Duration(rand.Int64N(int64(t.cfg.Interval/10)+1)) - t.cfg.Interval/20
		wait = t.cfg.Interval + jitter
	}
}

// Close releases the adapter: the kept connection of a shared adapter is
// torn down, its lease released. On a shared adapter that is a planned
// outage too (a reload that keeps the test starts the next one at once).
func (t *Tester) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held != nil && t.cfg.Shared {
		t.cfg.Planned.Begin(t.cfg.Interface, t.now())
		defer func() { t.cfg.Planned.End(t.cfg.Interface, t.now()) }()
	}
	t.releaseHeld()
}

func (t *Tester) releaseHeld() {
	if h := t.held; h != nil {
		t.held = nil
		h.cancel()
		<-h.done
		if h.dc != nil {
			h.dc.Close()
		}
		h.nc.undo()
		h.sup.stop()
	}
}

// Test runs one connect test from scratch and returns its Result.
func (t *Tester) Test(ctx context.Context) Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	cfg := t.cfg
	r := Result{Interface: cfg.Interface, SSID: cfg.SSID, Method: t.method(), Start: t.now()}
	if cfg.Shared {
		r.Planned = true
		cfg.Planned.Begin(cfg.Interface, r.Start)
		defer func() { cfg.Planned.End(cfg.Interface, t.now()) }()
	}
	t.releaseHeld()
	run := &run{t: t, cfg: cfg, r: &r}
	f := run.do(ctx)
	r.Time = t.now()
	if f != nil {
		r.Phase, r.Reason, r.Detail = f.phase, f.reason, f.detail
		r.Phases = run.phases(false)
	} else {
		r.Success = true
		r.Phases = run.phases(true)
	}
	switch {
	case run.sup == nil:
	case cfg.Shared:
		t.hold(run)
	default:
		if run.dc != nil && run.lease != nil {
			_ = run.dc.Release(run.lease.raw)
		}
		if run.dc != nil {
			run.dc.Close()
		}
		run.nc.undo()
		run.sup.stop()
	}
	return r
}

// run is the state of one test.
type run struct {
	t   *Tester
	cfg Config
	r   *Result

	sup   *supplicant
	nc    *netConfig
	dc    *nclient4.Client
	lease *lease
	tl    *timeline

	leased, resolved, reached time.Time
}

func (x *run) do(ctx context.Context) *failure {
	cfg := x.cfg
	if _, err := net.InterfaceByName(cfg.Interface); err != nil {
		return fail(PhaseSetup, ReasonNoInterface, "adapter %s is missing (unplugged, renamed or its driver unloaded)", cfg.Interface)
	}
	nw, err := buildNetwork(cfg)
	if err != nil {
		return fail(PhaseSetup, ReasonCredentials, "%v", err)
	}
	program, err := findSupplicant(cfg.Supplicant)
	if err != nil {
		return fail(PhaseSetup, ReasonSupplicant, "%v", err)
	}
	x.nc = &netConfig{iface: cfg.Interface, shared: cfg.Shared, table: cfg.RouteTable, priority: cfg.RulePriority}
	if err := x.nc.flush(); err != nil {
		if isPermission(err) {
			return fail(PhaseSetup, ReasonPermission, "configuring %s needs CAP_NET_ADMIN: %v", cfg.Interface, err)
		}
		return fail(PhaseSetup, ReasonOther, "%v", err)
	}
	if !cfg.Shared && cfg.MainInterface != cfg.Interface {
		x.r.Warning = isolateARP(cfg.Interface, cfg.MainInterface)
	}
	dir := filepath.Join(cfg.StateDir, "connect-"+cfg.Interface)
	sup, err := startSupplicant(ctx, program, cfg.Interface, dir)
	if err != nil && ctx.Err() == nil {
		// A supplicant that gave up at start (the driver still busy with
		// the last one, say) gets one more try.
		time.Sleep(time.Second)
		sup, err = startSupplicant(ctx, program, cfg.Interface, dir)
	}
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fail(PhaseSetup, ReasonPermission, "%v", err)
		}
		return fail(PhaseSetup, ReasonSupplicant, "%v", err)
	}
	x.sup = sup
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	id, err := sup.add(sctx, nw)
	if err == nil {
		_, _ = sup.ctrl.Request(sctx, "SCAN_INTERVAL 1") // rescan quickly while the test waits
		if len(cfg.Frequencies) > 0 {
			// The network's scan_freq does not bound the supplicant's first,
			// full scans: its global freq_list does.
			err = sup.ctrl.ok(sctx, "SET freq_list "+freqList(cfg.Frequencies, " "))
		}
	}
	cancel()
	if err != nil {
		return fail(PhaseSetup, ReasonSupplicant, "configuring the network: %v", err)
	}

	// The measured part starts here.
	start := x.t.now()
	x.r.Start = start
	deadline := start.Add(cfg.Timeout)
	tctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	x.tl = newTimeline(start, cfg.EAP != nil)
	sel := "SELECT_NETWORK " + id
	if len(cfg.Frequencies) > 0 {
		sel += " freq=" + freqList(cfg.Frequencies, ",")
	}
	if _, err := sup.ctrl.Request(tctx, sel); err != nil {
		return fail(PhaseSetup, ReasonSupplicant, "enabling the network: %v", err)
	}
	if f := x.associate(tctx, deadline); f != nil {
		return f
	}
	if f := x.dhcp(tctx); f != nil {
		return f
	}
	x.leased = x.t.now()
	if len(x.lease.dns) == 0 {
		return fail(PhaseDNS, ReasonNoServer, "the lease names no DNS server")
	}
	if f := lookup(tctx, cfg.Interface, x.lease.addr.IP, x.lease.dns[0], cfg.Query); f != nil {
		return f
	}
	x.resolved = x.t.now()
	if x.lease.router == nil {
		return fail(PhaseGateway, ReasonNoGateway, "the lease names no router")
	}
	if f := pingGateway(tctx, cfg.Interface, x.lease.addr.IP, x.lease.router); f != nil {
		return f
	}
	x.reached = x.t.now()
	return nil
}

// associate follows the supplicant's events until the link is up.
func (x *run) associate(ctx context.Context, deadline time.Time) *failure {
	for {
		m, err := x.sup.mon.Next(deadline)
		now := x.t.now()
		if err == nil && x.cfg.Trace != nil {
			x.cfg.Trace(now, m.Text)
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
				return x.tl.timeout()
			}
			return fail(x.tl.phase(), ReasonSupplicant, "reading wpa_supplicant's events: %v", err)
		}
		done, f := x.tl.observe(now, m)
		if f != nil {
			return f
		}
		if done {
			x.r.BSSID = x.tl.bssid
			return nil
		}
	}
}

// dhcp gets a lease and applies it. It first waits (up to 2 s) for the
// interface to be running: the supplicant reports the connection a moment
// before it turns the interface's operational state from dormant to up,
// and mac80211 drops data frames until the port is authorized, so a
// DHCPDISCOVER sent at once could be lost and cost a 1 s retransmission.
func (x *run) dhcp(ctx context.Context) *failure {
	waitRunning(ctx, x.cfg.Interface, 2*time.Second)
	dc, err := dhcpClient(x.cfg.Interface)
	if err != nil {
		if isPermission(err) {
			return fail(PhaseDHCP, ReasonPermission, "a DHCP socket needs CAP_NET_RAW: %v", err)
		}
		return fail(PhaseDHCP, ReasonOther, "DHCP client: %v", err)
	}
	x.dc = dc
	raw, err := dc.Request(ctx, hostName())
	if err != nil {
		var nak *nclient4.ErrNak
		if errors.As(err, &nak) {
			return fail(PhaseDHCP, ReasonRejected, "the DHCP server refused the request (DHCPNAK)")
		}
		return fail(PhaseDHCP, ReasonNoLease, "no lease: %v", shortDHCPError(err))
	}
	l, err := fromDHCP(raw)
	if err != nil {
		return fail(PhaseDHCP, ReasonNoLease, "%v", err)
	}
	x.lease = l
	x.r.Address, x.r.Gateway = l.addr.String(), ipString(l.router)
	if len(l.dns) > 0 {
		x.r.DNSServer = l.dns[0].String()
	}
	if err := x.nc.apply(l); err != nil {
		if isPermission(err) {
			return fail(PhaseDHCP, ReasonPermission, "applying the lease needs CAP_NET_ADMIN: %v", err)
		}
		return fail(PhaseDHCP, ReasonOther, "applying the lease: %v", err)
	}
	return nil
}

func shortDHCPError(err error) string {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nclient4.ErrNoResponse) {
		return "no answer from a DHCP server"
	}
	return err.Error()
}

func ipString(ip net.IP) string {
	if ip == nil {
		return ""
	}
	return ip.String()
}

// phases returns the durations of the completed phases.
func (x *run) phases(success bool) []PhaseTime {
	if x.tl == nil {
		return nil
	}
	out := x.tl.phases()
	add := func(p Phase, from, to time.Time) {
		if !from.IsZero() && !to.IsZero() && !to.Before(from) {
			out = append(out, PhaseTime{p, to.Sub(from)})
		}
	}
	add(PhaseDHCP, x.tl.connected, x.leased)
	add(PhaseDNS, x.leased, x.resolved)
	add(PhaseGateway, x.resolved, x.reached)
	if success {
		add(PhaseTotal, x.tl.start, x.reached)
	}
	return out
}

// hold keeps a shared adapter's connection after a test: the supplicant
// stays and reconnects by itself after a drop; the lease is renewed at half
// its time, and requested afresh after each reconnection.
func (t *Tester) hold(x *run) {
	ctx, cancel := context.WithCancel(context.Background())
	h := &held{sup: x.sup, nc: x.nc, dc: x.dc, cancel: cancel, done: make(chan struct{})}
	t.held = h
	if h.dc == nil {
		h.dc, _ = dhcpClient(t.cfg.Interface) // nil when it cannot: the link is kept without a lease
	}
	sctx, scancel := context.WithTimeout(ctx, time.Second)
	_, _ = h.sup.ctrl.Request(sctx, "SCAN_INTERVAL 5")
	scancel()
	go func() {
		defer close(h.done)
		l := x.lease
		connected := x.tl != nil && !x.tl.connected.IsZero()
		renew := time.Now().Add(time.Minute)
		if l != nil {
			renew = l.raw.CreationTime.Add(l.duration / 2)
		}
		for ctx.Err() == nil {
			m, err := h.sup.mon.Next(time.Now().Add(time.Second))
			switch {
			case err == nil && m.Name == "CTRL-EVENT-CONNECTED":
				connected, l = true, nil
				renew = time.Now()
			case err == nil && m.Name == "CTRL-EVENT-DISCONNECTED":
				connected = false
			case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
				return
			}
			if !connected || h.dc == nil || time.Now().Before(renew) {
				continue
			}
			l = t.refresh(ctx, h, l)
			if l != nil {
				renew = time.Now().Add(l.duration / 2)
			} else {
				renew = time.Now().Add(30 * time.Second)
			}
		}
	}()
}

// refresh renews a lease (or gets a new one) and applies it.
func (t *Tester) refresh(ctx context.Context, h *held, l *lease) *lease {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var raw *nclient4.Lease
	var err error
	if l != nil {
		raw, err = h.dc.Renew(ctx, l.raw, hostName())
	}
	if l == nil || err != nil {
		raw, err = h.dc.Request(ctx, hostName())
	}
	if err != nil {
		return nil
	}
	nl, err := fromDHCP(raw)
	if err != nil {
		return nil
	}
	if l == nil || !l.addr.IP.Equal(nl.addr.IP) || !nl.router.Equal(l.router) {
		h.nc.undo()
	}
	if err := h.nc.apply(nl); err != nil {
		return nil
	}
	return nl
}

// waitRunning polls the interface's IFF_RUNNING flag (operational state
// up) every 2 ms until it is set, ctx ends or max has passed.
func waitRunning(ctx context.Context, iface string, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if ifi, err := net.InterfaceByName(iface); err != nil || ifi.Flags&net.FlagRunning != 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Package icmp is the icmp target kind: it pings a target continuously and
// reports every echo's outcome: its round-trip time, or its loss once the
// echo's own timeout has passed.
//
// Each target has one long-lived socket, connected to the target and bound
// to the interface under test, with one goroutine blocked in its receive
// (no read deadlines, no polling) and a fixed ring of the echoes awaiting
// their reply (flight), each with its monotonic send time: a round-trip
// time never depends on the wall clock or on what the reply's payload says.
// Echoes are built and parsed here (wire.go) rather than through
// prometheus-community/pro-bing, whose Pinger opens its socket per run,
// polls it with read deadlines, times replies from the wall-clock time in
// the payload, keeps every unanswered sequence number for ever and cannot
// bind its socket to a device (see the README).
package icmp

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/netif"
)

// Mode is the kind of ICMP socket in use.
type Mode string

// Socket modes.
const (
	// ModeUnprivileged uses datagram ICMP sockets, allowed by net.ipv4.ping_group_range.
	ModeUnprivileged Mode = "unprivileged"
	// ModeRaw uses raw sockets, which need CAP_NET_RAW.
	ModeRaw Mode = "raw"
	// ModeUnavailable is the socket_info mode when no ICMP socket can be had.
	ModeUnavailable Mode = "unavailable"
)

// DetectMode picks unprivileged ICMP sockets where the system allows them and
// raw sockets where it does not but the process has CAP_NET_RAW.
func DetectMode() (Mode, error) {
	try := func(typ int) error {
		fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		if err != nil {
			return os.NewSyscallError("socket", err)
		}
		return unix.Close(fd)
	}
	err := try(unix.SOCK_DGRAM)
	if err == nil {
		return ModeUnprivileged, nil
	}
	rawErr := try(unix.SOCK_RAW)
	if rawErr == nil {
		return ModeRaw, nil
	}
	rng, _ := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	return "", fmt.Errorf("no ICMP socket available: unprivileged ICMP is not allowed for this group "+
		"(net.ipv4.ping_group_range = %q: %v) and raw sockets need CAP_NET_RAW (%v); "+
		"run as root, grant CAP_NET_RAW (the systemd unit does) or widen ping_group_range",
		strings.TrimSpace(string(rng)), err, rawErr)
}

// MaxPacketSize is the largest payload: a 1500-byte MTU less the IPv4 and
// ICMP headers.
const MaxPacketSize = 1472

// Spec is an icmp target's own settings.
type Spec struct {
	// Address is a host name, an IP address (an IPv6 one may carry a zone,
	// fe80::1%wlan0) or the word "gateway".
	Address string `yaml:"address"`
	// PacketSize is the ICMP payload size in bytes (default 56).
	PacketSize int `yaml:"packet_size"`
}

// Default implements config.Spec.
func (s *Spec) Default() {
	if s.PacketSize == 0 {
		s.PacketSize = 56
	}
}

// Validate implements config.Spec.
func (s *Spec) Validate(c *config.Checker) {
	if s.Address == "" {
		c.Errorf("address", "is required (a host, an IP address or the word gateway)")
	} else if s.Address != "gateway" && !config.ValidHost(s.Address) {
		c.Errorf("address", "%q is not a host name or IP address", s.Address)
	} else {
		c.Check("address", netif.ZoneIs(s.Address, c.Interface()))
	}
	if s.PacketSize < MinPacketSize || s.PacketSize > MaxPacketSize {
		c.Errorf("packet_size", "%d is outside %d..%d", s.PacketSize, MinPacketSize, MaxPacketSize)
	}
	if c.Interval() > 0 && c.Timeout() > 0 { // else refused already
		c.Check("timeout", checkInFlight(c.Interval(), c.Timeout()))
	}
}

// checkInFlight refuses a timeout of more than MaxInFlight intervals: the
// echoes of a target that may await their reply are bounded.
func checkInFlight(interval, timeout config.Duration) error {
	if n := (timeout.D() + interval.D() - 1) / interval.D(); n > MaxInFlight {
		return fmt.Errorf("%s is %d intervals of %s: at most %d echo requests of a target may await their reply, "+
			"so the timeout may be at most %d intervals (%s); shorten the timeout or lengthen the interval",
			timeout, n, interval, MaxInFlight, MaxInFlight, time.Duration(MaxInFlight)*interval.D())
	}
	return nil
}

// Metric names.
const (
	metricSent   = "wardprobe_icmp_packets_sent_total"
	metricLost   = "wardprobe_icmp_packets_lost_total"
	metricRTT    = "wardprobe_icmp_rtt_seconds"
	metricJitter = "wardprobe_icmp_jitter_seconds"
	metricSocket = "wardprobe_icmp_socket_info"
)

// Kind returns the icmp kind.
func Kind() probe.Kind {
	return probe.Kind{
		Kind: config.Kind{
			Name: "icmp", NewSpec: func() config.Spec { return &Spec{} },
			DefaultInterval: time.Second, MinInterval: 10 * time.Millisecond,
			DefaultTimeout:   func(time.Duration) time.Duration { return 2 * time.Second },
			TimeoutPerPacket: true,
		},
		New:      newJob,
		Coverage: true,
		Metrics: []probe.Metric{
			{Name: metricSent, Help: "ICMP echo requests sent whose outcome is known (answered or lost).", Type: probe.Counter},
			{Name: metricLost, Help: "ICMP echo requests lost: no reply within the per-packet timeout, or the send failed.", Type: probe.Counter},
			{Name: metricRTT, Help: "Round-trip time of answered ICMP echo requests, in seconds.", Type: probe.Histogram, Buckets: probe.LatencyBuckets()},
			{Name: metricJitter, Help: "Smoothed variation of consecutive ICMP round-trip times (RFC 3550), in seconds.", Type: probe.Gauge},
			{Name: metricSocket, Help: "The kind of ICMP socket in use (unprivileged, raw or unavailable); always 1.", Type: probe.Info, Labels: []string{"mode"}, PerKind: true},
			probe.BindingMetric(),
		},
	}
}

// newJob detects the socket mode afresh (so that a permission fixed before
// a reload takes effect at once: the mode is part of the job's key, so a
// changed mode replaces the running job) and builds the target's pinger.
func newJob(t config.Target, env probe.Env) (probe.Job, error) {
	spec := t.Spec.(*Spec)
	interval, timeout := t.Interval.D(), t.Timeout.D()
	if err := checkInFlight(t.Interval, t.Timeout); err != nil { // Validate refuses it first
		return probe.Job{}, &config.FieldError{Key: "timeout", Err: err}
	}
	mode, err := DetectMode()
	if err != nil {
		env.Note(zerolog.ErrorLevel, "ICMP probes cannot run: "+err.Error())
		return probe.Job{Prober: unavailable{t.Name}, Key: string(ModeUnavailable)}, nil
	}
	env.Note(zerolog.InfoLevel, "ICMP sockets: "+string(mode))
	// The path's resolver asks the interface's DNS servers by the
	// interface; the echoes' own socket is bound below (openSock).
	path := netif.NewPath(env.Interface)
	probe.NoteBinding(env, path)
	return probe.Job{Key: string(mode), Grid: OnGrid(spec.PacketSize), Runner: New(Config{Target: t.Name, Address: spec.Address, Interval: interval,
		Timeout: timeout, Size: spec.PacketSize, Interface: env.Interface, Mode: mode, Resolver: path.Resolver()}, env.Log)}, nil
}

// GridMaxPayload is the largest echo payload, in bytes, of a target whose
// echoes go out together with those of other targets sharing its interval
// (probe.Job.Grid): ping's and the config's default of 56 bytes, an 84-byte
// IPv4 packet. An echo sent together with others waits behind them on the
// probe's own link; at 84 bytes a packet that wait is within the
// measurement's noise (8 targets over a 2 Mbit/s shaped link: 0.03–0.11 ms
// RTT), while 8 echoes of 1400 bytes waited 0.2–34 ms, in a steady order,
// which would read as one target being slower than another.
const GridMaxPayload = 56

// OnGrid reports whether a target's echoes of payload size bytes go out
// together with others' (see GridMaxPayload).
func OnGrid(size int) bool { return size <= GridMaxPayload }

// unavailable stands in for a target when no ICMP socket can be had.
type unavailable struct{ target string }

func (u unavailable) Probe(context.Context) probe.Result {
	r := probe.Fail(u.target, "icmp", probe.ReasonPermission, "no ICMP socket available (see the log)")
	r.Observations = []probe.Observation{probe.Ob(metricSocket, 1, string(ModeUnavailable))}
	return r
}

// Resolver looks host names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Config describes one continuously pinged target.
type Config struct {
	Target string
	// Address is a host name, an IP address (IPv6 with an optional zone) or
	// "gateway".
	Address string
	// Interval is the time between echo requests.
	Interval time.Duration
	// Timeout is the per-echo timeout after which an echo is lost.
	Timeout time.Duration
	// Size is the payload size in bytes (at least MinPacketSize).
	Size int
	// Interface, when set, is the interface under test: the socket is bound
	// to it (SO_BINDTODEVICE where the kernel allows) and to its address,
	// and "gateway" means its default gateway.
	Interface string
	Mode      Mode
	// ResolveEvery is how often the address, gateway and source are looked
	// up again (default 10 s).
	ResolveEvery time.Duration
	// Resolver looks host names up (default net.DefaultResolver; the kind
	// gives the resolver of the interface under test, netif.Path).
	Resolver Resolver
}

// Pinger is a probe.Runner for one ICMP target.
type Pinger struct {
	cfg Config
	log zerolog.Logger

	// socketOb and bindingOb (by whether the socket is bound to the
	// device) are the info observations every result carries.
	socketOb  probe.Observation
	bindingOb map[netif.Binding]probe.Observation

	mu     sync.Mutex // guards what the sender and the receiver share
	fl     *flight
	jitter Jitter
	lost   []time.Time // expire's buffer, kept between calls
}

// New returns a Pinger for cfg.
func New(cfg Config, log zerolog.Logger) *Pinger {
	if cfg.ResolveEvery <= 0 {
		cfg.ResolveEvery = 10 * time.Second
	}
	cfg.Size = max(cfg.Size, MinPacketSize)
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	return &Pinger{cfg: cfg, log: log.With().Str("target", cfg.Target).Logger(),
		fl:       newFlight(InFlight(cfg.Interval, cfg.Timeout), cfg.Timeout),
		socketOb: probe.Ob(metricSocket, 1, string(cfg.Mode)),
		bindingOb: map[netif.Binding]probe.Observation{
			netif.BindDevice: probe.Ob(probe.MetricBinding, 1, cfg.Interface, string(netif.BindDevice)),
			netif.BindSource: probe.Ob(probe.MetricBinding, 1, cfg.Interface, string(netif.BindSource)),
		}}
}

// route is where echoes go and what they leave from.
type route struct {
	dst netip.Addr // with its zone
	src netip.Addr // invalid when there is no interface under test
}

// resolve returns the route to the target now.
func (p *Pinger) resolve(ctx context.Context) (route, error) {
	var (
		r   route
		err error
	)
	switch addr := p.cfg.Address; {
	case addr == "gateway":
		gw, err := netif.DefaultGateway(p.cfg.Interface)
		if err != nil {
			return r, err
		}
		r.dst, _ = netip.AddrFromSlice(gw.To4())
	default:
		if r.dst, err = netip.ParseAddr(addr); err != nil {
			if r.dst, err = p.lookup(ctx, addr); err != nil {
				return r, err
			}
		}
	}
	r.dst = r.dst.Unmap()
	if r.dst.Zone() != "" {
		if err := netif.CheckZone(r.dst.String(), p.cfg.Interface); err != nil {
			return r, err
		}
	} else if r.dst.Is6() && r.dst.IsLinkLocalUnicast() && p.cfg.Interface != "" {
		r.dst = r.dst.WithZone(p.cfg.Interface)
	}
	if p.cfg.Interface != "" {
		if r.src, err = sourceFor(p.cfg.Interface, r.dst); err != nil {
			return r, err
		}
	}
	return r, nil
}

// lookup resolves a host name: its first IPv4 address, or its first IPv6
// address when it has none (an AAAA-only name).
func (p *Pinger) lookup(ctx context.Context, host string) (netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ips, err := p.cfg.Resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolving %s: %w", host, err)
	}
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			return ip.Unmap(), nil
		}
	}
	if len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("resolving %s: %w", host, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true})
	}
	return ips[0], nil
}

// sourceFor returns the address of the interface name that echoes to dst
// leave from (netif.SourceFor: an address of dst's family; for IPv6 a global
// one, or a link-local one for a link-local dst), with its zone when it is
// link-local.
func sourceFor(name string, dst netip.Addr) (netip.Addr, error) {
	ip, err := netif.SourceFor(name, net.IP(dst.AsSlice()))
	if err != nil {
		return netip.Addr{}, err
	}
	a, _ := netip.AddrFromSlice(ip)
	a = a.Unmap()
	if a.Is6() && a.IsLinkLocalUnicast() {
		a = a.WithZone(name)
	}
	return a, nil
}

// conn is the socket of one route, with its receiver.
type conn struct {
	*sock
	route route
	token uint64
	echo  *echo
	done  chan struct{} // closed when the receiver has returned
}

// open opens the socket of rt and starts its receiver.
func (p *Pinger) open(rt route, emit probe.Emit) (*conn, error) {
	var rnd [10]byte
	_, _ = rand.Read(rnd[:])
	id := binary.BigEndian.Uint16(rnd[8:])
	k, err := openSock(sockSpec{mode: p.cfg.Mode, dst: rt.dst, iface: p.cfg.Interface, src: rt.src, id: id})
	if err != nil {
		return nil, err
	}
	c := &conn{sock: k, route: rt, token: binary.BigEndian.Uint64(rnd[:8]), done: make(chan struct{})}
	c.echo = newEcho(p.cfg.Size, k.v6, k.id, c.token)
	go p.receive(c, emit)
	return c, nil
}

// close closes c and waits for its receiver; echoes still awaiting their
// reply on it are forgotten (their outcome is unknown: they count for nothing).
func (p *Pinger) close(c *conn) {
	_ = c.close()
	<-c.done
	p.mu.Lock()
	n := p.fl.forget()
	p.mu.Unlock()
	if n > 0 {
		p.log.Debug().Int("echoes", n).Msg("socket closed with echoes awaiting their reply: they count for nothing")
	}
}

// Run pings until ctx ends: one echo request every interval on the
// target's socket, each lost when its own timeout passes unanswered, so that
// a slow reply never holds up the next echo. The address (and the gateway,
// and the source address) is looked up again every ResolveEvery in the
// background, and at once after a failure; the socket is reopened when they
// change.
func (p *Pinger) Run(ctx context.Context, emit probe.Emit) {
	var c *conn
	defer func() {
		if c != nil {
			p.close(c)
		}
	}()
	tick := time.NewTicker(p.cfg.Interval)
	defer tick.Stop()
	expiry := time.NewTimer(time.Hour)
	expiry.Stop()
	defer expiry.Stop()
	var (
		resolvedAt time.Time
		stale      = true                      // look the route up before the next echo
		looked     = make(chan routeResult, 1) // a refresh looked up in the background
		looking    bool
		warned     bool // the log said the last address is kept
	)
	// apply puts the route looked up at now in force: a new one reopens the
	// socket; an error closes it (nothing can be sent: the interval is a
	// failure that accounts for no packet), except that a failed refresh
	// of a name keeps pinging its last address (the target's DNS is not
	// the path under test; the dns kind measures it).
	apply := func(now time.Time, rt route, err error, refresh bool) {
		switch {
		case err != nil && refresh && c != nil && probe.Classify(err) == probe.ReasonDNS:
			if !warned {
				p.log.Warn().Err(err).Str("address", c.route.dst.String()).Msg("looking the name up again failed; pinging its last address")
				warned = true
			}
			resolvedAt = now
		case err != nil:
			if c != nil {
				p.close(c)
				c = nil
			}
			emit(p.failure(nil, probe.Classify(err), err.Error(), 0))
			stale = true
		case c == nil || c.route != rt:
			if c != nil {
				p.close(c)
				c = nil
			}
			if c, err = p.open(rt, emit); err != nil {
				emit(p.failure(nil, probe.Classify(err), err.Error(), 0))
				stale = true
				return
			}
			p.log.Info().Str("address", rt.dst.String()).Str("source", addrString(rt.src)).Str("mode", string(p.cfg.Mode)).
				Str("binding", string(c.binding)).Msg("pinging")
			resolvedAt, stale, warned = now, false, false
		default:
			resolvedAt, stale, warned = now, false, false
		}
	}
	for {
		now := time.Now()
		p.expire(now, c, emit)
		switch {
		case stale || c == nil:
			// Nothing to ping until the route is known: look it up now.
			rt, err := p.resolve(ctx)
			if ctx.Err() != nil {
				return
			}
			apply(now, rt, err, false)
		case !looking && now.Sub(resolvedAt) >= p.cfg.ResolveEvery:
			// Keep pinging meanwhile: a slow lookup holds up no echo.
			looking = true
			go func() {
				rt, err := p.resolve(ctx)
				looked <- routeResult{rt, err}
			}()
		}
		if c != nil && !p.send(c, emit) {
			stale = true // look again before the next echo: the interface may have changed
		}
		p.arm(expiry, time.Now())
	wait:
		for {
			select {
			case <-ctx.Done():
				if looking {
					<-looked
				}
				return
			case r := <-looked:
				looking = false
				if ctx.Err() == nil && !stale {
					apply(time.Now(), r.rt, r.err, true)
				}
			case <-tick.C:
				break wait
			case <-expiry.C:
				now := time.Now()
				p.expire(now, c, emit)
				p.arm(expiry, now)
			}
		}
	}
}

// routeResult is a route looked up in the background.
type routeResult struct {
	rt  route
	err error
}

// arm sets the expiry timer to the deadline of the oldest echo awaiting its
// reply when that comes before the next tick (which expires echoes too), so
// that an answered echo costs no wake-up.
func (p *Pinger) arm(t *time.Timer, now time.Time) {
	p.mu.Lock()
	d, ok := p.fl.deadline()
	p.mu.Unlock()
	if ok && d.Sub(now) < p.cfg.Interval {
		t.Reset(max(d.Sub(now), 0))
	}
}

// send sends the next echo request on c; it reports false when the send failed.
func (p *Pinger) send(c *conn, emit probe.Emit) bool {
	now := time.Now()
	p.mu.Lock()
	serial, evicted := p.fl.add(now)
	p.mu.Unlock()
	if !evicted.IsZero() {
		emit(p.lostEcho(c, evicted))
	}
	err := c.send(c.echo.request(serial, now))
	if err == nil {
		return true
	}
	p.mu.Lock()
	p.fl.cancel(serial)
	p.mu.Unlock()
	r := p.failure(c, probe.Classify(err), err.Error(), 1)
	r.Sent = now
	emit(r)
	return false
}

// receive reads c's replies until c is closed.
func (p *Pinger) receive(c *conn, emit probe.Emit) {
	defer close(c.done)
	buf := make([]byte, 60+headerLen+p.cfg.Size) // the largest IPv4 header and our echo
	for {
		msg, err := c.recv(buf)
		now := time.Now()
		if err != nil {
			if errors.Is(err, errClosed) {
				return
			}
			// An error the kernel queued on the socket (an ICMP error about
			// an earlier echo, say): that echo's timeout still decides.
			p.log.Debug().Err(err).Msg("receiving")
			continue
		}
		r, ok := parseReply(msg, c.v6)
		if !ok || r.id != c.id || r.token != c.token || r.seq != uint16(r.serial) {
			continue // not one of ours
		}
		p.mu.Lock()
		rtt, ok := p.fl.answer(r.serial, now)
		var jitter time.Duration
		if ok {
			jitter = p.jitter.Add(rtt)
		}
		p.mu.Unlock()
		if ok {
			emit(probe.Result{Target: p.cfg.Target, Kind: "icmp", Time: now, Sent: now.Add(-rtt), Success: true,
				Duration: rtt, Jitter: jitter, HaveJitter: true, Addr: c.route.dst.String(), Packets: 1,
				Observations: p.observations(c.binding, probe.Observation{Metric: metricSent, Value: 1},
					probe.Observation{Metric: metricRTT, Value: rtt.Seconds()}, probe.Observation{Metric: metricJitter, Value: jitter.Seconds()})})
		}
	}
}

// expire settles as lost every echo whose timeout has passed at now.
func (p *Pinger) expire(now time.Time, c *conn, emit probe.Emit) {
	p.mu.Lock()
	p.lost = p.fl.expire(now, p.lost[:0])
	lost := p.lost
	p.mu.Unlock()
	for _, sent := range lost { // only Run's goroutine expires: p.lost stays as it is
		emit(p.lostEcho(c, sent))
	}
}

// lostEcho is the Result of an echo sent at sent on c and lost: no reply
// within its timeout.
func (p *Pinger) lostEcho(c *conn, sent time.Time) probe.Result {
	r := p.failure(c, probe.ReasonTimeout, fmt.Sprintf("no reply within %s", p.cfg.Timeout), 1)
	r.Sent = sent
	return r
}

// failure is a failed Result accounting for packets echoes (0 or 1), on c
// (nil when there is no socket).
func (p *Pinger) failure(c *conn, reason probe.Reason, detail string, packets int) probe.Result {
	r := probe.Fail(p.cfg.Target, "icmp", reason, detail)
	r.Packets = packets
	var b netif.Binding
	if c != nil {
		r.Addr, b = c.route.dst.String(), c.binding
	}
	var obs []probe.Observation
	if packets > 0 {
		obs = append(obs, probe.Ob(metricSent, 1), probe.Ob(metricLost, 1))
	}
	p.mu.Lock()
	j, have := p.jitter.Value(), p.jitter.have
	p.mu.Unlock()
	if have {
		r.Jitter, r.HaveJitter = j, true
		obs = append(obs, probe.Ob(metricJitter, j.Seconds()))
	}
	r.Observations = p.observations(b, obs...)
	return r
}

// observations returns obs with the socket mode and, with an interface
// under test and a socket, its binding: a new slice (a Result's
// observations may be kept), whose label slices are shared (never written).
func (p *Pinger) observations(b netif.Binding, obs ...probe.Observation) []probe.Observation {
	out := make([]probe.Observation, len(obs), len(obs)+2)
	copy(out, obs)
	out = append(out, p.socketOb)
	if ob, ok := p.bindingOb[b]; ok && p.cfg.Interface != "" {
		out = append(out, ob)
	}
	return out
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

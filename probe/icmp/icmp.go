// Package icmp is the icmp target kind: it pings a target continuously with
// prometheus-community/pro-bing and reports every packet's outcome: its
// round-trip time, or its loss once the packet's own timeout has passed.
package icmp

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	probing "github.com/prometheus-community/pro-bing"
	"github.com/rs/zerolog"
	xicmp "golang.org/x/net/icmp"

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
)

// DetectMode picks unprivileged ICMP sockets where the system allows them and
// raw sockets where it does not but the process has CAP_NET_RAW.
func DetectMode() (Mode, error) {
	c, err := xicmp.ListenPacket("udp4", "0.0.0.0")
	if err == nil {
		c.Close()
		return ModeUnprivileged, nil
	}
	c, rawErr := xicmp.ListenPacket("ip4:icmp", "0.0.0.0")
	if rawErr == nil {
		c.Close()
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
	// Address is a host name, an IP address or the word "gateway".
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
	}
	if s.PacketSize < 24 || s.PacketSize > MaxPacketSize {
		c.Errorf("packet_size", "%d is outside 24..%d", s.PacketSize, MaxPacketSize)
	}
}

// Metric names.
const (
	metricSent   = "wardprobe_icmp_packets_sent_total"
	metricLost   = "wardprobe_icmp_packets_lost_total"
	metricRTT    = "wardprobe_icmp_rtt_seconds"
	metricJitter = "wardprobe_icmp_jitter_seconds"
	metricSocket = "wardprobe_icmp_socket_info"
)

// ModeUnavailable is the socket_info mode when no ICMP socket can be had.
const ModeUnavailable Mode = "unavailable"

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
		},
	}
}

// newJob detects the socket mode afresh (so that a permission fixed before a
// reload takes effect at once) and builds the target's pinger.
func newJob(t config.Target, env probe.Env) (probe.Job, error) {
	spec := t.Spec.(*Spec)
	mode, err := DetectMode()
	if err != nil {
		env.Note(zerolog.ErrorLevel, "ICMP probes cannot run: "+err.Error())
		return probe.Job{Prober: unavailable{t.Name}}, nil
	}
	env.Note(zerolog.InfoLevel, "ICMP sockets: "+string(mode))
	return probe.Job{Runner: New(Config{Target: t.Name, Address: spec.Address, Interval: t.Interval.D(),
		Timeout: t.Timeout.D(), Size: spec.PacketSize, Interface: env.Interface, Mode: mode}, env.Log)}, nil
}

// unavailable stands in for a target when no ICMP socket can be had.
type unavailable struct{ target string }

func (u unavailable) Probe(context.Context) probe.Result {
	r := probe.Fail(u.target, "icmp", probe.ReasonPermission, "no ICMP socket available (see the log)")
	r.Observations = []probe.Observation{probe.Ob(metricSocket, 1, string(ModeUnavailable))}
	return r
}

// Config describes one continuously pinged target.
type Config struct {
	Target string
	// Address is a host name, an IP address or "gateway".
	Address string
	// Interval is the time between packets.
	Interval time.Duration
	// Timeout is the per-packet timeout after which a packet is lost.
	Timeout time.Duration
	// Size is the payload size in bytes.
	Size int
	// Interface, when set, is the interface under test: packets are sourced
	// from its address and "gateway" means its default gateway.
	Interface string
	Mode      Mode
	// ResolveEvery is how often the address, gateway and source are looked
	// up again (default 10 s).
	ResolveEvery time.Duration
}

// Pinger is a probe.Runner for one ICMP target.
type Pinger struct {
	cfg Config
	log zerolog.Logger

	mu     sync.Mutex
	jitter Jitter
}

// New returns a Pinger for cfg.
func New(cfg Config, log zerolog.Logger) *Pinger {
	if cfg.ResolveEvery <= 0 {
		cfg.ResolveEvery = 10 * time.Second
	}
	if cfg.Size < 24 {
		cfg.Size = 24
	}
	return &Pinger{cfg: cfg, log: log.With().Str("target", cfg.Target).Logger()}
}

// resolve returns the address to ping and the source to ping it from.
func (p *Pinger) resolve(ctx context.Context) (dst *net.IPAddr, src string, reason probe.Reason, err error) {
	if p.cfg.Interface != "" {
		ip, err := netif.SourceAddr(p.cfg.Interface)
		if err != nil {
			return nil, "", probe.Classify(err), err
		}
		src = ip.String()
	}
	if p.cfg.Address == "gateway" {
		gw, err := netif.DefaultGateway(p.cfg.Interface)
		if err != nil {
			return nil, "", probe.Classify(err), err
		}
		return &net.IPAddr{IP: gw}, src, "", nil
	}
	if ip := net.ParseIP(p.cfg.Address); ip != nil {
		return &net.IPAddr{IP: ip}, src, "", nil
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip4", p.cfg.Address)
	if err != nil || len(ips) == 0 {
		return nil, "", probe.ReasonDNS, fmt.Errorf("resolving %s: %w", p.cfg.Address, err)
	}
	return &net.IPAddr{IP: ips[0]}, src, "", nil
}

// Run pings until ctx ends: one echo request every interval, each with its
// own socket and its own timeout, so a packet is judged lost exactly when its
// timeout passes and a slow reply never holds up the next packet. The address
// (and the gateway, and the source address) is looked up again every
// ResolveEvery, and at once after a failure.
func (p *Pinger) Run(ctx context.Context, emit probe.Emit) {
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(p.cfg.Interval)
	defer tick.Stop()
	var (
		dst        *net.IPAddr
		src        string
		resolvedAt time.Time
		lastAddr   string
	)
	for {
		if dst == nil || time.Since(resolvedAt) >= p.cfg.ResolveEvery {
			var reason probe.Reason
			var err error
			dst, src, reason, err = p.resolve(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				// Nothing can be sent: the interval is a failure that
				// accounts for no packet.
				emit(probe.Fail(p.cfg.Target, "icmp", reason, err.Error()))
			} else {
				resolvedAt = time.Now()
				if a := dst.String() + " from " + src; a != lastAddr {
					p.log.Info().Str("address", dst.String()).Str("source", src).Str("mode", string(p.cfg.Mode)).Msg("pinging")
					lastAddr = a
				}
			}
		}
		if dst != nil {
			wg.Add(1)
			go func(dst *net.IPAddr, src string) {
				defer wg.Done()
				if r, ok := p.one(ctx, dst, src); ok {
					emit(r)
				}
			}(dst, src)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// one sends one echo request and waits up to the timeout for its reply. It
// reports false when ctx ended first: such a packet says nothing.
func (p *Pinger) one(ctx context.Context, dst *net.IPAddr, src string) (probe.Result, bool) {
	pg := probing.New(dst.String())
	pg.SetIPAddr(dst)
	pg.SetPrivileged(p.cfg.Mode == ModeRaw)
	pg.SetLogger(pingLogger{p.log})
	pg.Source = src
	pg.Count = 1
	pg.Size = p.cfg.Size
	pg.RecordRtts = false
	pg.RecordTTLs = false
	pg.Timeout = p.cfg.Timeout
	var a attempt
	// pro-bing calls these from its run loop; RunWithContext returns after it.
	pg.OnSend = func(*probing.Packet) { a.sent = true }
	pg.OnRecv = func(pkt *probing.Packet) { a.rtt, a.got = pkt.Rtt, true }
	pg.OnSendError = func(_ *probing.Packet, err error) { a.sendErr = err }
	a.runErr = pg.RunWithContext(ctx)
	if ctx.Err() != nil {
		return probe.Result{}, false
	}
	return p.judge(a, dst.String()), true
}

// attempt is what became of one echo request.
type attempt struct {
	sent, got       bool
	rtt             time.Duration
	sendErr, runErr error
}

// judge turns an attempt into a Result: answered within the timeout, lost
// (no reply within the timeout, or the send failed), or not sent at all
// (the socket could not be opened; it accounts for no packet).
func (p *Pinger) judge(a attempt, addr string) probe.Result {
	var r probe.Result
	switch {
	case a.got && a.rtt <= p.cfg.Timeout:
		return probe.Result{Target: p.cfg.Target, Kind: "icmp", Time: time.Now(), Success: true,
			Duration: a.rtt, Jitter: p.addRTT(a.rtt), HaveJitter: true, Addr: addr, Packets: 1,
			Observations: []probe.Observation{probe.Ob(metricSent, 1), probe.Ob(metricRTT, a.rtt.Seconds()),
				probe.Ob(metricJitter, p.jitterValue().Seconds()), probe.Ob(metricSocket, 1, string(p.cfg.Mode))}}
	case a.sendErr != nil:
		r = probe.Fail(p.cfg.Target, "icmp", probe.Classify(a.sendErr), a.sendErr.Error())
		r.Packets = 1
	case !a.sent && a.runErr != nil:
		r = probe.Fail(p.cfg.Target, "icmp", probe.Classify(a.runErr), a.runErr.Error())
	default:
		r = probe.Fail(p.cfg.Target, "icmp", probe.ReasonTimeout, fmt.Sprintf("no reply within %s", p.cfg.Timeout))
		r.Packets = 1
	}
	r.Addr = addr
	r.Observations = []probe.Observation{probe.Ob(metricSocket, 1, string(p.cfg.Mode))}
	if r.Packets > 0 {
		r.Observations = append(r.Observations, probe.Ob(metricSent, 1), probe.Ob(metricLost, 1))
	}
	if j, ok := p.jitterState(); ok {
		r.Jitter, r.HaveJitter = j, true
		r.Observations = append(r.Observations, probe.Ob(metricJitter, j.Seconds()))
	}
	return r
}

func (p *Pinger) addRTT(rtt time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jitter.Add(rtt)
}

func (p *Pinger) jitterValue() time.Duration {
	j, _ := p.jitterState()
	return j
}

// jitterState returns the jitter and whether any packet was answered yet.
func (p *Pinger) jitterState() (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jitter.Value(), p.jitter.have
}

// pingLogger sends pro-bing's log lines to zerolog; its "Fatalf" is not fatal.
type pingLogger struct{ log zerolog.Logger }

func (l pingLogger) Fatalf(f string, v ...any) { l.log.Debug().Msgf("pro-bing: "+f, v...) }
func (l pingLogger) Errorf(f string, v ...any) { l.log.Warn().Msgf("pro-bing: "+f, v...) }
func (l pingLogger) Warnf(f string, v ...any)  { l.log.Debug().Msgf("pro-bing: "+f, v...) }
func (l pingLogger) Infof(f string, v ...any)  { l.log.Debug().Msgf("pro-bing: "+f, v...) }
func (l pingLogger) Debugf(f string, v ...any) { l.log.Debug().Msgf("pro-bing: "+f, v...) }

// Package icmp pings a target continuously with prometheus-community/pro-bing
// and reports every packet's outcome: its round-trip time, or its loss once
// the packet's own timeout has passed.
package icmp

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	probing "github.com/prometheus-community/pro-bing"
	"github.com/rs/zerolog"
	xicmp "golang.org/x/net/icmp"

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
	// Cycle is how long one pinger runs before the address is resolved again
	// and a fresh socket opened (default 1 minute).
	Cycle time.Duration
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
	if cfg.Cycle <= 0 {
		cfg.Cycle = time.Minute
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

// Run pings until ctx ends. Consecutive cycles overlap: the next starts one
// interval after the previous one's last packet while the previous one still
// waits for its last replies, so the packet rate is steady.
func (p *Pinger) Run(ctx context.Context, emit probe.Emit) {
	var wg sync.WaitGroup
	defer wg.Wait()
	lastAddr := ""
	for ctx.Err() == nil {
		dst, src, reason, err := p.resolve(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Nothing could be sent: report the interval as a failure that
			// accounts for no packet, and try again next interval.
			res := probe.Fail(p.cfg.Target, "icmp", reason, err.Error())
			emit(res)
			if !probe.Sleep(ctx, p.cfg.Interval) {
				return
			}
			continue
		}
		if a := dst.String(); a != lastAddr {
			p.log.Info().Str("address", a).Str("source", src).Str("mode", string(p.cfg.Mode)).Msg("pinging")
			lastAddr = a
		}
		allSent := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.cycle(ctx, dst, src, emit, allSent)
		}()
		select {
		case <-ctx.Done():
			return
		case <-allSent:
		}
		if !probe.Sleep(ctx, p.cfg.Interval) {
			return
		}
	}
}

// cycle runs one pinger of n packets; allSent is closed when its last packet
// has gone (or it failed), and cycle returns once every packet is accounted for.
func (p *Pinger) cycle(ctx context.Context, dst *net.IPAddr, src string, emit probe.Emit, allSent chan struct{}) {
	var once sync.Once
	signal := func() { once.Do(func() { close(allSent) }) }
	defer signal()

	n := max(1, int(p.cfg.Cycle/p.cfg.Interval))
	n = min(n, 60000)
	pg := probing.New(dst.String())
	pg.SetIPAddr(dst)
	pg.SetPrivileged(p.cfg.Mode == ModeRaw)
	pg.SetLogger(pingLogger{p.log})
	pg.Source = src
	pg.Count = n
	pg.Interval = p.cfg.Interval
	pg.Size = p.cfg.Size
	pg.RecordRtts = false
	pg.RecordTTLs = false
	// The whole run ends one timeout after the last packet left.
	pg.Timeout = time.Duration(n-1)*p.cfg.Interval + p.cfg.Timeout + 50*time.Millisecond

	var mu sync.Mutex // guards tr; pro-bing calls back from its own goroutine
	tr := NewTracker(p.cfg.Timeout)
	addr := dst.String()
	lost := func(seq int, reason probe.Reason, detail string) {
		r := probe.Fail(p.cfg.Target, "icmp", reason, detail)
		r.Addr = addr
		r.Jitter = p.jitterValue()
		r.Packets = 1
		emit(r)
	}
	var attempted atomic.Int64 // packets sent or failed to send
	pg.OnSend = func(pkt *probing.Packet) {
		attempted.Add(1)
		mu.Lock()
		tr.Sent(pkt.Seq, time.Now())
		mu.Unlock()
		if pkt.Seq == n-1 {
			signal()
		}
	}
	pg.OnSendError = func(pkt *probing.Packet, err error) {
		attempted.Add(1)
		lost(pkt.Seq, probe.Classify(err), err.Error())
	}
	pg.OnRecv = func(pkt *probing.Packet) {
		mu.Lock()
		ok := tr.Received(pkt.Seq, pkt.Rtt)
		mu.Unlock()
		if !ok {
			return
		}
		emit(probe.Result{
			Target: p.cfg.Target, Kind: "icmp", Time: time.Now(), Success: true,
			Duration: pkt.Rtt, Jitter: p.addRTT(pkt.Rtt), Addr: addr, Packets: 1,
		})
	}

	done := make(chan error, 1)
	go func() { done <- pg.RunWithContext(ctx) }()
	tick := time.NewTicker(max(p.cfg.Timeout/10, 10*time.Millisecond))
	defer tick.Stop()
	expire := func(now time.Time) {
		mu.Lock()
		seqs := tr.Expire(now)
		mu.Unlock()
		for _, s := range seqs {
			lost(s, probe.ReasonTimeout, fmt.Sprintf("no reply within %s", p.cfg.Timeout))
		}
	}
	for {
		select {
		case err := <-done:
			if ctx.Err() != nil {
				return // stopping: packets still in flight are not judged
			}
			if err != nil && attempted.Load() == 0 {
				// The socket could not be opened: no packet left.
				p.log.Warn().Err(err).Msg("ping run failed")
				emit(probe.Fail(p.cfg.Target, "icmp", probe.Classify(err), err.Error()))
			}
			// Packets still pending get their full timeout before being judged.
			for {
				mu.Lock()
				pending := tr.Pending()
				mu.Unlock()
				if pending == 0 {
					return
				}
				select {
				case <-ctx.Done():
					return
				case now := <-tick.C:
					expire(now)
				}
			}
		case now := <-tick.C:
			expire(now)
		}
	}
}

func (p *Pinger) addRTT(rtt time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jitter.Add(rtt)
}

func (p *Pinger) jitterValue() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jitter.Value()
}

// pingLogger sends pro-bing's log lines to zerolog; its "Fatalf" is not fatal.
type pingLogger struct{ log zerolog.Logger }

func (l pingLogger) Fatalf(f string, v ...any) { l.log.Debug().Msgf("pro-bing: "+f, v...) }
func (l pingLogger) Errorf(f string, v ...any) { l.log.Warn().Msgf("pro-bing: "+f, v...) }
func (l pingLogger) Warnf(f string, v ...any)  { l.log.Debug().Msgf("pro-bing: "+f, v...) }
func (l pingLogger) Infof(f string, v ...any)  { l.log.Debug().Msgf("pro-bing: "+f, v...) }
func (l pingLogger) Debugf(f string, v ...any) { l.log.Debug().Msgf("pro-bing: "+f, v...) }

// Package ping is the survey's Pinger: short ICMP echo bursts sent with
// prometheus-community/pro-bing. Round trips are timed from a monotonic
// send time kept per sequence number, not from the timestamp pro-bing puts
// in the payload (which comes from the wall clock and breaks when the clock
// steps), and each packet is lost once its own timeout passes.
package ping

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"

	probing "github.com/prometheus-community/pro-bing"

	"github.com/wardprobe/wardprobe/internal/survey"
	"github.com/wardprobe/wardprobe/probe/netif"
)

// MaxCount bounds a burst.
const MaxCount = 1000

// Pinger sends bursts from the Wi-Fi interface under test. The zero value
// pings from whatever the routing table picks.
type Pinger struct {
	// Interface, when set, is the interface bursts are sourced from; the
	// address "gateway" means its default gateway.
	Interface string

	mu  sync.Mutex
	raw bool // unprivileged ICMP sockets were refused; use raw ones
}

// resolve returns the address to ping and the source address.
func (p *Pinger) resolve(ctx context.Context, addr string) (*net.IPAddr, string, error) {
	src := ""
	if p.Interface != "" {
		ip, err := netif.SourceAddr(p.Interface)
		if err != nil {
			return nil, "", err
		}
		src = ip.String()
	}
	if addr == "gateway" {
		gw, err := netif.DefaultGateway(p.Interface)
		if err != nil {
			return nil, "", err
		}
		return &net.IPAddr{IP: gw}, src, nil
	}
	if ip := net.ParseIP(addr); ip != nil {
		return &net.IPAddr{IP: ip}, src, nil
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip4", addr)
	if err != nil || len(ips) == 0 {
		return nil, "", fmt.Errorf("resolving %s: %w", addr, err)
	}
	return &net.IPAddr{IP: ips[0]}, src, nil
}

// tracker times the packets of one burst against the monotonic clock.
type tracker struct {
	mu      sync.Mutex
	timeout time.Duration
	sent    map[int]time.Time
	rtt     map[int]time.Duration
}

func newTracker(timeout time.Duration) *tracker {
	return &tracker{timeout: timeout, sent: map[int]time.Time{}, rtt: map[int]time.Duration{}}
}

// send records that sequence seq left at now.
func (t *tracker) send(seq int, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent[seq] = now
}

// recv records the reply to seq arriving at now; a reply after the
// packet's timeout, a duplicate, or one to a sequence never sent is ignored.
func (t *tracker) recv(seq int, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.sent[seq]
	if _, dup := t.rtt[seq]; !ok || dup {
		return
	}
	if rtt := now.Sub(at); rtt <= t.timeout {
		t.rtt[seq] = rtt
	}
}

// known is how many packets have an outcome at now: answered, or past
// their timeout.
func (t *tracker) known(now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for seq, at := range t.sent {
		if _, ok := t.rtt[seq]; ok || now.Sub(at) > t.timeout {
			n++
		}
	}
	return n
}

// result returns how many were sent and the round trips in send order.
func (t *tracker) result() (int, []time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	seqs := make([]int, 0, len(t.rtt))
	for s := range t.rtt {
		seqs = append(seqs, s)
	}
	sort.Ints(seqs)
	out := make([]time.Duration, 0, len(seqs))
	for _, s := range seqs {
		out = append(out, t.rtt[s])
	}
	return len(t.sent), out
}

// Burst implements survey.Pinger.
func (p *Pinger) Burst(ctx context.Context, t survey.PingTarget, count int, interval, timeout time.Duration, progress func(int)) (survey.Burst, error) {
	if count < 1 || count > MaxCount || interval <= 0 || timeout <= 0 {
		return survey.Burst{}, fmt.Errorf("burst of %d packets every %s with a %s timeout is out of range (1..%d packets)", count, interval, timeout, MaxCount)
	}
	dst, src, err := p.resolve(ctx, t.Address)
	if err != nil {
		return survey.Burst{}, err
	}
	p.mu.Lock()
	raw := p.raw
	p.mu.Unlock()
	tr, err := p.run(ctx, dst, src, t.Size, count, interval, timeout, raw, progress)
	if !raw && permissionDenied(err) {
		// Unprivileged ICMP is not allowed (net.ipv4.ping_group_range):
		// raw sockets need CAP_NET_RAW.
		tr, err = p.run(ctx, dst, src, t.Size, count, interval, timeout, true, progress)
		if err == nil {
			p.mu.Lock()
			p.raw = true
			p.mu.Unlock()
		}
	}
	if err != nil {
		if permissionDenied(err) {
			return survey.Burst{}, fmt.Errorf("no ICMP socket: unprivileged ICMP is not allowed (net.ipv4.ping_group_range) and raw sockets need CAP_NET_RAW: %w", err)
		}
		return survey.Burst{}, fmt.Errorf("pinging %s: %w", dst, err)
	}
	if err := ctx.Err(); err != nil {
		return survey.Burst{}, err
	}
	sent, rtts := tr.result()
	return survey.Burst{Address: dst.String(), Sent: sent, RTTs: rtts}, nil
}

func permissionDenied(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, os.ErrPermission)
}

// run sends one burst and waits until the last packet's timeout.
func (p *Pinger) run(ctx context.Context, dst *net.IPAddr, src string, size, count int, interval, timeout time.Duration, raw bool, progress func(int)) (*tracker, error) {
	pg := probing.New(dst.String())
	pg.SetIPAddr(dst)
	pg.SetPrivileged(raw)
	pg.SetLogger(probing.NoopLogger{})
	pg.Source = src
	pg.Count = count
	pg.Interval = interval
	pg.Size = max(size, 24)
	pg.RecordRtts = false
	pg.RecordTTLs = false
	// pro-bing's Timeout bounds the whole run: the last packet's own
	// timeout after the last send.
	pg.Timeout = time.Duration(count-1)*interval + timeout
	tr := newTracker(timeout)
	report := func() {
		if progress != nil {
			progress(tr.known(time.Now()))
		}
	}
	var sendErr error
	pg.OnSend = func(pkt *probing.Packet) { tr.send(pkt.Seq, time.Now()); report() }
	pg.OnRecv = func(pkt *probing.Packet) { tr.recv(pkt.Seq, time.Now()); report() }
	pg.OnSendError = func(_ *probing.Packet, err error) { sendErr = err }
	err := pg.RunWithContext(ctx)
	if err == nil && ctx.Err() == nil {
		if sent, _ := tr.result(); sent == 0 && sendErr != nil {
			err = sendErr
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = nil // ctx is checked by the caller
	}
	return tr, err
}

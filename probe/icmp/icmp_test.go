package icmp

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/netif"
)

func TestFlight(t *testing.T) {
	ms := time.Millisecond
	t0 := time.Now()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type step struct {
		op     string // add, answer, expire
		at     time.Duration
		serial uint64
		want   int           // add: evicted 0/1; answer: ok 0/1; expire: lost
		rtt    time.Duration // answer
	}
	tests := []struct {
		name    string
		limit   int
		timeout time.Duration
		steps   []step
		await   int
	}{
		{"answered within the timeout", 4, 100 * ms, []step{
			{op: "add", at: 0, serial: 1}, {op: "answer", at: 30 * ms, serial: 1, want: 1, rtt: 30 * ms},
			{op: "expire", at: time.Second, want: 0}}, 0},
		{"answered exactly at the timeout", 4, 100 * ms, []step{
			{op: "add", at: 0, serial: 1}, {op: "answer", at: 100 * ms, serial: 1, want: 1, rtt: 100 * ms}}, 0},
		{"a reply later than the timeout is not an answer", 4, 100 * ms, []step{
			{op: "add", at: 0, serial: 1}, {op: "answer", at: 101 * ms, serial: 1, want: 0},
			{op: "expire", at: 101 * ms, want: 1}}, 0},
		{"lost once its own timeout passes, not before", 4, 100 * ms, []step{
			{op: "add", at: 0, serial: 1}, {op: "add", at: 50 * ms, serial: 2},
			{op: "expire", at: 99 * ms, want: 0}, {op: "expire", at: 100 * ms, want: 1},
			{op: "expire", at: 149 * ms, want: 0}, {op: "expire", at: 150 * ms, want: 1}}, 0},
		{"duplicate reply", 4, 100 * ms, []step{
			{op: "add", at: 0, serial: 1}, {op: "answer", at: 1 * ms, serial: 1, want: 1, rtt: ms},
			{op: "answer", at: 2 * ms, serial: 1, want: 0}}, 0},
		{"unknown serials", 4, 100 * ms, []step{
			{op: "add", at: 0, serial: 1}, {op: "answer", at: 1 * ms, serial: 0, want: 0},
			{op: "answer", at: 1 * ms, serial: 2, want: 0}, {op: "answer", at: 1 * ms, serial: 1 + 4, want: 0}}, 1},
		{"answers out of order; the oldest is lost", 4, 100 * ms, []step{
			{op: "add", at: 0, serial: 1}, {op: "add", at: 10 * ms, serial: 2}, {op: "add", at: 20 * ms, serial: 3},
			{op: "answer", at: 25 * ms, serial: 3, want: 1, rtt: 5 * ms}, {op: "answer", at: 30 * ms, serial: 2, want: 1, rtt: 20 * ms},
			{op: "expire", at: 200 * ms, want: 1}}, 0},
		{"a full ring evicts the oldest as lost", 2, time.Hour, []step{
			{op: "add", at: 0, serial: 1}, {op: "add", at: ms, serial: 2},
			{op: "add", at: 2 * ms, serial: 3, want: 1}, {op: "answer", at: 3 * ms, serial: 1, want: 0},
			{op: "answer", at: 3 * ms, serial: 2, want: 1, rtt: 2 * ms}}, 1},
		{"answered echoes free the ring", 2, time.Hour, []step{
			{op: "add", at: 0, serial: 1}, {op: "answer", at: ms, serial: 1, want: 1, rtt: ms},
			{op: "add", at: 2 * ms, serial: 2}, {op: "answer", at: 3 * ms, serial: 2, want: 1, rtt: ms},
			{op: "add", at: 4 * ms, serial: 3}, {op: "add", at: 5 * ms, serial: 4}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlight(tt.limit, tt.timeout)
			for i, s := range tt.steps {
				switch s.op {
				case "add":
					serial, evicted := f.add(at(s.at))
					if serial != s.serial || !evicted.IsZero() != (s.want == 1) {
						t.Fatalf("step %d: add = %d, evicted %v; want %d, %v", i, serial, evicted, s.serial, s.want == 1)
					}
				case "answer":
					rtt, ok := f.answer(s.serial, at(s.at))
					if ok != (s.want == 1) || rtt != s.rtt {
						t.Fatalf("step %d: answer(%d) = %v, %v; want %v, %v", i, s.serial, rtt, ok, s.rtt, s.want == 1)
					}
				case "expire":
					if n := len(f.expire(at(s.at), nil)); n != s.want {
						t.Fatalf("step %d: expire = %d, want %d", i, n, s.want)
					}
				}
			}
			if n := f.awaiting(); n != tt.await {
				t.Errorf("awaiting %d, want %d", n, tt.await)
			}
		})
	}
}

// A lost echo is reported with the time it was sent, evicted or expired.
func TestFlightSentTimes(t *testing.T) {
	t0 := time.Unix(1000, 0)
	f := newFlight(2, time.Second)
	f.add(t0)
	f.add(t0.Add(time.Millisecond))
	if _, evicted := f.add(t0.Add(2 * time.Millisecond)); !evicted.Equal(t0) {
		t.Errorf("evicted echo sent at %v, want %v", evicted, t0)
	}
	lost := f.expire(t0.Add(5*time.Second), nil)
	if len(lost) != 2 || !lost[0].Equal(t0.Add(time.Millisecond)) || !lost[1].Equal(t0.Add(2*time.Millisecond)) {
		t.Errorf("expired echoes sent at %v, want +1ms and +2ms", lost)
	}
}

// TestFlightBounded sends to a dead target far longer than the ring: the
// ring never grows, and every echo is settled lost exactly once.
func TestFlightBounded(t *testing.T) {
	f := newFlight(InFlight(10*time.Millisecond, time.Second), time.Second)
	size := len(f.slots)
	t0 := time.Now()
	lost := 0
	const n = 200_000 // more than 65,536: the wire sequence number wraps
	for i := range n {
		now := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		lost += len(f.expire(now, nil))
		if _, evicted := f.add(now); !evicted.IsZero() {
			t.Fatalf("echo %d evicted: the ring should hold a timeout's worth", i)
		}
	}
	lost += len(f.expire(t0.Add(n*10*time.Millisecond+time.Second), nil))
	if lost != n || f.awaiting() != 0 || len(f.slots) != size || size > 128 {
		t.Errorf("lost %d of %d, awaiting %d, ring %d→%d slots", lost, n, f.awaiting(), size, len(f.slots))
	}
}

func TestInFlight(t *testing.T) {
	tests := []struct {
		interval, timeout time.Duration
		want              int
	}{
		{time.Second, 2 * time.Second, 4},
		{time.Second, 500 * time.Millisecond, 3},
		{10 * time.Millisecond, 10 * time.Second, MaxInFlight + 2},
		{10 * time.Millisecond, time.Hour, MaxInFlight + 1},
	}
	for _, tt := range tests {
		if got := InFlight(tt.interval, tt.timeout); got != tt.want {
			t.Errorf("InFlight(%s, %s) = %d, want %d", tt.interval, tt.timeout, got, tt.want)
		}
	}
	if f := newFlight(InFlight(10*time.Millisecond, time.Hour), time.Hour); len(f.slots) != 1024 {
		t.Errorf("ring of %d slots for the largest config, want 1024", len(f.slots))
	}
}

func TestWire(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		e := newEcho(56, v6, 0x1234, 0xfeedface01020304)
		wall := time.Unix(1_700_000_000, 5)
		req := e.request(70_000, wall)
		if len(req) != headerLen+56 {
			t.Fatalf("request of %d bytes, want %d", len(req), headerLen+56)
		}
		if !v6 && checksum(req) != 0 {
			t.Errorf("IPv4 checksum does not verify: %#04x", checksum(req))
		}
		if got := binary.BigEndian.Uint64(req[offWall:]); got != uint64(wall.UnixNano()) {
			t.Errorf("wall time %d", got)
		}
		// The peer answers: type changes, and it rewrites the payload's
		// time (a clock step): nothing we time by.
		rep := append([]byte(nil), req...)
		rep[0] = typeEchoReply4
		if v6 {
			rep[0] = typeEchoReply6
		}
		binary.BigEndian.PutUint64(rep[offWall:], uint64(wall.Add(-3*time.Second).UnixNano()))
		r, ok := parseReply(rep, v6)
		if !ok || r.id != 0x1234 || r.seq != 70_000-65_536 || r.serial != 70_000 || r.token != 0xfeedface01020304 {
			t.Errorf("v6=%v: parsed %+v, %v", v6, r, ok)
		}
		if _, ok := parseReply(req, v6); ok {
			t.Errorf("v6=%v: an echo request parsed as a reply", v6)
		}
		if _, ok := parseReply(rep[:headerLen+MinPacketSize-1], v6); ok {
			t.Errorf("v6=%v: a short reply parsed", v6)
		}
		if _, ok := parseReply(rep, !v6); ok {
			t.Errorf("v6=%v: a reply of the other family parsed", v6)
		}
	}
	// RFC 1071's example: 0001 f203 f4f5 f6f7 sums to ddf2, checksum 220d.
	if got := checksum([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}); got != 0x220d {
		t.Errorf("checksum %#04x, want 0x220d", got)
	}
	ip := append([]byte{0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}, 0, 0, 0, 0)
	if got := stripIPv4(ip); len(got) != 4 {
		t.Errorf("stripIPv4 left %d bytes, want 4", len(got))
	}
	for _, bad := range [][]byte{nil, ip[:19], append([]byte{0x4f}, ip[1:]...), append([]byte{0x65}, ip[1:]...)} {
		if got := stripIPv4(bad); got != nil {
			t.Errorf("stripIPv4(% x) = % x, want nil", bad, got)
		}
	}
}

func TestJitterRFC3550(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		rtts []time.Duration
		want time.Duration
	}{
		{"one sample has no jitter", []time.Duration{10 * ms}, 0},
		{"steady RTT has no jitter", []time.Duration{10 * ms, 10 * ms, 10 * ms}, 0},
		// D=16ms: J = 0 + (16-0)/16 = 1ms
		{"one step of 16ms", []time.Duration{10 * ms, 26 * ms}, ms},
		// D=16: J=1; D=16: J = 1 + (16-1)/16 = 1.9375ms
		{"alternating", []time.Duration{10 * ms, 26 * ms, 10 * ms}, 1937500 * time.Nanosecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j Jitter
			var got time.Duration
			for _, r := range tt.rtts {
				got = j.Add(r)
			}
			if got != tt.want || j.Value() != tt.want {
				t.Errorf("jitter %v (value %v), want %v", got, j.Value(), tt.want)
			}
		})
	}
}

func TestJitterConvergesToMeanDifference(t *testing.T) {
	var j Jitter
	for i := range 2000 {
		r := 20 * time.Millisecond
		if i%2 == 1 {
			r = 30 * time.Millisecond // |D| is always 10ms
		}
		j.Add(r)
	}
	if d := j.Value() - 10*time.Millisecond; d > 10*time.Microsecond || d < -10*time.Microsecond {
		t.Errorf("jitter %v, want ≈10ms", j.Value())
	}
}

func TestNewJobChecks(t *testing.T) {
	env := probe.Env{Interface: "wlan0", Log: zerolog.Nop(), Note: func(zerolog.Level, string) {}}
	tests := []struct {
		name              string
		address           string
		interval, timeout time.Duration
		wantKey           string // FieldError key, "" for none
		wantMsg           string
	}{
		{"bounded echoes in flight", "10.0.0.1", 10 * time.Millisecond, 10 * time.Second, "", ""},
		{"too many echoes in flight", "10.0.0.1", 10 * time.Millisecond, time.Hour, "timeout", "at most 1000 echo requests"},
		{"zone of the interface under test", "fe80::1%wlan0", time.Second, 2 * time.Second, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := config.Target{Name: "t", Kind: "icmp", Interval: config.Duration(tt.interval), Timeout: config.Duration(tt.timeout),
				Spec: &Spec{Address: tt.address, PacketSize: 56}}
			_, err := newJob(tg, env)
			var fe *config.FieldError
			switch {
			case tt.wantKey == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.wantKey != "" && (!errors.As(err, &fe) || fe.Key != tt.wantKey || !strings.Contains(fe.Err.Error(), tt.wantMsg)):
				t.Fatalf("error %v, want one at %s saying %q", err, tt.wantKey, tt.wantMsg)
			}
		})
	}
}

// Only targets of small echoes send on the scheduler's grid: a large echo
// sent together with others would measure the wait behind them.
func TestNewJobGrid(t *testing.T) {
	needMode(t)
	env := probe.Env{Log: zerolog.Nop(), Note: func(zerolog.Level, string) {}}
	for _, tt := range []struct {
		size int
		want bool
	}{{16, true}, {56, true}, {57, false}, {1400, false}} {
		tg := config.Target{Name: "t", Kind: "icmp", Interval: config.Duration(time.Second), Timeout: config.Duration(time.Second),
			Spec: &Spec{Address: "127.0.0.1", PacketSize: tt.size}}
		j, err := newJob(tg, env)
		if err != nil {
			t.Fatal(err)
		}
		if j.Runner == nil || j.Grid != tt.want {
			t.Errorf("packet_size %d: runner %v, on the grid %v, want %v", tt.size, j.Runner != nil, j.Grid, tt.want)
		}
	}
}

// TestPingLoopback pings 127.0.0.1 through a real socket of whatever mode
// this process may use: every echo is answered, with a small RTT, and the
// observations name the mode.
func TestPingLoopback(t *testing.T) {
	mode := needMode(t)
	for _, addr := range []string{"127.0.0.1", "::1"} {
		t.Run(addr, func(t *testing.T) {
			p := New(Config{Target: "lo", Address: addr, Interval: 20 * time.Millisecond, Timeout: time.Second, Size: 56, Mode: mode,
				Interface: "lo"}, zerolog.Nop())
			var (
				mu  sync.Mutex
				res []probe.Result
			)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				p.Run(ctx, func(r probe.Result) {
					mu.Lock()
					defer mu.Unlock()
					res = append(res, r)
					if len(res) == 20 {
						cancel()
					}
				})
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cancel()
				<-done
			}
			mu.Lock()
			defer mu.Unlock()
			if len(res) < 20 {
				t.Fatalf("%d results in 10s: %+v", len(res), res)
			}
			for _, r := range res[:20] {
				if !r.Success || r.Packets != 1 || r.Duration <= 0 || r.Duration > 500*time.Millisecond {
					t.Fatalf("result %+v", r)
				}
				var sock, binding string
				for _, o := range r.Observations {
					switch o.Metric {
					case metricSocket:
						sock = o.Labels[0]
					case probe.MetricBinding:
						binding = o.Labels[0] + " " + o.Labels[1]
					}
				}
				if sock != string(mode) || binding != "lo bound" {
					t.Errorf("socket_info mode %q, binding %q; want %q, \"lo bound\"", sock, binding, mode)
				}
			}
		})
	}
}

// TestBindingFallback: where the kernel refuses SO_BINDTODEVICE, the socket
// is still bound to the interface's address, works, and says so.
func TestBindingFallback(t *testing.T) {
	mode := needMode(t)
	refuse := func(int, string) error { return syscall.EPERM }
	dst, src := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.1")
	k, err := openSock(sockSpec{mode: mode, dst: dst, iface: "lo", src: src, id: 7, bindDevice: refuse})
	if err != nil {
		t.Fatal(err)
	}
	defer k.close()
	if k.binding != netif.BindSource {
		t.Errorf("binding %q, want %q", k.binding, netif.BindSource)
	}
	e := newEcho(56, false, k.id, 42)
	if err := k.send(e.request(1, time.Now())); err != nil {
		t.Fatal(err)
	}
	_ = k.f.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 200)
	for {
		msg, err := k.recv(buf)
		if err != nil {
			t.Fatalf("no reply: %v", err)
		}
		if r, ok := parseReply(msg, false); ok && r.token == 42 && r.serial == 1 && r.id == k.id {
			return
		}
	}
}

// TestSockFailures: a missing interface, as the one under test or as a
// zone, is reason no_interface.
func TestSockFailures(t *testing.T) {
	mode := needMode(t)
	_, err := openSock(sockSpec{mode: mode, dst: netip.MustParseAddr("127.0.0.1"), iface: "nosuchif0"})
	if probe.Classify(err) != probe.ReasonNoInterface {
		t.Errorf("missing interface: %v (reason %q), want no_interface", err, probe.Classify(err))
	}
	p := New(Config{Target: "x", Address: "127.0.0.1", Interface: "nosuchif0", Mode: mode}, zerolog.Nop())
	if _, err := p.resolve(context.Background()); probe.Classify(err) != probe.ReasonNoInterface {
		t.Errorf("resolve through a missing interface: %v, want no_interface", err)
	}
	p = New(Config{Target: "x", Address: "fe80::1%nosuchif0", Mode: mode}, zerolog.Nop())
	if _, err := p.resolve(context.Background()); probe.Classify(err) != probe.ReasonNoInterface {
		t.Errorf("zone of a missing interface: %v, want no_interface", err)
	}
}

// needMode returns the ICMP socket mode this process may use; without one
// the test is skipped (CI, which runs as root, fails it instead).
func needMode(t *testing.T) Mode {
	t.Helper()
	mode, err := DetectMode()
	if err == nil {
		return mode
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no ICMP socket (CI runs as root): %v", err)
	}
	t.Skipf("no ICMP socket here: %v", err)
	return ""
}

// flakyResolver answers name with addr until fail is set, then fails as a
// DNS server that stopped answering does.
type flakyResolver struct {
	addr netip.Addr
	mu   sync.Mutex
	fail bool
	asks int
}

func (f *flakyResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asks++
	if f.fail {
		return nil, &net.DNSError{Err: "server misbehaving", Name: host, IsTemporary: true}
	}
	return []netip.Addr{f.addr}, nil
}

// TestNameRefreshFailureKeepsPinging: once a name has resolved, a failed
// lookup of it keeps pinging its last address (the DNS is not the path
// under test), and the lookups go on in the background.
func TestNameRefreshFailureKeepsPinging(t *testing.T) {
	mode := needMode(t)
	res := &flakyResolver{addr: netip.MustParseAddr("127.0.0.1")}
	p := New(Config{Target: "name", Address: "loopback.test", Interval: 20 * time.Millisecond, Timeout: time.Second,
		Mode: mode, ResolveEvery: 30 * time.Millisecond, Resolver: res}, zerolog.Nop())
	var (
		mu       sync.Mutex
		ok, fail int
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx, func(r probe.Result) {
			mu.Lock()
			defer mu.Unlock()
			if r.Success {
				ok++
			} else {
				fail++
			}
			if ok == 10 {
				res.mu.Lock()
				res.fail = true
				res.mu.Unlock()
			}
			if ok >= 40 {
				cancel()
			}
		})
	}()
	<-done
	mu.Lock()
	defer mu.Unlock()
	res.mu.Lock()
	defer res.mu.Unlock()
	if ok < 40 || fail != 0 || res.asks < 5 {
		t.Errorf("%d answered, %d failed, %d lookups: want 40 answered through the failing lookups, none failed", ok, fail, res.asks)
	}
}

// TestZoneOfAnotherInterface: refused when the config is loaded, at the
// address's line.
func TestZoneOfAnotherInterface(t *testing.T) {
	_, err := config.Parse("t.yml", []byte("wifi: {interface: wlan0}\ntargets:\n  - {name: t, kind: icmp, address: \"fe80::1%eth0\"}\n"),
		config.Kinds{Kind().Kind})
	if want := "t.yml:3: targets[0].address: zone %eth0 is not the interface under test (wifi.interface wlan0)"; err == nil || err.Error() != want {
		t.Errorf("%v, want %s", err, want)
	}
}

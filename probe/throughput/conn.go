package throughput

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Errors of a direction stopped on purpose; they never count as failures.
var (
	errStopped = errors.New("throughput direction stopped")
	errCapped  = errors.New("throughput byte allowance reached")
)

// tcpCounters are a connection's kernel byte counters (TCP_INFO).
type tcpCounters struct {
	sent     int64 // bytes handed to IP, retransmissions included
	acked    int64 // bytes the peer acknowledged
	received int64 // bytes received in order
}

func (c *tcpCounters) add(o tcpCounters) {
	c.sent += o.sent
	c.acked += o.acked
	c.received += o.received
}

func readCounters(tc *net.TCPConn) (tcpCounters, bool) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return tcpCounters{}, false
	}
	var info *unix.TCPInfo
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || gerr != nil {
		return tcpCounters{}, false
	}
	return tcpCounters{sent: int64(info.Bytes_sent), acked: int64(info.Bytes_acked), received: int64(info.Bytes_received)}, true
}

// connSet is the connections of one test phase (the pings, a download or an
// upload). It sums their kernel counters, caps the bytes they may move, and
// closes them all at the end of the phase. It is safe for concurrent use.
type connSet struct {
	dialer *net.Dialer
	// allowance caps the application bytes read plus written (0: no cap);
	// onCap is called once when it is reached.
	allowance int64
	onCap     func()
	appBytes  atomic.Int64
	capOnce   sync.Once
	// firstData is when the first payload byte was read or written (Unix ns, 0 before).
	firstData atomic.Int64

	mu     sync.Mutex
	live   map[*trackedConn]struct{}
	closed tcpCounters // final counters of closed connections
	done   bool
}

func newConnSet(d *net.Dialer, allowance int64, onCap func()) *connSet {
	return &connSet{dialer: d, allowance: allowance, onCap: onCap, live: map[*trackedConn]struct{}{}}
}

// dial opens a tracked connection; it fails once the set is closed.
func (s *connSet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done {
		return nil, errStopped
	}
	c, err := s.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		c.Close()
		return nil, errors.New("throughput: not a TCP connection")
	}
	w := &trackedConn{Conn: tc, tcp: tc, set: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		tc.Close()
		return nil, errStopped
	}
	s.live[w] = struct{}{}
	return w, nil
}

// counters sums the counters of every connection, live or closed.
func (s *connSet) counters() tcpCounters {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := s.closed
	for c := range s.live {
		if v, ok := readCounters(c.tcp); ok {
			sum.add(v)
		}
	}
	return sum
}

// closeAll aborts every connection (RST, unsent data discarded, so that a
// stopped phase moves no more bytes) and refuses new ones.
func (s *connSet) closeAll() {
	s.mu.Lock()
	s.done = true
	conns := make([]*trackedConn, 0, len(s.live))
	for c := range s.live {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.tcp.SetLinger(0)
		c.Close()
	}
}

// take reserves up to n application bytes under the allowance.
func (s *connSet) take(n int) int {
	if s.allowance <= 0 {
		return n
	}
	for {
		used := s.appBytes.Load()
		left := s.allowance - used
		if left <= 0 {
			s.capOnce.Do(s.onCap)
			return 0
		}
		k := min(int64(n), left)
		if s.appBytes.CompareAndSwap(used, used+k) {
			return int(k)
		}
	}
}

// giveBack returns reserved bytes that were not moved.
func (s *connSet) giveBack(n int) {
	if s.allowance > 0 && n > 0 {
		s.appBytes.Add(-int64(n))
	}
}

// trackedConn is a connection of a connSet. It embeds net.Conn, not
// *net.TCPConn, so that no ReadFrom/WriteTo fast path bypasses the cap.
type trackedConn struct {
	net.Conn
	tcp       *net.TCPConn
	set       *connSet
	closeOnce sync.Once
}

func (c *trackedConn) Read(b []byte) (int, error) {
	k := c.set.take(len(b))
	if k == 0 && len(b) > 0 {
		return 0, errCapped
	}
	n, err := c.Conn.Read(b[:k])
	c.set.giveBack(k - n)
	if n > 0 && c.set.firstData.Load() == 0 {
		c.set.firstData.CompareAndSwap(0, time.Now().UnixNano())
	}
	return n, err
}

func (c *trackedConn) Write(b []byte) (int, error) {
	var done int
	for done < len(b) {
		k := c.set.take(len(b) - done)
		if k == 0 {
			return done, errCapped
		}
		n, err := c.Conn.Write(b[done : done+k])
		c.set.giveBack(k - n)
		if n > 0 && c.set.firstData.Load() == 0 {
			c.set.firstData.CompareAndSwap(0, time.Now().UnixNano())
		}
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// Close records the connection's final counters and closes it.
func (c *trackedConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.set.mu.Lock()
		if v, ok := readCounters(c.tcp); ok {
			c.set.closed.add(v)
		}
		delete(c.set.live, c)
		c.set.mu.Unlock()
		err = c.Conn.Close()
	})
	return err
}

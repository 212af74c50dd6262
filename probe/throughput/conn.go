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

// Why a connSet's gate closed (see connSet.onLimit).
const (
	limitAllowance = iota // the set's allowance is used
	limitCharge           // the budget's checkpoint failed: nothing more may move
)

// connSet is the connections of one test phase (the pings, a download or an
// upload). It sums their kernel counters and closes them all at the end of
// the phase. Every byte its connections read or write is first reserved
// from the test's Charge and, when allowance > 0, the bytes they read (or,
// with capWrites, write) from the set's allowance: the direction's payload,
// not the requests or answers that go the other way. It is safe for
// concurrent use.
type connSet struct {
	dialer    *net.Dialer
	charge    *Charge
	allowance int64
	capWrites bool
	// onLimit is called (at most once per reason) when the gate closes.
	onLimit  func(why int)
	appBytes atomic.Int64
	capOnce  [2]sync.Once
	// made is when the set was made (with the monotonic clock reading);
	// firstData is when the first payload byte was read or written, as
	// nanoseconds since made plus one (0 before): a wall-clock step during a
	// test changes no rate.
	made      time.Time
	firstData atomic.Int64

	mu     sync.Mutex
	live   map[*trackedConn]struct{}
	closed tcpCounters   // final counters of closed connections
	done   chan struct{} // closed by closeAll
}

func newConnSet(d *net.Dialer, ch *Charge, allowance int64, capWrites bool, onLimit func(why int)) *connSet {
	if onLimit == nil {
		onLimit = func(int) {}
	}
	return &connSet{dialer: d, charge: ch, allowance: allowance, capWrites: capWrites, onLimit: onLimit,
		live: map[*trackedConn]struct{}{}, done: make(chan struct{}), made: time.Now()}
}

// first returns when the first payload byte moved, and whether one did.
func (s *connSet) first() (time.Time, bool) {
	v := s.firstData.Load()
	return s.made.Add(time.Duration(v - 1)), v != 0
}

func (s *connSet) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// dial opens a tracked connection; it fails once the set is closed.
func (s *connSet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if s.isDone() {
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
	w := &trackedConn{Conn: tc, tcp: tc, set: s, gone: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isDone() {
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
	if !s.isDone() {
		close(s.done)
	}
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

func (s *connSet) limit(why int) { s.capOnce[why].Do(func() { s.onLimit(why) }) }

// take reserves up to n bytes for c to read (or write), under the set's
// allowance and from the charge (which may wait for a checkpoint). It
// returns 0 when the gate is closed: the allowance is used, the charge
// failed, or the set or c closed.
func (s *connSet) take(c *trackedConn, n int, write bool) int {
	k := int64(n)
	capped := s.allowance > 0 && write == s.capWrites
	if capped {
		for {
			used := s.appBytes.Load()
			left := s.allowance - used
			if left <= 0 {
				s.limit(limitAllowance)
				return 0
			}
			k = min(k, left)
			if s.appBytes.CompareAndSwap(used, used+k) {
				break
			}
		}
	}
	got := s.charge.reserve(k, s.done, c.gone)
	if capped {
		s.appBytes.Add(got - k)
	}
	if got == 0 && s.charge.isFailed() {
		s.limit(limitCharge)
	}
	return int(got)
}

// giveBack returns reserved bytes that were not moved.
func (s *connSet) giveBack(n int, write bool) {
	if n > 0 {
		if s.allowance > 0 && write == s.capWrites {
			s.appBytes.Add(-int64(n))
		}
		s.charge.giveBack(int64(n))
	}
}

func (s *connSet) moved(n int) {
	if n > 0 && s.firstData.Load() == 0 {
		s.firstData.CompareAndSwap(0, int64(time.Since(s.made))+1)
	}
}

// trackedConn is a connection of a connSet. It embeds net.Conn, not
// *net.TCPConn, so that no ReadFrom/WriteTo fast path bypasses the gate.
type trackedConn struct {
	net.Conn
	tcp       *net.TCPConn
	set       *connSet
	gone      chan struct{} // closed by Close
	closeOnce sync.Once
}

// Read reads at most what the gate allows; at a closed gate it fails with
// errCapped (a download stops as soon as its allowance is read).
func (c *trackedConn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return c.Conn.Read(b)
	}
	k := c.set.take(c, len(b), false)
	if k == 0 {
		select {
		case <-c.set.done:
			return 0, errStopped
		case <-c.gone:
			return 0, net.ErrClosed
		default:
			return 0, errCapped
		}
	}
	n, err := c.Conn.Read(b[:k])
	c.set.giveBack(k-n, false)
	c.set.moved(n)
	return n, err
}

// Write writes what the gate allows; at a closed gate it waits until the
// set or the connection is closed, so that what was already written is
// still sent (an upload is stopped once its allowance has left the probe,
// not when it was handed to the kernel).
func (c *trackedConn) Write(b []byte) (int, error) {
	var done int
	for done < len(b) {
		k := c.set.take(c, len(b)-done, true)
		if k == 0 {
			select {
			case <-c.set.done:
			case <-c.gone:
			}
			return done, errStopped
		}
		n, err := c.Conn.Write(b[done : done+k])
		c.set.giveBack(k-n, true)
		c.set.moved(n)
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
		close(c.gone)
		err = c.Conn.Close()
	})
	return err
}

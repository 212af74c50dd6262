package speedtarget

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// watchEvery is how often a transfer is checked against the limits.
const watchEvery = 250 * time.Millisecond

// transfer is one download or upload in flight. A watchdog cuts it off when
// it moves less than MinRate over the last RateWindow, runs longer than
// MaxTransferTime, or its client's test has ended (see sessions); a cut
// ends the client's test. Progress is what the client actually took: for a
// download the bytes it acknowledged (the kernel's TCP counter, so that data
// parked in socket buffers does not count), for an upload the bytes read.
type transfer struct {
	s        *Server
	sess     *session
	endpoint string
	start    time.Time
	rc       *http.ResponseController
	conn     *net.TCPConn // the connection, nil when not known
	tcp      *net.TCPConn // the connection whose acked bytes count (downloads), or nil
	acked0   int64
	moved    atomic.Int64 // payload bytes written or read
	done     chan struct{}

	mu  sync.Mutex
	cut string // the limit that cut the transfer off, "" while it runs
}

// connKey keys the accepted connection in a request's context.
type connKey struct{}

// withConn is the http.Server's ConnContext: it keeps c for the handlers.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// tcpConnOf returns the TCP connection under r's (nil if unknown).
func tcpConnOf(r *http.Request) *net.TCPConn {
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	for c != nil {
		switch v := c.(type) {
		case *net.TCPConn:
			return v
		case *tls.Conn:
			c = v.NetConn()
		case *peekedConn:
			c = v.Conn
		default:
			return nil
		}
	}
	return nil
}

// ackedBytes returns the bytes the peer acknowledged on tc.
func ackedBytes(tc *net.TCPConn) (int64, bool) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var info *unix.TCPInfo
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || gerr != nil {
		return 0, false
	}
	return int64(info.Bytes_acked), true
}

// startTransfer admits a transfer for r, or answers 503 and returns false.
// The caller must call t.finish.
func (s *Server) startTransfer(w http.ResponseWriter, r *http.Request, endpoint string) (*transfer, bool) {
	client := clientOf(r)
	now := time.Now()
	sess, reason := s.sessions.acquire(client, now)
	if sess == nil {
		s.opts.Log.Debug("transfer refused", "client", client, "reason", reason)
		s.reject(w, endpoint, http.StatusServiceUnavailable, reason, "target busy ("+reason+"), retry later")
		return nil, false
	}
	t := &transfer{s: s, sess: sess, endpoint: endpoint, start: now, rc: http.NewResponseController(w),
		conn: tcpConnOf(r), done: make(chan struct{})}
	if endpoint == "download" && t.conn != nil {
		if v, ok := ackedBytes(t.conn); ok {
			t.tcp, t.acked0 = t.conn, v
		}
	}
	go t.watch(client)
	return t, true
}

// finish ends the transfer and frees its stream.
func (t *transfer) finish() {
	close(t.done)
	t.s.sessions.release(t.sess, time.Now())
}

// progress returns the bytes the client has taken so far.
func (t *transfer) progress() int64 {
	if t.tcp != nil {
		if v, ok := ackedBytes(t.tcp); ok {
			return max(v-t.acked0, 0)
		}
	}
	return t.moved.Load()
}

// deadline sets the connection's read or write deadline to d unless the
// transfer was cut off; it reports false when it was.
func (t *transfer) deadline(write bool, d time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cut != "" {
		return false
	}
	if write {
		_ = t.rc.SetWriteDeadline(d)
	} else {
		_ = t.rc.SetReadDeadline(d)
	}
	return true
}

// abort cuts the transfer off: its blocked read or write fails at once, and
// the connection will close with a reset, so that neither side's kernel
// keeps sending what is queued to a client that takes it slowly.
func (t *transfer) abort(reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cut != "" {
		return
	}
	t.cut = reason
	if t.conn != nil {
		_ = t.conn.SetLinger(0)
	}
	past := time.Unix(1, 0)
	_ = t.rc.SetReadDeadline(past)
	_ = t.rc.SetWriteDeadline(past)
}

// watch checks the transfer every watchEvery until it finishes.
func (t *transfer) watch(client string) {
	o := &t.s.opts
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	type mark struct {
		at time.Time
		b  int64
	}
	marks := []mark{{t.start, 0}}
	for {
		var now time.Time
		select {
		case <-t.done:
			return
		case now = <-tick.C:
		}
		p := t.progress()
		marks = append(marks, mark{now, p})
		// Keep the newest mark at least RateWindow old as marks[0].
		for len(marks) > 1 && now.Sub(marks[1].at) >= o.RateWindow {
			marks = marks[1:]
		}
		reason := t.s.sessions.check(t.sess, now)
		switch {
		case reason != "":
		case now.Sub(t.start) > o.MaxTransferTime:
			reason = LimitTransferTime
		case now.Sub(marks[0].at) >= o.RateWindow && float64(p-marks[0].b) < float64(o.MinRate)*now.Sub(marks[0].at).Seconds():
			reason = LimitTooSlow
		}
		if reason == "" {
			continue
		}
		t.s.sessions.endTest(t.sess, now, reason)
		t.abort(reason)
		t.s.m.limits.WithLabelValues(reason).Inc()
		t.s.opts.Log.Info("transfer cut off", "client", client, "endpoint", t.endpoint, "reason", reason,
			"bytes", p, "seconds", now.Sub(t.start).Seconds())
		return
	}
}

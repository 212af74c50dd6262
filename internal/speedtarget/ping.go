package speedtarget

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Bounds of the TCP PING protocol. speedtest-go's TCP ping sends 10 PINGs
// 200 ms apart on one connection; a PING line is 24 bytes, HI with a client
// id 39.
const (
	sniffTimeout   = 10 * time.Second // for a new connection's first bytes
	pingWriteLimit = 10 * time.Second
	pingMaxLine    = 128 // bytes, newline included
	pingMaxCmds    = 1000
	pingLineTime   = 10 * time.Second // for each whole command line
	pingLifetime   = time.Minute      // for a whole PING connection
)

// pingTimes bound a PING connection in time: pingLineTime and pingLifetime
// (tests shorten them).
type pingTimes struct {
	line, lifetime time.Duration
}

// Demux wraps l: connections that open with a PING-protocol command ("PING",
// "HI", "QUIT", as speedtest.net servers speak on their HTTP port) are
// answered by s; every other connection (HTTP, TLS) is returned by Accept
// with its first bytes intact. Closing the returned listener closes l and
// the PING connections still open.
func (s *Server) Demux(l net.Listener) net.Listener {
	d := &demux{Listener: l, s: s, conns: make(chan net.Conn), done: make(chan struct{}),
		failed: make(chan struct{}), open: map[net.Conn]struct{}{}}
	go d.acceptLoop()
	return d
}

type demux struct {
	net.Listener
	s      *Server
	conns  chan net.Conn
	done   chan struct{} // closed by Close
	failed chan struct{} // closed when the inner listener fails; err says why
	err    error

	closeOnce sync.Once
	mu        sync.Mutex
	open      map[net.Conn]struct{} // connections being sniffed or speaking PING
}

func (d *demux) acceptLoop() {
	for {
		c, err := d.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			d.err = err
			close(d.failed)
			return
		}
		if !d.track(c) {
			c.Close()
			return
		}
		go d.sniff(c)
	}
}

// track records c as open; it reports false once the listener is closed.
func (d *demux) track(c net.Conn) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.open == nil {
		return false
	}
	d.open[c] = struct{}{}
	return true
}

func (d *demux) untrack(c net.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.open, c)
}

// Accept returns the next non-PING connection.
func (d *demux) Accept() (net.Conn, error) {
	select {
	case c := <-d.conns:
		return c, nil
	case <-d.done:
		return nil, net.ErrClosed
	case <-d.failed:
		return nil, d.err
	}
}

// Close closes the listener and every PING connection.
func (d *demux) Close() error {
	var err error
	d.closeOnce.Do(func() {
		close(d.done)
		err = d.Listener.Close()
		d.mu.Lock()
		for c := range d.open {
			c.Close()
		}
		d.open = nil
		d.mu.Unlock()
	})
	return err
}

// isPing reports whether a connection's first bytes are a PING-protocol command.
func isPing(br *bufio.Reader) (bool, error) {
	b, err := br.Peek(1)
	if err != nil {
		return false, err
	}
	var word []byte
	switch b[0] {
	case 'P': // PING, or HTTP POST/PUT/PATCH
		word = []byte("PING")
	case 'H': // HI, or HTTP HEAD
		word = []byte("HI")
	case 'Q':
		word = []byte("QUIT")
	default:
		return false, nil
	}
	b, err = br.Peek(len(word))
	if err != nil {
		return false, err
	}
	return bytes.Equal(b, word), nil
}

func (d *demux) sniff(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	br := bufio.NewReaderSize(c, pingMaxLine)
	ping, err := isPing(br)
	if err != nil {
		d.untrack(c)
		c.Close()
		return
	}
	if ping {
		d.s.servePing(c, br)
		d.untrack(c)
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	d.untrack(c)
	select {
	case d.conns <- &peekedConn{Conn: c, r: br}:
	case <-d.done:
		c.Close()
	}
}

// peekedConn is a connection whose first bytes were read into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) {
	if p.r.Buffered() > 0 {
		return p.r.Read(b)
	}
	return p.Conn.Read(b)
}

func (s *Server) pingAcquire() bool {
	s.pingMu.Lock()
	defer s.pingMu.Unlock()
	if s.pingConns >= s.opts.MaxPingConns {
		return false
	}
	s.pingConns++
	return true
}

func (s *Server) pingRelease() {
	s.pingMu.Lock()
	defer s.pingMu.Unlock()
	s.pingConns--
}

// helloLine is the answer to HI.
const helloLine = "HELLO 2.11 (2.11.0) wardprobe\n"

// PongLine returns the reply to a PING at t: "PONG " and t in Unix
// milliseconds as 13 digits, the 19-byte line speedtest-go expects.
func PongLine(t time.Time) []byte {
	return fmt.Appendf(nil, "PONG %013d\n", t.UnixMilli())
}

// servePing answers PING-protocol commands on c until QUIT, an unknown
// command, a line over pingMaxLine or not complete within s.ping.line,
// pingMaxCmds commands, or s.ping.lifetime.
func (s *Server) servePing(c net.Conn, br *bufio.Reader) {
	if !s.pingAcquire() {
		s.m.pingConns.WithLabelValues("refused").Inc()
		return
	}
	defer s.pingRelease()
	s.m.pingConns.WithLabelValues("accepted").Inc()
	reply := func(b []byte) bool {
		_ = c.SetWriteDeadline(time.Now().Add(pingWriteLimit))
		_, err := c.Write(b)
		return err == nil
	}
	end := time.Now().Add(s.ping.lifetime)
	for range pingMaxCmds {
		now := time.Now()
		if !now.Before(end) {
			return
		}
		dl := now.Add(s.ping.line)
		if end.Before(dl) {
			dl = end
		}
		_ = c.SetReadDeadline(dl)
		line, err := br.ReadSlice('\n') // ErrBufferFull past pingMaxLine
		if err != nil {
			return
		}
		cmd, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(" "))
		switch string(cmd) {
		case "PING":
			if !reply(PongLine(time.Now())) {
				return
			}
			s.m.pings.Inc()
		case "HI":
			// The protocol version speedtest.net servers answer; not
			// wardprobe's version, which the ward need not know.
			if !reply([]byte(helloLine)) {
				return
			}
		default: // QUIT, or a command this target does not speak
			return
		}
	}
}

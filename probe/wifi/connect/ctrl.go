package connect

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ctrlBuf bounds one control interface message (wpa_supplicant's own
// replies are at most 4 KiB; scan results can be larger).
const ctrlBuf = 16 << 10

// defaultCtrlTimeout bounds a request when the context has no deadline.
const defaultCtrlTimeout = 5 * time.Second

// Ctrl is a connection to a wpa_supplicant control interface: a unix
// datagram socket at DIR/IFACE (ctrl_interface=DIR), reached from a socket
// of our own bound in a private directory, as wpa_cli does. Requests are
// plain text commands ("PING", "ADD_NETWORK", "SET_NETWORK 0 ssid ...")
// answered by one datagram; after ATTACH the supplicant also sends
// unsolicited event messages, which start with "<LEVEL>". It is safe for
// concurrent use; one request is in flight at a time.
type Ctrl struct {
	c     *net.UnixConn
	local string
	mu    sync.Mutex
}

// DialCtrl connects to the control socket at path, binding the local end
// in dir (which must be private to this process's user).
func DialCtrl(path, dir string) (*Ctrl, error) {
	local := filepath.Join(dir, fmt.Sprintf("wardprobe-%d-%x", os.Getpid(), rand.Uint32()))
	_ = os.Remove(local)
	c, err := net.DialUnix("unixgram", &net.UnixAddr{Name: local, Net: "unixgram"}, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("wpa_supplicant control interface %s: %w", path, err)
	}
	return &Ctrl{c: c, local: local}, nil
}

// Close closes the connection and removes the local socket.
func (c *Ctrl) Close() error {
	err := c.c.Close()
	_ = os.Remove(c.local)
	return err
}

// Request sends a command and returns the reply, skipping event messages
// that arrive meanwhile. A reply of "FAIL" or "UNKNOWN COMMAND" is an
// error. Errors name the command's first word only: a command may carry a
// credential.
func (c *Ctrl) Request(ctx context.Context, cmd string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	verb := strings.SplitN(cmd, " ", 2)[0]
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultCtrlTimeout)
	}
	if err := c.c.SetDeadline(deadline); err != nil {
		return "", err
	}
	if _, err := c.c.Write([]byte(cmd)); err != nil {
		return "", fmt.Errorf("wpa_supplicant %s: %w", verb, err)
	}
	buf := make([]byte, ctrlBuf)
	for {
		n, err := c.c.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("wpa_supplicant %s: %w", verb, ctx.Err())
			}
			return "", fmt.Errorf("wpa_supplicant %s: %w", verb, err)
		}
		reply := string(buf[:n])
		if strings.HasPrefix(reply, "<") {
			continue // an event on a connection that is attached
		}
		switch strings.TrimSpace(reply) {
		case "FAIL":
			return reply, fmt.Errorf("wpa_supplicant %s: FAIL", verb)
		case "UNKNOWN COMMAND":
			return reply, fmt.Errorf("wpa_supplicant %s: unknown command", verb)
		}
		return reply, nil
	}
}

// ok sends a command that answers "OK".
func (c *Ctrl) ok(ctx context.Context, cmd string) error {
	reply, err := c.Request(ctx, cmd)
	if err != nil {
		return err
	}
	if strings.TrimSpace(reply) != "OK" {
		return fmt.Errorf("wpa_supplicant %s: unexpected reply %q", strings.SplitN(cmd, " ", 2)[0], firstLine(reply))
	}
	return nil
}

// Attach makes this connection a monitor: from now on it receives the
// supplicant's event messages (read them with Next).
func (c *Ctrl) Attach(ctx context.Context) error { return c.ok(ctx, "ATTACH") }

// Next returns the next event message of an attached connection, waiting
// until deadline (os.ErrDeadlineExceeded after it).
func (c *Ctrl) Next(deadline time.Time) (Msg, error) {
	if err := c.c.SetReadDeadline(deadline); err != nil {
		return Msg{}, err
	}
	buf := make([]byte, ctrlBuf)
	for {
		n, err := c.c.Read(buf)
		if err != nil {
			return Msg{}, err
		}
		if m, err := ParseMsg(string(buf[:n])); err == nil {
			return m, nil
		}
		// A reply to a request of this connection (ATTACH's "OK"): skip.
	}
}

// Msg is one event message of the control interface, e.g.
// "<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:00:00 completed [id=0 id_str=]".
type Msg struct {
	// Level is the wpa_printf level in the prefix (2 info, 3 warning...).
	Level int
	// Text is the message without the prefix.
	Text string
	// Name is the event name ("CTRL-EVENT-CONNECTED") for the events
	// with one, "" for plain messages ("Associated with ...").
	Name string
	// BSSID is the first MAC address in the text, lower case, if any.
	BSSID string
	// Fields are the key=value pairs of the text (values may be quoted
	// with ' or ").
	Fields map[string]string
}

var errNotEvent = errors.New("not an event message")

// maxFields bounds the key=value pairs parsed from one message.
const maxFields = 32

// ParseMsg parses one event message. Anything not of the form "<N>text"
// (a request's reply) is an error.
func ParseMsg(s string) (Msg, error) {
	s = strings.TrimRight(s, "\r\n\x00")
	if strings.HasPrefix(s, "IFNAME=") { // the global control interface prefixes the interface
		if i := strings.IndexByte(s, ' '); i > 0 {
			s = s[i+1:]
		}
	}
	if len(s) < 3 || s[0] != '<' {
		return Msg{}, errNotEvent
	}
	end := strings.IndexByte(s, '>')
	if end < 2 || end > 4 {
		return Msg{}, errNotEvent
	}
	level, err := strconv.Atoi(s[1:end])
	if err != nil {
		return Msg{}, errNotEvent
	}
	m := Msg{Level: level, Text: s[end+1:]}
	if strings.HasPrefix(m.Text, "CTRL-") || strings.HasPrefix(m.Text, "WPS-") || strings.HasPrefix(m.Text, "P2P-") {
		m.Name, _, _ = strings.Cut(m.Text, " ")
	}
	m.BSSID = firstMAC(m.Text)
	m.Fields = fields(m.Text)
	return m, nil
}

// firstMAC returns the first colon-separated MAC address in s.
func firstMAC(s string) string {
	for i := 0; i+17 <= len(s); i++ {
		if isMAC(s[i:i+17]) && (i == 0 || !isHex(s[i-1])) && (i+17 == len(s) || !isHex(s[i+17])) {
			return strings.ToLower(s[i : i+17])
		}
	}
	return ""
}

func isMAC(s string) bool {
	for i := 0; i < 17; i++ {
		if i%3 == 2 {
			if s[i] != ':' {
				return false
			}
		} else if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(b byte) bool {
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F')
}

// fields parses key=value pairs; a value may be quoted with ' or ".
func fields(s string) map[string]string {
	out := map[string]string{}
	for len(s) > 0 && len(out) < maxFields {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		start := strings.LastIndexAny(s[:eq], " [(") + 1
		key := s[start:eq]
		rest := s[eq+1:]
		var val string
		if len(rest) > 0 && (rest[0] == '\'' || rest[0] == '"') {
			if end := strings.IndexByte(rest[1:], rest[0]); end >= 0 {
				val, rest = rest[1:1+end], rest[2+end:]
			} else {
				val, rest = rest[1:], ""
			}
		} else {
			end := strings.IndexAny(rest, " ]")
			if end < 0 {
				end = len(rest)
			}
			val, rest = rest[:end], rest[end:]
		}
		if key != "" {
			out[key] = val
		}
		s = rest
	}
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

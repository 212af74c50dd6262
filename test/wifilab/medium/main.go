// Command medium is a small user-space wireless medium for mac80211_hwsim,
// in the manner of wmediumd: it registers on hwsim's generic netlink family
// (MAC80211_HWSIM), receives every frame a simulated radio transmits, and
// delivers it to the other radios with a signal level set per link, then
// reports the transmit status to the sender. The Wi-Fi lab uses it to move a
// station from good signal through degraded coverage to a not-spot.
//
// Usage:
//
//	medium [-radios 3] [-signal -45] [-floor -95] [-control /run/medium.sock]
//	medium ctl signal FROM TO DBM   (FROM, TO: radio index or "*")
//	medium ctl show | stats
//
// Radio i is the i-th radio hwsim created; its address on the netlink
// interface is 42:00:00:00:ii:00. A link below the floor delivers nothing
// and acknowledges nothing, like a station out of range.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// From the kernel's drivers/net/wireless/mac80211_hwsim.h (the genetlink
// interface is stable).
const (
	familyName = "MAC80211_HWSIM"

	cmdRegister    = 1
	cmdFrame       = 2
	cmdTxInfoFrame = 3
	cmdAddMACAddr  = 7

	attrAddrReceiver    = 1
	attrAddrTransmitter = 2
	attrFrame           = 3
	attrFlags           = 4
	attrRxRate          = 5
	attrSignal          = 6
	attrTxInfo          = 7
	attrCookie          = 8
	attrFreq            = 19

	txCtlNoAck = 1 << 1
	txStatAck  = 1 << 2
)

func main() {
	log.SetFlags(log.Lmicroseconds)
	log.SetPrefix("medium: ")
	if len(os.Args) > 1 && os.Args[1] == "ctl" {
		ctl(os.Args[2:])
		return
	}
	radios := flag.Int("radios", 3, "number of hwsim radios")
	signal := flag.Int("signal", -45, "initial signal of every link, dBm")
	floor := flag.Int("floor", -95, "links below this signal (dBm) carry nothing")
	control := flag.String("control", "/run/medium.sock", "control socket")
	flag.Parse()
	m := newMedium(*radios, *signal, *floor)
	if err := m.listen(*control); err != nil {
		log.Fatal(err)
	}
	if err := m.run(); err != nil {
		log.Fatal(err)
	}
}

// ctl sends one command to a running medium and prints the reply.
func ctl(args []string) {
	control := "/run/medium.sock"
	if v := os.Getenv("MEDIUM_CONTROL"); v != "" {
		control = v
	}
	c, err := net.Dial("unix", control)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if _, err := fmt.Fprintln(c, strings.Join(args, " ")); err != nil {
		log.Fatal(err)
	}
	reply, err := io.ReadAll(c)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(reply))
	if strings.HasPrefix(string(reply), "error") {
		os.Exit(1)
	}
}

type medium struct {
	floor int

	mu     sync.Mutex
	radios [][6]byte         // netlink addresses, by index
	signal map[[2]int]int    // link signal, dBm, by (from, to)
	owner  map[[6]byte]int   // interface MAC -> radio index
	stats  map[string]uint64 // counters for "stats"
	conn   *genetlink.Conn   // set by run
	family uint16
}

func newMedium(n, signal, floor int) *medium {
	m := &medium{floor: floor, signal: map[[2]int]int{}, owner: map[[6]byte]int{}, stats: map[string]uint64{}}
	for i := range n {
		m.radios = append(m.radios, [6]byte{0x42, 0, 0, 0, byte(i), 0})
	}
	for i := range n {
		for j := range n {
			m.signal[[2]int{i, j}] = signal
		}
	}
	return m
}

// radio returns the index of a netlink address, adding it when new.
func (m *medium) radio(addr [6]byte) int {
	for i, a := range m.radios {
		if a == addr {
			return i
		}
	}
	m.radios = append(m.radios, addr)
	return len(m.radios) - 1
}

func (m *medium) link(from, to int) int {
	if s, ok := m.signal[[2]int{from, to}]; ok {
		return s
	}
	return m.floor - 1
}

// listen serves the control socket.
func (m *medium) listen(path string) error {
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				log.Printf("control: %v", err)
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(io.LimitReader(c, 1024)).ReadString('\n')
				fmt.Fprint(c, m.command(strings.Fields(line)))
			}()
		}
	}()
	return nil
}

// command runs one control command and returns the reply.
func (m *medium) command(f []string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case len(f) == 4 && f[0] == "signal":
		froms, err1 := m.indexes(f[1])
		tos, err2 := m.indexes(f[2])
		dbm, err3 := strconv.Atoi(f[3])
		if err := errors.Join(err1, err2, err3); err != nil {
			return "error: " + err.Error() + "\n"
		}
		for _, a := range froms {
			for _, b := range tos {
				if a != b {
					m.signal[[2]int{a, b}] = dbm
				}
			}
		}
		log.Printf("signal %s -> %s = %d dBm", f[1], f[2], dbm)
		return "ok\n"
	case len(f) == 1 && f[0] == "show":
		var b strings.Builder
		for i := range m.radios {
			for j := range m.radios {
				if i != j {
					fmt.Fprintf(&b, "%d -> %d: %d dBm\n", i, j, m.link(i, j))
				}
			}
		}
		return b.String()
	case len(f) == 1 && f[0] == "stats":
		var b strings.Builder
		for _, k := range []string{"frames", "delivered", "acked", "unacked", "dropped", "kernel_errors"} {
			fmt.Fprintf(&b, "%s %d\n", k, m.stats[k])
		}
		return b.String()
	}
	return "error: commands are: signal FROM TO DBM | show | stats\n"
}

func (m *medium) indexes(s string) ([]int, error) {
	if s == "*" {
		out := make([]int, len(m.radios))
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i >= len(m.radios) {
		return nil, fmt.Errorf("no radio %q", s)
	}
	return []int{i}, nil
}

// run registers with hwsim and relays frames until the socket fails.
func (m *medium) run() error {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return fmt.Errorf("generic netlink: %w", err)
	}
	defer c.Close()
	fam, err := c.GetFamily(familyName)
	if err != nil {
		return fmt.Errorf("family %s (is mac80211_hwsim loaded?): %w", familyName, err)
	}
	_ = c.SetReadBuffer(8 << 20)
	if _, err := c.Execute(genetlink.Message{Header: genetlink.Header{Command: cmdRegister, Version: 1}},
		fam.ID, netlink.Request|netlink.Acknowledge); err != nil {
		return fmt.Errorf("registering as the medium: %w", err)
	}
	m.conn, m.family = c, fam.ID
	log.Printf("registered with %s (family %d), %d radios", familyName, fam.ID, len(m.radios))
	for {
		msgs, _, err := c.Receive()
		if err != nil {
			var oe *netlink.OpError
			if errors.As(err, &oe) && (errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOENT)) {
				// EINVAL: a frame for a radio not on that channel (the
				// kernel drops it and says so); ENOBUFS: we fell behind.
				m.mu.Lock()
				m.stats["kernel_errors"]++
				m.mu.Unlock()
				continue
			}
			return fmt.Errorf("receive: %w", err)
		}
		for _, msg := range msgs {
			switch msg.Header.Command {
			case cmdFrame:
				m.frame(msg.Data)
			case cmdAddMACAddr:
				m.addMAC(msg.Data)
			}
		}
	}
}

func addr(b []byte) (a [6]byte, ok bool) {
	if len(b) != 6 {
		return a, false
	}
	copy(a[:], b)
	return a, true
}

// addMAC learns which radio an interface address belongs to.
func (m *medium) addMAC(data []byte) {
	ad, err := netlink.NewAttributeDecoder(data)
	if err != nil {
		return
	}
	var radio, vif [6]byte
	var okR, okV bool
	for ad.Next() {
		switch ad.Type() {
		case attrAddrTransmitter:
			radio, okR = addr(ad.Bytes())
		case attrAddrReceiver:
			vif, okV = addr(ad.Bytes())
		}
	}
	if okR && okV {
		m.mu.Lock()
		m.owner[vif] = m.radio(radio)
		m.mu.Unlock()
	}
}

// frame relays one transmitted frame and reports its status.
func (m *medium) frame(data []byte) {
	ad, err := netlink.NewAttributeDecoder(data)
	if err != nil {
		return
	}
	var (
		tx           [6]byte
		okTx         bool
		frame, rates []byte
		flags        uint32
		cookie       uint64
		freq         uint32
		haveFreq     bool
	)
	for ad.Next() {
		switch ad.Type() {
		case attrAddrTransmitter:
			tx, okTx = addr(ad.Bytes())
		case attrFrame:
			frame = ad.Bytes()
		case attrFlags:
			flags = ad.Uint32()
		case attrTxInfo:
			rates = ad.Bytes()
		case attrCookie:
			cookie = ad.Uint64()
		case attrFreq:
			freq, haveFreq = ad.Uint32(), true
		}
	}
	if !okTx || len(frame) < 10 || ad.Err() != nil {
		return
	}
	m.mu.Lock()
	from := m.radio(tx)
	var dest [6]byte
	copy(dest[:], frame[4:10])
	if len(frame) >= 16 {
		var src [6]byte
		copy(src[:], frame[10:16])
		if src[0]&1 == 0 {
			m.owner[src] = from
		}
	}
	multicast := dest[0]&1 == 1
	to, known := m.owner[dest]
	type delivery struct {
		radio  [6]byte
		signal int
	}
	var out []delivery
	for i, r := range m.radios {
		if i == from || (!multicast && known && i != to) {
			continue
		}
		if s := m.link(from, i); s >= m.floor {
			out = append(out, delivery{r, s})
		}
	}
	noAck := multicast || flags&txCtlNoAck != 0
	acked := noAck || (known && m.link(from, to) >= m.floor)
	ackSignal := 0
	if known {
		ackSignal = m.link(from, to)
	}
	m.stats["frames"]++
	m.stats["delivered"] += uint64(len(out))
	if acked {
		m.stats["acked"]++
	} else {
		m.stats["unacked"]++
	}
	if len(out) == 0 {
		m.stats["dropped"]++
	}
	m.mu.Unlock()

	// The receive rate is a legacy rate index of the band (0..7 is valid in
	// every band); an HT/VHT MCS index passed as is would make mac80211
	// drop the frame.
	rate := uint32(0)
	if len(rates) >= 1 && int8(rates[0]) >= 0 {
		rate = min(uint32(rates[0]), 7)
	}
	// Deauthentication and disassociation frames are logged as they are
	// handed to the receivers (the moment their kernel learns of them), for
	// the lab to time the events that follow.
	if fc := frame[0]; fc&0x0c == 0 && (fc>>4 == 10 || fc>>4 == 12) && len(out) > 0 {
		kind := map[byte]string{10: "disassociation", 12: "deauthentication"}[fc>>4]
		log.Printf("deliver %s from radio %d to %d radios at %d", kind, from, len(out), time.Now().UnixNano())
	}
	for _, d := range out {
		ae := netlink.NewAttributeEncoder()
		ae.Bytes(attrAddrReceiver, d.radio[:])
		ae.Bytes(attrFrame, frame)
		ae.Uint32(attrRxRate, rate)
		ae.Uint32(attrSignal, uint32(int32(d.signal)))
		if haveFreq {
			ae.Uint32(attrFreq, freq)
		}
		m.send(cmdFrame, ae)
	}
	// The transmit status: on success the first rate took one attempt.
	status := append([]byte(nil), rates...)
	if acked {
		flags |= txStatAck
		for i := 0; i+1 < len(status); i += 2 {
			if i == 0 {
				status[1] = 1
				continue
			}
			status[i], status[i+1] = 0xff, 0
		}
	}
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(attrAddrTransmitter, tx[:])
	ae.Uint32(attrFlags, flags)
	ae.Uint32(attrSignal, uint32(int32(ackSignal)))
	ae.Bytes(attrTxInfo, status)
	ae.Uint64(attrCookie, cookie)
	m.send(cmdTxInfoFrame, ae)
}

func (m *medium) send(cmd uint8, ae *netlink.AttributeEncoder) {
	b, err := ae.Encode()
	if err != nil {
		log.Printf("encoding: %v", err)
		return
	}
	if _, err := m.conn.Send(genetlink.Message{Header: genetlink.Header{Command: cmd, Version: 1}, Data: b},
		m.family, netlink.Request); err != nil {
		log.Printf("send: %v", err)
	}
}

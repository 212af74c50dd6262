package events

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Listener follows one station interface through nl80211's "mlme"
// multicast group and station samples, and reports Events. Joining the
// group and reading stations needs no privilege.
type Listener struct {
	cfg Config
	// Errorf, when set, receives errors the Listener recovers from (socket
	// failures, malformed messages); it must not block.
	Errorf func(error)

	mu       sync.Mutex
	tr       *Tracker
	bad      uint64    // malformed messages
	mismatch time.Time // since when kernel and tracker disagree
}

// NewListener returns a Listener for cfg.
func NewListener(cfg Config) *Listener {
	cfg = cfg.withDefaults()
	return &Listener{cfg: cfg, tr: NewTracker(cfg)}
}

// Malformed returns how many malformed nl80211 messages were skipped.
func (l *Listener) Malformed() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bad
}

// Run listens until ctx ends, calling emit for every Event (from one
// goroutine, in order). After a socket error it reconnects after a pause
// (1 s, doubling to 30 s), and resynchronises from a station sample. It
// returns nil when ctx ends, or an error at once when the kernel has no
// nl80211 (no Wi-Fi stack).
func (l *Listener) Run(ctx context.Context, emit func(Event)) error {
	pause := time.Second
	for {
		began := time.Now()
		err := l.session(ctx, emit)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errNoNL80211) {
			return err
		}
		l.report(err)
		if time.Since(began) > time.Minute {
			pause = time.Second
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		pause = min(2*pause, 30*time.Second)
	}
}

func (l *Listener) report(err error) {
	if err != nil && l.Errorf != nil {
		l.Errorf(err)
	}
}

var errNoNL80211 = errors.New("the kernel has no nl80211 Wi-Fi stack loaded")

// batch is what the reader goroutine passes on: messages and when they
// arrived.
type batch struct {
	at   time.Time
	msgs []genetlink.Message
}

// linkBatch is what the rtnetlink reader passes on.
type linkBatch struct {
	at   time.Time
	msgs []netlink.Message
}

// session runs one set of netlink sockets until ctx ends or one fails.
func (l *Listener) session(ctx context.Context, emit func(Event)) error {
	mc, err := genetlink.Dial(nil)
	if err != nil {
		return fmt.Errorf("generic netlink: %w", err)
	}
	defer mc.Close()
	fam, err := mc.GetFamily(unix.NL80211_GENL_NAME)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w (%v)", errNoNL80211, err)
		}
		return fmt.Errorf("nl80211 family: %w", err)
	}
	group := uint32(0)
	for _, g := range fam.Groups {
		if g.Name == unix.NL80211_MULTICAST_GROUP_MLME {
			group = g.ID
		}
	}
	if group == 0 {
		return fmt.Errorf("nl80211 has no %q multicast group", unix.NL80211_MULTICAST_GROUP_MLME)
	}
	if err := mc.JoinGroup(group); err != nil {
		return fmt.Errorf("joining nl80211 group %q: %w", unix.NL80211_MULTICAST_GROUP_MLME, err)
	}
	_ = mc.SetReadBuffer(1 << 20)
	rc, err := genetlink.Dial(nil)
	if err != nil {
		return fmt.Errorf("generic netlink: %w", err)
	}
	defer rc.Close()
	q := &querier{c: rc, family: fam.ID, version: fam.Version}

	done := make(chan struct{})
	defer close(done)
	batches := make(chan batch, 64)
	failed := make(chan error, 1)
	go func() {
		for {
			msgs, _, err := mc.Receive()
			at := time.Now()
			if err != nil {
				if errors.Is(err, syscall.ENOBUFS) {
					// The kernel dropped events: resynchronise from a sample.
					msgs = []genetlink.Message{{Header: genetlink.Header{Command: 0}}}
				} else {
					select {
					case failed <- fmt.Errorf("receiving nl80211 events: %w", err):
					default:
					}
					return
				}
			}
			select {
			case batches <- batch{at: at, msgs: msgs}:
			case <-done:
				return
			}
		}
	}()
	// The interface's operational state, from rtnetlink: the supplicant
	// sets it up the moment the port is authorized.
	lc, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{Groups: unix.RTMGRP_LINK})
	if err != nil {
		return fmt.Errorf("rtnetlink: %w", err)
	}
	defer lc.Close()
	links := make(chan linkBatch, 64)
	go func() {
		for {
			msgs, err := lc.Receive()
			at := time.Now()
			if err != nil {
				if errors.Is(err, syscall.ENOBUFS) {
					continue // link states are also read from the station samples
				}
				select {
				case failed <- fmt.Errorf("receiving link events: %w", err):
				default:
				}
				return
			}
			select {
			case links <- linkBatch{at: at, msgs: msgs}:
			case <-done:
				return
			}
		}
	}()
	stop := context.AfterFunc(ctx, func() { _ = mc.Close(); _ = lc.Close() }) // unblocks Receive
	defer stop()

	ifindex := resolve(l.cfg.Interface)
	l.sample(time.Now(), q, ifindex, emit, true)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-failed:
			return err
		case b := <-batches:
			for _, msg := range b.msgs {
				if msg.Header.Command == 0 { // lost events
					l.sample(b.at, q, ifindex, emit, true)
					continue
				}
				cmd := Command(msg.Header.Command)
				if !cmd.known() {
					continue
				}
				m, err := ParseMessage(cmd, msg.Data)
				if err != nil {
					l.mu.Lock()
					l.bad++
					l.mu.Unlock()
					l.report(fmt.Errorf("nl80211 %s event: %w", cmd, err))
					continue
				}
				if m.Ifindex != ifindex {
					if ifindex = resolve(l.cfg.Interface); m.Ifindex != ifindex {
						continue
					}
				}
				if (cmd == CmdConnect || cmd == CmdRoam) && m.SSID == "" {
					m.SSID = q.ssid(ifindex)
				}
				l.mu.Lock()
				evs := l.tr.Message(b.at, m)
				l.mu.Unlock()
				for _, e := range evs {
					emit(e)
				}
			}
			l.reset(timer, b.at)
		case b := <-links:
			for _, msg := range b.msgs {
				if msg.Header.Type != unix.RTM_NEWLINK {
					continue
				}
				lk, err := ParseLink(msg.Data)
				if err != nil {
					l.report(fmt.Errorf("rtnetlink link event: %w", err))
					continue
				}
				if lk.Ifindex != ifindex || ifindex == 0 {
					continue
				}
				l.mu.Lock()
				evs := l.tr.Operstate(b.at, lk)
				l.mu.Unlock()
				for _, e := range evs {
					emit(e)
				}
			}
		case <-timer.C:
			now := time.Now()
			l.sample(now, q, ifindex, emit, false)
			l.reset(timer, now)
		}
	}
}

// reset schedules the next station sample.
func (l *Listener) reset(timer *time.Timer, now time.Time) {
	l.mu.Lock()
	fast := l.tr.wantsFastSamples(now)
	l.mu.Unlock()
	d := l.cfg.SampleInterval
	if fast {
		d = authorizePoll
	}
	if !timer.Stop() {
		select {
		case <-timer.C:
		default:
		}
	}
	timer.Reset(d)
}

// sample reads the station, feeds the tracker, and resolves timeouts; now
// is when it was asked for, and the reading is timed by the query itself. With
// sync set (at start, after lost events) it takes the state as it finds it;
// otherwise a disagreement between the kernel and the tracker that lasts
// longer than a second (an event lost) is settled the same way.
func (l *Listener) sample(now time.Time, q *querier, ifindex int, emit func(Event), sync bool) {
	st, ok := Station{}, false
	var err error
	if ifindex > 0 {
		asked := time.Now()
		st, ok, err = q.station(ifindex)
		if err != nil {
			l.report(err)
			return
		}
		// The kernel reads the station's inactive time within the query
		// (as it sends the request, for one station): time the reading at
		// the query's midpoint, so that a slow query (a loaded or emulated
		// machine) moves the moment the AP was last heard by at most half
		// its length, and a now that came late (lost events are handled
		// after the batches before them) not at all.
		now = asked.Add(time.Since(asked) / 2)
	}
	l.mu.Lock()
	var evs []Event
	associated, _ := l.tr.Connected()
	agree := ok == associated && (!ok || st.BSSID.String() == l.tr.bssid)
	if agree || sync {
		l.mismatch = time.Time{}
	} else if l.mismatch.IsZero() {
		l.mismatch = now
	}
	switch {
	case agree && ok:
		evs = l.tr.Sample(now, st)
	case agree:
	case sync || now.Sub(l.mismatch) > time.Second:
		l.mismatch = time.Time{}
		if associated {
			evs = l.tr.Message(now, Message{Command: CmdDisconnect})
		}
		if ok {
			l.tr.Sync(now, st, q.ssid(ifindex))
		}
	}
	evs = append(evs, l.tr.Tick(now)...)
	l.mu.Unlock()
	for _, e := range evs {
		emit(e)
	}
}

// resolve returns the index of the named interface, 0 when it is missing.
func resolve(name string) int {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0
	}
	return ifi.Index
}

// querier makes nl80211 requests on its own socket.
type querier struct {
	c       *genetlink.Conn
	family  uint16
	version uint8
}

func (q *querier) request(cmd uint8, ifindex int, flags netlink.HeaderFlags) ([]genetlink.Message, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.NL80211_ATTR_IFINDEX, uint32(ifindex))
	b, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	_ = q.c.SetDeadline(time.Now().Add(2 * time.Second))
	return q.c.Execute(genetlink.Message{Header: genetlink.Header{Command: cmd, Version: q.version}, Data: b}, q.family, flags)
}

// station returns the AP the interface is associated with; ok is false
// when it is associated with none (or the interface is gone).
func (q *querier) station(ifindex int) (Station, bool, error) {
	msgs, err := q.request(uint8(cmdGetStation), ifindex, netlink.Request|netlink.Dump)
	if err != nil {
		if errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ENOENT) {
			return Station{}, false, nil
		}
		return Station{}, false, fmt.Errorf("nl80211 GET_STATION: %w", err)
	}
	for _, m := range msgs {
		s, idx, err := ParseStation(m.Data)
		if err != nil {
			return Station{}, false, fmt.Errorf("nl80211 GET_STATION: %w", err)
		}
		if s.BSSID != nil && (idx == 0 || idx == ifindex) {
			return s, true, nil
		}
	}
	return Station{}, false, nil
}

// ssid returns the SSID the interface is connected to ("" if unknown).
func (q *querier) ssid(ifindex int) string {
	if ifindex <= 0 {
		return ""
	}
	msgs, err := q.request(unix.NL80211_CMD_GET_INTERFACE, ifindex, netlink.Request)
	if err != nil {
		return ""
	}
	for _, m := range msgs {
		ad, err := netlink.NewAttributeDecoder(m.Data)
		if err != nil {
			return ""
		}
		for ad.Next() {
			if ad.Type() == unix.NL80211_ATTR_SSID {
				if b := ad.Bytes(); len(b) <= 32 {
					return string(b)
				}
			}
		}
	}
	return ""
}

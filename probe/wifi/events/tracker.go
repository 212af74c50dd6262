package events

import (
	"slices"
	"time"
)

// Tracker turns the nl80211 messages and station samples of one interface
// into Events. It holds no socket and reads no clock: every call passes the
// time, so tests drive it with fake times. It is not safe for concurrent
// use (the Listener calls it from one goroutine).
type Tracker struct {
	cfg Config

	connected  bool
	authorized bool
	bssid      string
	ssid       string
	since      time.Time // when connected

	// When the AP was last heard (unicast activity or a beacon), from the
	// station samples of the current association.
	lastHeard  time.Time
	lastSample time.Time
	beacons    uint64
	haveBeacon bool

	// The last deauthentication or disassociation frame event.
	frame   string
	frameAt time.Time

	// pending is a local departure from a usable link that may still turn
	// out to be the first half of a roam.
	pending *departure
	// roaming is set between the connect to a new BSS and the moment the
	// link is usable, when that makes a roam.
	roaming *departure
	driver  bool
}

type departure struct {
	ev    Event // the Left event
	start time.Time
	quiet bool
}

// NewTracker returns a Tracker for cfg (defaults applied).
func NewTracker(cfg Config) *Tracker {
	return &Tracker{cfg: cfg.withDefaults()}
}

// Connected reports whether the interface is associated, and whether the
// link is usable (authorized).
func (t *Tracker) Connected() (associated, usable bool) { return t.connected, t.authorized }

// wantsFastSamples reports whether the station should be sampled quickly:
// connected but not yet authorized, for at most authorizeWait.
func (t *Tracker) wantsFastSamples(now time.Time) bool {
	return t.connected && !t.authorized && now.Sub(t.since) < authorizeWait
}

// counts reports whether ssid is one of the configured networks.
func (t *Tracker) counts(ssid string) bool {
	return len(t.cfg.SSIDs) == 0 || slices.Contains(t.cfg.SSIDs, ssid)
}

// Message handles one parsed MLME message of the followed interface.
func (t *Tracker) Message(now time.Time, m Message) []Event {
	switch m.Command {
	case CmdDeauthenticate, CmdUnprotDeauth:
		t.frame, t.frameAt = "deauthentication", now
	case CmdDisassociate, CmdUnprotDisassoc:
		t.frame, t.frameAt = "disassociation", now
	case CmdConnect:
		if (m.HasStatus && m.Status != 0) || m.TimedOut {
			return nil // a failed attempt: the outage, if any, goes on
		}
		return t.connect(now, m, false)
	case CmdRoam:
		return t.connect(now, m, true)
	case CmdDisconnect:
		return t.disconnect(now, m)
	case CmdPortAuthorized:
		if t.connected && (m.BSSID == nil || m.BSSID.String() == t.bssid) {
			return t.usable(now)
		}
	}
	return nil
}

// connect handles a successful connect, or a roam the driver made.
func (t *Tracker) connect(now time.Time, m Message, driverRoam bool) []Event {
	var out []Event
	bssid := ""
	if m.BSSID != nil {
		bssid = m.BSSID.String()
	}
	ssid := m.SSID
	if ssid == "" && driverRoam {
		ssid = t.ssid // a driver roam stays in its ESS
	}
	if driverRoam && t.connected && t.authorized && bssid != t.bssid {
		// The driver left the old BSS without a disconnect event.
		start, quiet := t.roamStart(now)
		t.roaming = &departure{ev: Event{Type: Left, Time: now, Interface: t.cfg.Interface, BSSID: t.bssid, SSID: t.ssid},
			start: start, quiet: quiet}
	}
	if p := t.pending; p != nil {
		t.pending = nil
		if bssid != p.ev.BSSID && ssid == p.ev.SSID && now.Sub(p.ev.Time) <= t.cfg.RoamWindow {
			t.roaming = p
		} else {
			out = append(out, t.disconnectEvent(p.ev)) // reconnected to the same BSS, or another network
		}
	}
	t.connected, t.authorized, t.driver = true, false, driverRoam
	t.bssid, t.ssid, t.since = bssid, ssid, now
	t.lastHeard, t.lastSample, t.haveBeacon = time.Time{}, time.Time{}, false
	out = append(out, Event{Type: Connected, Time: now, Interface: t.cfg.Interface, BSSID: bssid, SSID: ssid, Driver: driverRoam})
	if m.Authorized {
		out = append(out, t.usable(now)...)
	}
	return out
}

// usable handles the moment the link carries traffic.
func (t *Tracker) usable(now time.Time) []Event {
	if t.authorized {
		return nil
	}
	t.authorized = true
	out := []Event{{Type: Usable, Time: now, Interface: t.cfg.Interface, BSSID: t.bssid, SSID: t.ssid}}
	if r := t.roaming; r != nil {
		t.roaming = nil
		out = append(out, Event{Type: Roam, Time: now, Interface: t.cfg.Interface, BSSID: t.bssid, SSID: t.ssid,
			From: r.ev.BSSID, Start: r.start, Quiet: r.quiet, Duration: now.Sub(r.start), Driver: t.driver})
	}
	return out
}

// roamStart returns when a roam leaving now began: when the AP was last
// heard if it had been silent for longer than QuietAfter, else now.
func (t *Tracker) roamStart(now time.Time) (time.Time, bool) {
	if !t.lastHeard.IsZero() && now.Sub(t.lastHeard) > t.cfg.QuietAfter {
		return t.lastHeard, true
	}
	return now, false
}

// disconnect handles the end of an association.
func (t *Tracker) disconnect(now time.Time, m Message) []Event {
	if !t.connected {
		return nil
	}
	left := Event{Type: Left, Time: now, Interface: t.cfg.Interface, BSSID: t.bssid, SSID: t.ssid,
		Reason: m.Reason, HasReason: m.HasReason, ByAP: m.ByAP}
	if m.HasReason {
		left.ReasonName = ReasonName(m.Reason)
	}
	if t.frame != "" && now.Sub(t.frameAt) <= frameWindow {
		left.Frame = t.frame
	}
	t.frame = ""
	if t.cfg.Planned != nil && t.cfg.Planned.Covers(t.cfg.Interface, now) {
		left.Planned = true
	}
	wasUsable := t.authorized
	start, quiet := t.roamStart(now)
	t.connected, t.authorized = false, false
	out := []Event{left}
	if r := t.roaming; r != nil {
		// A roam that never became usable: the original departure was a
		// disconnect after all.
		t.roaming = nil
		out = append(out, t.disconnectEvent(r.ev))
	}
	switch {
	case !wasUsable || !t.counts(left.SSID):
		// A failed connection attempt, or a network that does not count:
		// not the loss of a working link.
	case left.ByAP || left.Planned:
		out = append(out, t.disconnectEvent(left))
	default:
		t.pending = &departure{ev: left, start: start, quiet: quiet}
	}
	return out
}

// disconnectEvent turns a Left event into the Disconnect it proved to be.
func (t *Tracker) disconnectEvent(left Event) Event {
	left.Type = Disconnect
	return left
}

// Operstate handles a change of the interface's operational state
// (RTM_NEWLINK): the supplicant sets it up once the port is authorized, the
// moment the link becomes usable.
func (t *Tracker) Operstate(now time.Time, l Link) []Event {
	if t.connected && l.HasOperstate && l.Operstate == OperUp {
		return t.usable(now)
	}
	return nil
}

// Sample handles one station reading of the followed interface.
func (t *Tracker) Sample(now time.Time, s Station) []Event {
	if !t.connected || s.BSSID == nil || s.BSSID.String() != t.bssid {
		return nil
	}
	if s.HasInactive {
		if heard := now.Add(-s.Inactive); heard.After(t.lastHeard) {
			t.lastHeard = heard
		}
	}
	if s.HasBeaconRx {
		if t.haveBeacon && s.BeaconRx != t.beacons && !t.lastSample.IsZero() && t.lastSample.After(t.lastHeard) {
			// A beacon arrived since the last sample: the AP was heard at
			// least as late as that sample.
			t.lastHeard = t.lastSample
		}
		t.beacons, t.haveBeacon = s.BeaconRx, true
	}
	t.lastSample = now
	if s.HasAuthorized && s.Authorized {
		return t.usable(now)
	}
	return nil
}

// Sync sets the state from a station sample without events: at start, or
// when a sample shows an association the tracker missed (events lost). A
// nil BSSID means not associated.
func (t *Tracker) Sync(now time.Time, s Station, ssid string) {
	if s.BSSID == nil {
		t.connected, t.authorized = false, false
		return
	}
	if t.connected && s.BSSID.String() == t.bssid {
		return
	}
	t.connected, t.bssid, t.ssid, t.since = true, s.BSSID.String(), ssid, now
	t.authorized = s.HasAuthorized && s.Authorized
	t.lastHeard, t.lastSample, t.haveBeacon = time.Time{}, time.Time{}, false
	t.pending, t.roaming = nil, nil
}

// Tick resolves what time decides: a local departure with no roam within
// RoamWindow is a disconnect, and so is a roam whose new link did not
// become usable within RoamWindow of leaving.
func (t *Tracker) Tick(now time.Time) []Event {
	var out []Event
	if p := t.pending; p != nil && now.Sub(p.ev.Time) > t.cfg.RoamWindow {
		t.pending = nil
		out = append(out, t.disconnectEvent(p.ev))
	}
	if r := t.roaming; r != nil && now.Sub(r.ev.Time) > t.cfg.RoamWindow {
		t.roaming = nil
		out = append(out, t.disconnectEvent(r.ev))
	}
	return out
}

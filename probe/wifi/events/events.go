// Package events follows the association of a Wi-Fi station interface from
// the kernel's nl80211 multicast events (the "mlme" group: connect,
// disconnect, deauthenticate, disassociate, roam, port authorized), as they
// happen rather than at poll times. It reports disconnects within
// milliseconds with their IEEE 802.11 reason code, and measures roams:
// from the moment the old AP stopped carrying traffic (or the station left
// it) to the moment the link with the new AP is usable (keys installed and
// the port authorized).
//
// mdlayher/wifi does not expose nl80211 events, so the Listener speaks
// generic netlink through mdlayher/genetlink itself. The parsing
// (ParseMessage, ParseStation) and the logic (Tracker) are separate from
// the socket so that they are tested with plain bytes and fake times.
//
// # What a roam is here
//
// With mac80211 drivers the supplicant is the SME: a roam is a local
// disconnect from the old BSS followed by authentication and association
// with the new one. With drivers that roam by themselves (full-MAC) the
// kernel sends NL80211_CMD_ROAM. Both are roams when the new BSS belongs to
// the same SSID and the new link is usable within Config.RoamWindow of
// leaving the old one. A disconnect the AP sent (deauthentication or
// disassociation frame) is always a disconnect, even when the station
// reassociates elsewhere at once: the AP dropped it.
//
// A roam starts when the station left the old AP, or earlier, when the old
// AP had already stopped carrying traffic: the Listener samples the station
// (NL80211_CMD_GET_STATION) every Config.SampleInterval while associated
// and notes when the AP was last heard, from the inactive time (the last
// unicast frame from the AP or acknowledgement of one of the station's) and
// the beacon count. If the AP had been silent for more than
// Config.QuietAfter when the station left, the roam starts at the last
// moment it was heard. The start is exact to the station's own traffic
// interval when it has traffic; without traffic it is within one sample
// interval (100 ms) from the beacons.
//
// A roam ends when the new link is usable, whichever is seen first:
// NL80211_CMD_PORT_AUTHORIZED (or NL80211_ATTR_PORT_AUTHORIZED on the
// connect or roam event) where the driver does the 4-way handshake; the
// interface's operational state turning up (rtnetlink RTM_NEWLINK,
// IF_OPER_UP), which wpa_supplicant sets from dormant once the 4-way
// handshake is done and the port authorized; or the first station sample
// that shows NL80211_STA_FLAG_AUTHORIZED (after a connect the station is
// sampled every 10 ms until it is authorized, for at most 3 s). Linux 6.1's
// mac80211 sends no PORT_AUTHORIZED event: the supplicant authorizes the
// port itself.
//
// References for judging roam times: Juniper Mist counts a fast (802.11r)
// roam over 400 ms or a standard roam over 2 s as slow; Aruba's voice
// guidance asks for roams within 150-200 ms.
package events

import (
	"time"
)

// Defaults of Config.
const (
	DefaultRoamWindow     = 5 * time.Second
	DefaultQuietAfter     = 300 * time.Millisecond
	DefaultSampleInterval = 100 * time.Millisecond
	// authorizePoll is how often a station is sampled between a connect and
	// the moment it is authorized, for at most authorizeWait.
	authorizePoll = 10 * time.Millisecond
	authorizeWait = 3 * time.Second
	// frameWindow pairs a deauthentication or disassociation event with the
	// disconnect that follows it.
	frameWindow = time.Second
)

// Planned tells whether an outage of an interface at a moment was planned
// (a connect test reconnecting the main link). *connect.Planned satisfies it.
type Planned interface {
	Covers(iface string, t time.Time) bool
}

// Config is what the Listener and Tracker need.
type Config struct {
	// Interface is the station interface followed (wifi.interface). Events
	// of other interfaces, a connect test's adapter among them, are ignored.
	Interface string
	// SSIDs are the networks that count; empty means any. A move between two
	// BSSs is a roam only when both have the same SSID.
	SSIDs []string
	// RoamWindow is how long after leaving a BSS a usable link with another
	// BSS of the same SSID still makes a roam (default 5 s; Mist counts a
	// standard roam over 2 s as slow, but still a roam). After it the
	// departure is a disconnect.
	RoamWindow time.Duration
	// QuietAfter is how long the AP must have been silent before the
	// station left for the roam to start when it went silent (default
	// 300 ms, three beacon intervals of 102.4 ms).
	QuietAfter time.Duration
	// SampleInterval is how often the associated station is sampled
	// (default 100 ms).
	SampleInterval time.Duration
	// Planned, when set, marks disconnects inside planned outages.
	Planned Planned
}

func (c Config) withDefaults() Config {
	if c.RoamWindow <= 0 {
		c.RoamWindow = DefaultRoamWindow
	}
	if c.QuietAfter <= 0 {
		c.QuietAfter = DefaultQuietAfter
	}
	if c.SampleInterval <= 0 {
		c.SampleInterval = DefaultSampleInterval
	}
	return c
}

// Type is the kind of an Event.
type Type string

// Event types.
const (
	// Connected: associated with a BSS (the link may not carry traffic yet).
	Connected Type = "connected"
	// Usable: keys installed and port authorized, the link carries traffic.
	Usable Type = "usable"
	// Left: the association ended. Sent at once; whether it was a
	// disconnect or the first half of a roam is decided later.
	Left Type = "left"
	// Disconnect: a usable link was lost and it was not a roam. Sent at once
	// when the AP sent the frame, otherwise when RoamWindow has passed with
	// no roam (Time is still the moment the link was lost).
	Disconnect Type = "disconnect"
	// Roam: a move to another BSS of the same SSID, with its duration. Sent
	// when the new link is usable.
	Roam Type = "roam"
)

// Event is one thing that happened to the followed interface.
type Event struct {
	Type Type
	// Time is when it happened: the arrival of the kernel's message, or
	// the station sample that showed it.
	Time      time.Time
	Interface string
	// BSSID and SSID are the BSS connected to (Connected, Usable, Roam) or
	// left (Left, Disconnect).
	BSSID string
	SSID  string

	// Reason is the IEEE 802.11 reason code of Left and Disconnect, named
	// by ReasonName.
	Reason     uint16
	HasReason  bool
	ReasonName string
	// ByAP says the AP sent the deauthentication or disassociation;
	// otherwise the station (its supplicant or kernel) ended the link.
	ByAP bool
	// Frame is "deauthentication" or "disassociation" when the kernel
	// reported the frame that ended the link.
	Frame string
	// Planned is set when the link went down inside a planned outage (a
	// connect test on this interface): not a disconnect to count.
	Planned bool

	// From is the BSSID the station roamed from (Roam).
	From string
	// Start is when the roam began: when the old AP stopped carrying
	// traffic (Quiet) or when the station left it.
	Start time.Time
	Quiet bool
	// Duration is from Start to the new link being usable (Roam).
	Duration time.Duration
	// Driver is set for a roam the driver made (NL80211_CMD_ROAM).
	Driver bool
}

// Packet is one probe packet sent on the followed interface (an ICMP echo
// request of a target bound to it): when it was sent, and whether it was
// lost (no reply within its own timeout).
type Packet struct {
	Sent time.Time
	Lost bool
}

// LostDuring counts the packets sent during a roam, from its Start to the
// moment the new link was usable (Time), and how many of them were lost:
// the packets the roam cost. Call it once every packet sent before Time
// has had its timeout (Time plus the ICMP timeout), so that a late loss is
// counted too. For other event types it returns zeros.
func (e Event) LostDuring(pkts []Packet) (sent, lost int) {
	if e.Type != Roam {
		return 0, 0
	}
	for _, p := range pkts {
		if p.Sent.Before(e.Start) || p.Sent.After(e.Time) {
			continue
		}
		sent++
		if p.Lost {
			lost++
		}
	}
	return sent, lost
}

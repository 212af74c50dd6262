package events

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// step is one input to the tracker at a time offset (ms from t0).
type step struct {
	at   int
	msg  *Message
	st   *Station
	link *Link
	// tick only
}

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

func connect(at int, bssid net.HardwareAddr, ssid string) step {
	return step{at: at, msg: &Message{Command: CmdConnect, BSSID: bssid, SSID: ssid, HasStatus: true}}
}

func disconnect(at int, reason uint16, byAP bool) step {
	return step{at: at, msg: &Message{Command: CmdDisconnect, Reason: reason, HasReason: true, ByAP: byAP}}
}

func deauth(at int, reason uint16) step {
	return step{at: at, msg: &Message{Command: CmdDeauthenticate, Reason: reason, HasReason: true, BSSID: apA}}
}

func sample(at int, bssid net.HardwareAddr, inactiveMS int, beacons uint64, authorized bool) step {
	return step{at: at, st: &Station{BSSID: bssid, Inactive: time.Duration(inactiveMS) * time.Millisecond, HasInactive: inactiveMS >= 0,
		BeaconRx: beacons, HasBeaconRx: true, Authorized: authorized, HasAuthorized: true}}
}

func tick(at int) step { return step{at: at} }

// brief renders an event for comparison.
func brief(e Event) string {
	switch e.Type {
	case Roam:
		return fmt.Sprintf("roam %s->%s %dms quiet=%v start=%d", e.From, e.BSSID, e.Duration.Milliseconds(), e.Quiet, e.Start.Sub(t0).Milliseconds())
	case Left, Disconnect:
		s := fmt.Sprintf("%s %s@%d %s byAP=%v", e.Type, e.BSSID, e.Time.Sub(t0).Milliseconds(), e.ReasonName, e.ByAP)
		if e.Frame != "" {
			s += " " + e.Frame
		}
		if e.Planned {
			s += " planned"
		}
		return s
	}
	return fmt.Sprintf("%s %s@%d", e.Type, e.BSSID, e.Time.Sub(t0).Milliseconds())
}

type planned struct{ from, to int }

func (p planned) Covers(iface string, t time.Time) bool {
	return iface == "wlan0" && !t.Before(ms(p.from)) && !t.After(ms(p.to))
}

// usableOnA is a usable association with AP A, the AP heard at t=0.
func usableOnA() []step {
	return []step{connect(-1000, apA, "CLINICAL"), sample(-990, apA, 0, 10, true), sample(0, apA, 0, 20, true)}
}

func TestTracker(t *testing.T) {
	A, B := apA.String(), apB.String()
	tests := []struct {
		name    string
		cfg     Config
		steps   []step
		want    []string
		wantNot string
	}{{
		name: "a roam the station makes from a working AP starts when it leaves",
		steps: append(usableOnA(),
			sample(100, apA, 10, 21, true),
			deauth(200, 1), disconnect(200, 1, false),
			connect(230, apB, "CLINICAL"), sample(235, apB, 0, 0, false), sample(260, apB, 0, 0, true),
			tick(20000)),
		want: []string{"left " + A + "@200 unspecified_reason byAP=false deauthentication", "connected " + B + "@230",
			"usable " + B + "@260", "roam " + A + "->" + B + " 60ms quiet=false start=200"},
		wantNot: "disconnect",
	}, {
		name: "a roam after the AP fell silent starts when it was last heard",
		steps: append(usableOnA(),
			sample(100, apA, 10, 21, true), // last unicast activity at 90 ms
			sample(200, apA, 110, 21, true), sample(300, apA, 210, 21, true), sample(400, apA, 310, 21, true),
			disconnect(600, 1, false),
			connect(620, apB, "CLINICAL"), sample(640, apB, 0, 0, true)),
		want: []string{"roam " + A + "->" + B + " 550ms quiet=true start=90"},
	}, {
		name: "without traffic the beacons tell when the AP was last heard",
		steps: append(usableOnA(),
			sample(100, apA, -1, 21, true), sample(200, apA, -1, 22, true), sample(300, apA, -1, 23, true),
			sample(400, apA, -1, 23, true), sample(500, apA, -1, 23, true),
			disconnect(900, 1, false),
			connect(910, apB, "CLINICAL"), sample(920, apB, 0, 0, true)),
		want: []string{"roam " + A + "->" + B + " 720ms quiet=true start=200"},
	}, {
		name: "the AP's deauthentication is a disconnect at once, even when the station reassociates elsewhere",
		steps: append(usableOnA(),
			deauth(100, 5), disconnect(100, 5, true),
			connect(150, apB, "CLINICAL"), sample(160, apB, 0, 0, true), tick(20000)),
		want: []string{"left " + A + "@100 no_more_stas byAP=true deauthentication",
			"disconnect " + A + "@100 no_more_stas byAP=true deauthentication", "usable " + B + "@160"},
		wantNot: "roam",
	}, {
		name:    "a local departure with no roam is a disconnect once the roam window has passed",
		steps:   append(usableOnA(), disconnect(100, 4, false), tick(4000), tick(5200)),
		want:    []string{"left " + A + "@100 reason_inactivity byAP=false", "disconnect " + A + "@100 reason_inactivity byAP=false"},
		wantNot: "roam",
	}, {
		name:    "reconnecting to the same AP is a disconnect",
		steps:   append(usableOnA(), disconnect(100, 4, false), connect(900, apA, "CLINICAL"), sample(910, apA, 0, 0, true)),
		want:    []string{"disconnect " + A + "@100 reason_inactivity byAP=false", "usable " + A + "@910"},
		wantNot: "roam",
	}, {
		name:    "moving to another SSID is a disconnect",
		steps:   append(usableOnA(), disconnect(100, 3, false), connect(300, apB, "GUEST"), sample(310, apB, 0, 0, true)),
		want:    []string{"disconnect " + A + "@100 leaving_network_deauth byAP=false"},
		wantNot: "roam",
	}, {
		name:    "a new link that never becomes usable turns the roam into a disconnect",
		steps:   append(usableOnA(), disconnect(100, 1, false), connect(150, apB, "CLINICAL"), disconnect(1200, 15, false), tick(30000)),
		want:    []string{"disconnect " + A + "@100 unspecified_reason byAP=false"},
		wantNot: "disconnect " + B,
	}, {
		name:    "a roam that never completes is a disconnect after the window",
		steps:   append(usableOnA(), disconnect(100, 1, false), connect(150, apB, "CLINICAL"), tick(5000), tick(5200)),
		want:    []string{"disconnect " + A + "@100 unspecified_reason byAP=false"},
		wantNot: "roam",
	}, {
		name:    "a planned outage is marked, and decided at once",
		cfg:     Config{Planned: planned{50, 5000}},
		steps:   append(usableOnA(), disconnect(100, 3, false), connect(300, apA, "CLINICAL")),
		want:    []string{"left " + A + "@100 leaving_network_deauth byAP=false planned", "disconnect " + A + "@100 leaving_network_deauth byAP=false planned"},
		wantNot: "roam",
	}, {
		name: "failed attempts before the first usable link are not disconnects",
		steps: []step{
			{at: 0, msg: &Message{Command: CmdConnect, HasStatus: true, Status: 17}},
			connect(100, apA, "CLINICAL"), disconnect(1100, 15, false), tick(20000)},
		want:    []string{"connected " + A + "@100", "left " + A + "@1100 4way_handshake_timeout byAP=false"},
		wantNot: "disconnect",
	}, {
		name: "the operational state turning up ends a roam",
		steps: append(usableOnA(),
			disconnect(100, 1, false), connect(120, apB, "CLINICAL"),
			step{at: 150, link: &Link{Ifindex: 7, Operstate: OperUp, HasOperstate: true}},
			sample(155, apB, 0, 0, true)),
		want: []string{"usable " + B + "@150", "roam " + A + "->" + B + " 50ms quiet=false start=100"},
	}, {
		name: "a driver roam ends when the port is authorized",
		steps: append(usableOnA(),
			step{at: 100, msg: &Message{Command: CmdRoam, BSSID: apB}},
			step{at: 130, msg: &Message{Command: CmdPortAuthorized, BSSID: apB}}),
		want: []string{"roam " + A + "->" + B + " 30ms quiet=false start=100"},
	}, {
		name: "a driver roam with the 4-way handshake offloaded is usable at once",
		steps: append(usableOnA(),
			step{at: 100, msg: &Message{Command: CmdRoam, BSSID: apB, Authorized: true}}),
		want: []string{"usable " + B + "@100", "roam " + A + "->" + B + " 0ms quiet=false start=100"},
	}, {
		name: "only the configured SSIDs count: leaving another network is no disconnect",
		cfg:  Config{SSIDs: []string{"CLINICAL"}},
		steps: []step{connect(0, apA, "GUEST"), sample(10, apA, 0, 1, true),
			disconnect(100, 3, false), tick(10000)},
		want:    []string{"left " + A + "@100 leaving_network_deauth byAP=false"},
		wantNot: "disconnect",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Interface = "wlan0"
			tr := NewTracker(cfg)
			var got []string
			for _, s := range tc.steps {
				now := ms(s.at)
				var evs []Event
				switch {
				case s.msg != nil:
					evs = tr.Message(now, *s.msg)
				case s.st != nil:
					evs = tr.Sample(now, *s.st)
				case s.link != nil:
					evs = tr.Operstate(now, *s.link)
				}
				evs = append(evs, tr.Tick(now)...)
				for _, e := range evs {
					if e.Interface != "wlan0" {
						t.Errorf("event for interface %q", e.Interface)
					}
					got = append(got, brief(e))
				}
			}
			all := strings.Join(got, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("missing %q in:\n%s", w, all)
				}
			}
			if tc.wantNot != "" && strings.Contains(all, tc.wantNot) {
				t.Errorf("unexpected %q in:\n%s", tc.wantNot, all)
			}
			if n := strings.Count(all, "disconnect "); n > 1 {
				t.Errorf("%d disconnects for one loss:\n%s", n, all)
			}
		})
	}
}

func TestTrackerSync(t *testing.T) {
	tr := NewTracker(Config{Interface: "wlan0"})
	tr.Sync(ms(0), Station{BSSID: apA, Authorized: true, HasAuthorized: true}, "CLINICAL")
	if a, u := tr.Connected(); !a || !u {
		t.Fatalf("after sync: associated %v usable %v", a, u)
	}
	// A roam from the synced association is measured.
	var got []string
	for _, e := range append(tr.Message(ms(100), Message{Command: CmdDisconnect, Reason: 1, HasReason: true}),
		tr.Message(ms(120), Message{Command: CmdConnect, BSSID: apB, SSID: "CLINICAL"})...) {
		got = append(got, brief(e))
	}
	got = append(got, brief(tr.Sample(ms(150), Station{BSSID: apB, Authorized: true, HasAuthorized: true})[1]))
	if last := got[len(got)-1]; !strings.HasPrefix(last, "roam") || !strings.Contains(last, " 50ms") {
		t.Errorf("events %q, want a 50 ms roam last", got)
	}
	tr.Sync(ms(200), Station{}, "")
	if a, _ := tr.Connected(); a {
		t.Error("still associated after a sync without a station")
	}
}

func TestLostDuring(t *testing.T) {
	roam := Event{Type: Roam, Start: ms(100), Time: ms(400)}
	var pkts []Packet
	for at := 0; at <= 600; at += 50 {
		pkts = append(pkts, Packet{Sent: ms(at), Lost: at >= 100 && at < 400})
	}
	if sent, lost := roam.LostDuring(pkts); sent != 7 || lost != 6 {
		t.Errorf("sent %d lost %d, want 7 sent (100..400 ms) and 6 lost", sent, lost)
	}
	if sent, lost := (Event{Type: Disconnect, Start: ms(100), Time: ms(400)}).LostDuring(pkts); sent != 0 || lost != 0 {
		t.Errorf("a disconnect counted %d/%d", sent, lost)
	}
}

package connect

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const ap = "02:00:00:00:00:00"

// ev is one supplicant message at a time offset in ms.
type ev struct {
	at  int
	msg string
}

// Real message sequences, as wpa_supplicant 2.10 sends them.
var (
	pskOK = []ev{
		{0, "<3>CTRL-EVENT-SCAN-STARTED "},
		{40, "<3>CTRL-EVENT-SCAN-RESULTS "},
		{41, "<3>SME: Trying to authenticate with " + ap + " (SSID='CLINICAL' freq=2412 MHz)"},
		{45, "<3>Trying to associate with " + ap + " (SSID='CLINICAL' freq=2412 MHz)"},
		{50, "<3>Associated with " + ap},
		{51, "<3>CTRL-EVENT-SUBNET-STATUS-UPDATE status=0"},
		{70, "<3>WPA: Key negotiation completed with " + ap + " [PTK=CCMP GTK=CCMP]"},
		{71, "<3>CTRL-EVENT-CONNECTED - Connection to " + ap + " completed [id=0 id_str=]"},
	}
	peapOK = []ev{
		{0, "<3>CTRL-EVENT-SCAN-STARTED "},
		{30, "<3>CTRL-EVENT-SCAN-RESULTS "},
		{31, "<3>SME: Trying to authenticate with " + ap + " (SSID='CLINICAL' freq=2412 MHz)"},
		{35, "<3>Trying to associate with " + ap + " (SSID='CLINICAL' freq=2412 MHz)"},
		{40, "<3>Associated with " + ap},
		{42, "<3>CTRL-EVENT-EAP-STARTED EAP authentication started"},
		{43, "<3>CTRL-EVENT-EAP-PROPOSED-METHOD vendor=0 method=25"},
		{44, "<3>CTRL-EVENT-EAP-METHOD EAP vendor 0 method 25 (PEAP) selected"},
		{60, "<3>CTRL-EVENT-EAP-PEER-CERT depth=0 subject='/CN=radius.lab'"},
		{140, "<3>CTRL-EVENT-EAP-SUCCESS EAP authentication completed successfully"},
		{160, "<3>WPA: Key negotiation completed with " + ap + " [PTK=CCMP GTK=CCMP]"},
		{161, "<3>CTRL-EVENT-CONNECTED - Connection to " + ap + " completed [id=0 id_str=]"},
	}
)

func play(tl *timeline, evs []ev) (bool, *failure) {
	for _, e := range evs {
		m, err := ParseMsg(e.msg)
		if err != nil {
			panic(e.msg)
		}
		if done, f := tl.observe(tms(e.at), m); done || f != nil {
			return done, f
		}
	}
	return false, nil
}

func tms(n int) time.Time { return time.Unix(1700000000, 0).Add(time.Duration(n) * time.Millisecond) }

func show(ps []PhaseTime) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%s=%dms ", p.Phase, p.Duration.Milliseconds())
	}
	return strings.TrimSpace(b.String())
}

func TestTimelinePhases(t *testing.T) {
	tests := []struct {
		name string
		eap  bool
		evs  []ev
		want string
	}{
		{"psk", false, pskOK, "scan=41ms association=50ms handshake=21ms"},
		{"peap", true, peapOK, "scan=31ms association=40ms eap=100ms handshake=21ms"},
		{"a second association restarts the later phases", false, append([]ev{
			{10, "<3>SME: Trying to authenticate with 02:00:00:00:01:00 (SSID='CLINICAL' freq=5180 MHz)"},
			{20, "<3>Associated with 02:00:00:00:01:00"},
			{30, "<3>CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:01:00 reason=15 locally_generated=1"},
		}, pskOK[2:]...), "scan=10ms association=50ms handshake=21ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tl := newTimeline(tms(0), tc.eap)
			done, f := play(tl, tc.evs)
			if !done || f != nil {
				t.Fatalf("done %v, failure %v", done, f)
			}
			if got := show(tl.phases()); got != tc.want {
				t.Errorf("phases %q, want %q", got, tc.want)
			}
			if tl.bssid != ap {
				t.Errorf("bssid %q", tl.bssid)
			}
		})
	}
}

func TestTimelineFailures(t *testing.T) {
	assoc := pskOK[:5]
	eapStart := peapOK[:8]
	tests := []struct {
		name    string
		eap     bool
		evs     []ev
		timeout bool // the failure comes from timing out
		phase   Phase
		reason  Reason
	}{
		{"SSID absent", false, []ev{
			{0, "<3>CTRL-EVENT-SCAN-STARTED "}, {30, "<3>CTRL-EVENT-SCAN-RESULTS "}, {31, "<3>CTRL-EVENT-NETWORK-NOT-FOUND "},
			{1000, "<3>CTRL-EVENT-SCAN-STARTED "}, {1030, "<3>CTRL-EVENT-SCAN-RESULTS "}, {1031, "<3>CTRL-EVENT-NETWORK-NOT-FOUND "},
		}, false, PhaseAssociation, ReasonNoAP},
		{"SSID absent, one scan before the timeout", false, []ev{{31, "<3>CTRL-EVENT-NETWORK-NOT-FOUND "}}, true, PhaseAssociation, ReasonNoAP},
		{"no scan results at all", false, []ev{{0, "<3>CTRL-EVENT-SCAN-STARTED "}}, true, PhaseAssociation, ReasonTimeout},
		{"association rejected", false, append(pskOK[:4:4],
			ev{50, "<3>CTRL-EVENT-ASSOC-REJECT bssid=" + ap + " status_code=17"}), true, PhaseAssociation, ReasonRejected},
		{"wrong password", true, append(eapStart[:8:8],
			ev{120, "<3>CTRL-EVENT-EAP-FAILURE EAP authentication failed"}), false, PhaseEAP, ReasonRejected},
		{"untrusted server", true, append(eapStart[:8:8],
			ev{60, "<3>CTRL-EVENT-EAP-TLS-CERT-ERROR reason=1 depth=0 subject='/CN=x' err='unable to get local issuer certificate'"}),
			false, PhaseEAP, ReasonCertificate},
		{"the RADIUS server is silent", true, eapStart, true, PhaseEAP, ReasonTimeout},
		{"wrong PSK", false, append(assoc[:5:5],
			ev{1100, "<3>WPA: 4-Way Handshake failed - pre-shared key may be incorrect"}), false, PhaseHandshake, ReasonWrongKey},
		{"wrong PSK, seen as the SSID disabled", false, append(assoc[:5:5],
			ev{1100, `<3>CTRL-EVENT-SSID-TEMP-DISABLED id=0 ssid="CLINICAL" auth_failures=1 duration=10 reason=WRONG_KEY`}),
			false, PhaseHandshake, ReasonWrongKey},
		{"dropped by the AP during the handshake", false, append(assoc[:5:5],
			ev{60, "<3>CTRL-EVENT-DISCONNECTED bssid=" + ap + " reason=2"}), true, PhaseHandshake, ReasonDisconnected},
		{"the supplicant quits", false, []ev{{10, "<3>CTRL-EVENT-TERMINATING "}}, false, PhaseAssociation, ReasonSupplicant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tl := newTimeline(tms(0), tc.eap)
			done, f := play(tl, tc.evs)
			if done {
				t.Fatal("connected")
			}
			if tc.timeout {
				if f != nil {
					t.Fatalf("failed before the timeout: %v", f)
				}
				f = tl.timeout()
			}
			if f == nil {
				t.Fatal("no failure")
			}
			if f.phase != tc.phase || f.reason != tc.reason {
				t.Errorf("failure %s/%s (%s), want %s/%s", f.phase, f.reason, f.detail, tc.phase, tc.reason)
			}
		})
	}
}

package connect

import (
	"fmt"
	"strings"
	"time"
)

// failure is where and why a test failed.
type failure struct {
	phase  Phase
	reason Reason
	detail string
}

func (f *failure) Error() string { return fmt.Sprintf("%s: %s: %s", f.phase, f.reason, f.detail) }

func fail(phase Phase, reason Reason, format string, args ...any) *failure {
	return &failure{phase: phase, reason: reason, detail: fmt.Sprintf(format, args...)}
}

// timeline follows the supplicant's events from the moment the network is
// enabled to CTRL-EVENT-CONNECTED and records when each phase ended. It
// reads no clock: every event comes with its arrival time.
type timeline struct {
	eap   bool
	start time.Time

	tried     time.Time // first authentication or association attempt
	assoc     time.Time // the latest "Associated with"
	eapDone   time.Time
	connected time.Time
	bssid     string

	notFound     int
	rejects      int
	rejectDetail string
	disconnects  int
	lastDisc     string
}

func newTimeline(start time.Time, eap bool) *timeline {
	return &timeline{start: start, eap: eap}
}

// observe takes one event message. It returns done when the link is up
// (CTRL-EVENT-CONNECTED), or a failure that ends the test.
func (t *timeline) observe(now time.Time, m Msg) (done bool, f *failure) {
	text := m.Text
	switch {
	case strings.HasPrefix(text, "SME: Trying to authenticate with"), strings.HasPrefix(text, "Trying to associate with"):
		if t.tried.IsZero() {
			t.tried = now
		}
	case strings.HasPrefix(text, "Associated with"):
		t.assoc, t.eapDone, t.bssid = now, time.Time{}, m.BSSID
	case m.Name == "CTRL-EVENT-NETWORK-NOT-FOUND":
		t.notFound++
		if t.notFound >= noAPScans && t.assoc.IsZero() && t.tried.IsZero() {
			return false, fail(PhaseAssociation, ReasonNoAP, "no AP of the SSID heard in %d scans", t.notFound)
		}
	case m.Name == "CTRL-EVENT-ASSOC-REJECT":
		t.rejects++
		t.rejectDetail = "association rejected with status " + m.Fields["status_code"]
	case m.Name == "CTRL-EVENT-AUTH-REJECT":
		t.rejects++
		t.rejectDetail = "802.11 authentication rejected with status " + m.Fields["status_code"]
	case m.Name == "CTRL-EVENT-EAP-SUCCESS":
		t.eapDone = now
	case m.Name == "CTRL-EVENT-EAP-FAILURE":
		return false, fail(PhaseEAP, ReasonRejected, "the authentication server refused the credentials (EAP-Failure)")
	case m.Name == "CTRL-EVENT-EAP-TLS-CERT-ERROR":
		return false, fail(PhaseEAP, ReasonCertificate, "the server certificate was not trusted: %s", sanitize(m.Fields["err"]))
	case m.Name == "CTRL-EVENT-EAP-TIMEOUT-FAILURE":
		return false, fail(PhaseEAP, ReasonTimeout, "the EAP exchange timed out")
	case strings.HasPrefix(text, "WPA: 4-Way Handshake failed"):
		return false, fail(PhaseHandshake, ReasonWrongKey, "the 4-way handshake failed: the pre-shared key may be wrong")
	case m.Name == "CTRL-EVENT-SSID-TEMP-DISABLED":
		switch m.Fields["reason"] {
		case "WRONG_KEY":
			return false, fail(PhaseHandshake, ReasonWrongKey, "the 4-way handshake failed: the pre-shared key may be wrong")
		case "AUTH_FAILED":
			if t.eap {
				return false, fail(PhaseEAP, ReasonRejected, "802.1X authentication failed")
			}
			return false, fail(PhaseHandshake, ReasonRejected, "authentication failed")
		}
	case m.Name == "CTRL-EVENT-DISCONNECTED":
		if !t.tried.IsZero() {
			t.disconnects++
			t.lastDisc = "disconnected with reason " + m.Fields["reason"]
		}
	case m.Name == "CTRL-EVENT-TERMINATING":
		return false, fail(t.phase(), ReasonSupplicant, "wpa_supplicant terminated")
	case m.Name == "CTRL-EVENT-CONNECTED":
		if t.assoc.IsZero() { // drivers without SME events: take the connect
			t.assoc, t.bssid = now, m.BSSID
		}
		if t.tried.IsZero() {
			t.tried = t.assoc
		}
		t.connected = now
		return true, nil
	}
	return false, nil
}

// phase is the phase in progress.
func (t *timeline) phase() Phase {
	switch {
	case t.assoc.IsZero():
		return PhaseAssociation
	case t.eap && t.eapDone.IsZero():
		return PhaseEAP
	case t.connected.IsZero():
		return PhaseHandshake
	}
	return PhaseDHCP
}

// timeout is the failure when time ran out before the link was up.
func (t *timeline) timeout() *failure {
	p := t.phase()
	switch {
	case p == PhaseAssociation && t.tried.IsZero() && t.notFound > 0:
		return fail(p, ReasonNoAP, "no AP of the SSID heard in %d scans", t.notFound)
	case p == PhaseAssociation && t.rejects > 0:
		return fail(p, ReasonRejected, "%s", t.rejectDetail)
	case t.disconnects > 0 && p != PhaseAssociation:
		return fail(p, ReasonDisconnected, "%s", t.lastDisc)
	}
	return fail(p, ReasonTimeout, "no progress past %s", p)
}

// phases returns the durations of the link phases that completed.
func (t *timeline) phases() []PhaseTime {
	var out []PhaseTime
	add := func(p Phase, from, to time.Time) {
		if !from.IsZero() && !to.IsZero() && !to.Before(from) {
			out = append(out, PhaseTime{p, to.Sub(from)})
		}
	}
	add(PhaseScan, t.start, t.tried)
	add(PhaseAssociation, t.start, t.assoc)
	end := t.assoc
	if t.eap {
		add(PhaseEAP, t.assoc, t.eapDone)
		end = t.eapDone
	}
	add(PhaseHandshake, end, t.connected)
	return out
}

// sanitize keeps a supplicant-provided string printable and short.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

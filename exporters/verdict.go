package exporters

import (
	"fmt"
	"time"

	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/coverage"
)

// Levels of the landing page's verdicts and badges.
const (
	levelOK      = "ok"
	levelWarn    = "warn"
	levelBad     = "bad"
	levelWaiting = "none"
)

// Loss thresholds of a packet target's badge over the last minute: up to
// lossOK is fine (one in fifty), up to lossBad usable but lossy, beyond
// that down. The voice standard's 1% loss is judged by coverage, not here.
const (
	lossOK  = 0.02
	lossBad = 0.20
)

// reasonWords says a failure reason in plain words.
func reasonWords(r probe.Reason) string {
	switch r {
	case probe.ReasonTimeout:
		return "no answer in time"
	case probe.ReasonRefused:
		return "the service refused the connection (nothing listening on that port)"
	case probe.ReasonUnreachable:
		return "no route to it (unreachable)"
	case probe.ReasonReset:
		return "the connection was cut off"
	case probe.ReasonDNS:
		return "the name could not be resolved"
	case probe.ReasonTLS:
		return "the TLS certificate was not trusted or the handshake failed"
	case probe.ReasonHTTPStatus:
		return "the server answered with an error status"
	case probe.ReasonRedirects:
		return "the server kept redirecting (a redirect loop?)"
	case probe.ReasonNoInterface:
		return "the Wi-Fi interface is missing or down"
	case probe.ReasonNoAddress:
		return "the Wi-Fi interface has no IP address"
	case probe.ReasonNoGateway:
		return "there is no default gateway"
	case probe.ReasonProtocol:
		return "the reply made no sense"
	case probe.ReasonPermission:
		return "wardprobe lacks the privilege to probe (see the log)"
	case "":
		return ""
	}
	return "failed (" + string(r) + ")"
}

// targetLevel is a target's badge: packet kinds by their loss over the last
// minute, other kinds by their last result.
func targetLevel(st TargetStatus, packetKind bool) (level, words string) {
	if !st.HaveResult {
		return levelWaiting, "waiting for the first result"
	}
	m := st.LastMinute
	if loss, ok := m.Loss(); packetKind && ok {
		switch {
		case loss > lossBad || !st.Last.Success && m.Answered == 0:
			return levelBad, fmt.Sprintf("down: %.0f%% of packets lost in the last minute", 100*loss)
		case loss > lossOK:
			return levelWarn, fmt.Sprintf("lossy: %.0f%% of packets lost in the last minute", 100*loss)
		}
		return levelOK, "up"
	}
	if !st.Last.Success {
		return levelBad, "down: " + reasonWords(st.Last.Reason)
	}
	if m.Failures > 0 {
		return levelWarn, fmt.Sprintf("up, but %d of %d probes failed in the last minute", m.Failures, m.Results)
	}
	return levelOK, "up"
}

// verdict is the page's answer to "is this spot OK?".
type verdict struct {
	Level, Words string
	// Fails lists what is wrong, in words.
	Fails []string
	// AsOf is the time of the newest data the verdict stands on.
	AsOf time.Time
}

// judge builds the verdict from the coverage and the targets.
func judge(w wifiView, targets []targetView) verdict {
	v := verdict{Level: levelOK}
	worse := func(l string) {
		rank := map[string]int{levelOK: 0, levelWaiting: 1, levelWarn: 2, levelBad: 3}
		if rank[l] > rank[v.Level] {
			v.Level = l
		}
	}
	switch {
	case !w.HaveCov:
		worse(levelWaiting)
	case w.Cov.State == coverage.Good:
	case w.Cov.State == coverage.Degraded:
		worse(levelWarn)
		v.Fails = append(v.Fails, "Wi-Fi is below the "+w.Cov.Standard+" standard: "+w.Cov.Reason)
	default:
		worse(levelBad)
		v.Fails = append(v.Fails, "Wi-Fi: "+w.CoverageWords()+": "+w.Cov.Reason)
	}
	if w.HaveCov {
		v.AsOf = w.Cov.Time
	}
	for _, t := range targets {
		worse(t.Level)
		if t.Level == levelWarn || t.Level == levelBad {
			v.Fails = append(v.Fails, fmt.Sprintf("%s (%s): %s", t.Name, t.Kind, t.Words))
		}
		if t.HaveResult && t.Last.Time.After(v.AsOf) {
			v.AsOf = t.Last.Time
		}
	}
	switch v.Level {
	case levelOK:
		v.Words = "This spot is OK"
	case levelWarn:
		v.Words = "Usable, with problems"
	case levelBad:
		v.Words = "This spot is NOT OK"
	default:
		v.Words = "Measuring…"
	}
	return v
}

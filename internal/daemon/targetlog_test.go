package daemon

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/probe"
)

// TestTargetLogDampsFlapping feeds a 1 s target losing one packet in six
// for ten minutes: a handful of lines, not hundreds; a real outage and its
// end are still logged at once (after three results).
func TestTargetLogDampsFlapping(t *testing.T) {
	var buf bytes.Buffer
	l := newTargetLog(zerolog.New(&buf).Level(zerolog.InfoLevel))
	l.setIntervals(map[string]time.Duration{"gw": time.Second})
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	res := func(i int, ok bool) probe.Result {
		r := probe.Result{Target: "gw", Kind: "icmp", Time: t0.Add(time.Duration(i) * time.Second), Success: ok}
		if !ok {
			r.Reason = probe.ReasonTimeout
		}
		return r
	}
	for i := range 600 {
		l.observe(res(i, rng.IntN(6) != 0))
	}
	lines := strings.Count(buf.String(), "\n")
	if lines > 15 || !strings.Contains(buf.String(), "target unsteady") {
		t.Errorf("17%% loss for 10 min logged %d lines:\n%s", lines, buf.String())
	}
	buf.Reset()
	for i := 600; i < 610; i++ {
		l.observe(res(i, false))
	}
	for i := 610; i < 620; i++ {
		l.observe(res(i, true))
	}
	out := buf.String()
	if !strings.Contains(out, `"message":"target down"`) || !strings.Contains(out, `"message":"target up"`) {
		t.Errorf("a 10 s outage and its end were not logged:\n%s", out)
	}
}

// TestTargetLogSlowTargetsAtOnce: a 30 s target's state changes are logged
// at the first result.
func TestTargetLogSlowTargetsAtOnce(t *testing.T) {
	var buf bytes.Buffer
	l := newTargetLog(zerolog.New(&buf).Level(zerolog.InfoLevel))
	l.setIntervals(map[string]time.Duration{"epr": 30 * time.Second})
	t0 := time.Now()
	l.observe(probe.Result{Target: "epr", Kind: "http", Time: t0, Success: true})
	l.observe(probe.Result{Target: "epr", Kind: "http", Time: t0.Add(30 * time.Second), Reason: probe.ReasonHTTPStatus})
	if n := strings.Count(buf.String(), "\n"); n != 2 || !strings.Contains(buf.String(), "target down") {
		t.Errorf("want up then down at once:\n%s", buf.String())
	}
}

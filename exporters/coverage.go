package exporters

import (
	"sort"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wardprobe/wardprobe/probe/coverage"
)

type coverageDescs struct {
	state, stateSeconds, met, metSeconds, checkMet *prometheus.Desc
}

func newCoverageDescs() coverageDescs {
	return coverageDescs{
		state:        desc("wardprobe_coverage_state", "Coverage at the probe's spot, one-hot over good, degraded (usable, fails the ward's standard), notspot (signal below the not-spot floor or no usable network) and disconnected.", "state"),
		stateSeconds: desc("wardprobe_coverage_seconds_total", "Time spent in each coverage state, in seconds.", "state"),
		met:          desc("wardprobe_standard_met", "Whether the coverage meets the minimum standard (1) or not (0), for every known standard.", "standard"),
		metSeconds:   desc("wardprobe_standard_seconds_total", "Time the coverage met (met=\"true\") or failed (met=\"false\") the standard, in seconds: compliance over a range is increase(met=\"true\") / increase(both).", "standard", "met"),
		checkMet:     desc("wardprobe_standard_check_met", "Whether one threshold of the standard is met (1) or not (0); absent when its measurement is missing (e.g. no noise data for snr).", "standard", "check"),
	}
}

// SetCoverage records the latest coverage assessment and the time totals.
func (e *Exporter) SetCoverage(a coverage.Assessment, t coverage.Totals) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.wifi.cov, e.wifi.totals, e.wifi.haveCov = a, t, true
}

// Coverage returns the latest coverage assessment; ok is false before the first.
func (e *Exporter) Coverage() (a coverage.Assessment, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.wifi.cov, e.wifi.haveCov
}

func (e *Exporter) collectCoverage(ch chan<- prometheus.Metric, gauge func(*prometheus.Desc, float64, ...string)) {
	d := e.d.wifi.cov
	a := e.wifi.cov
	state := a.State
	if !e.wifi.haveCov {
		state = coverage.Disconnected // nothing known yet: not known to be connected
	}
	for _, s := range coverage.States() {
		gauge(d.state, boolf(s == state), string(s))
	}
	if !e.wifi.haveCov {
		return
	}
	t := e.wifi.totals
	for _, s := range coverage.States() {
		e.floatCounter(ch, d.stateSeconds, t.StateSeconds[s], string(s))
	}
	for _, v := range a.Verdicts {
		gauge(d.met, boolf(v.Met), v.Standard)
		for _, c := range v.Checks {
			if c.Measured {
				gauge(d.checkMet, boolf(c.Met), v.Standard, c.Name)
			}
		}
	}
	names := make([]string, 0, len(t.StandardSeconds))
	for n := range t.StandardSeconds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, met := range []bool{true, false} {
			e.floatCounter(ch, d.metSeconds, t.StandardSeconds[n][met], n, strconv.FormatBool(met))
		}
	}
	for ssid, n := range a.VisibleAPs {
		gauge(e.d.wifi.visible, float64(n), ssid)
	}
}

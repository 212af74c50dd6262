package alertlab

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/dashboards"
	"github.com/wardprobe/wardprobe/dashboards/promcheck"
	"github.com/wardprobe/wardprobe/test/lab"
)

// decoy is a second value picked in multi-valued variables: no probe has
// it, and it is full of regex metacharacters.
const decoy = `Ward 7 (east) [old]. *`

// oddValue is what the odd ward's probe has in the variable name. Targets
// are left at All: the panels of every target kind must show.
func oddValue(name string) (string, bool) {
	switch name {
	case "site":
		return oddSite, true
	case "building":
		return oddBuilding, true
	case "floor":
		return oddFloor, true
	case "ward":
		return oddWard, true
	case "probe":
		return oddProbe, true
	}
	return "", false
}

// oddSelections are the variable choices every dashboard is queried with,
// by scenario: the odd ward's values (one each), All wherever a variable
// has it, and the odd value with the decoy in every multi-valued variable.
func oddSelections(d promcheck.Dashboard) map[string]map[string]promcheck.Selection {
	out := map[string]map[string]promcheck.Selection{"one value": {}, "All": {}, "with a decoy": {}}
	for _, v := range d.Variables {
		if v.Type != "query" {
			continue
		}
		val, ok := oddValue(v.Name)
		for scenario, sel := range out {
			switch {
			case !ok || scenario == "All" && v.IncludeAll:
				sel[v.Name] = promcheck.Selection{All: true}
			case scenario == "with a decoy" && v.Multi:
				sel[v.Name] = promcheck.Selection{Values: []string{val, decoy}}
			default:
				sel[v.Name] = promcheck.Selection{Values: []string{val}}
			}
		}
	}
	return out
}

// exclusion is a dashboard query allowed to return nothing in this lab,
// with the reason proved: absent must return nothing either (else the
// exclusion is wrong), and the query must still run without error.
type exclusion struct {
	file, panel, ref string
	absent           string // PromQL that must find nothing for the odd probe
	why              string
}

// wifiOnly is why the Wi-Fi link panels are empty here: the lab's kernel has
// no Wi-Fi stack (the probes' "Wi-Fi" interface is a veth), so no probe has
// link, signal, noise, bit rate, neighbour or scan series. The Wi-Fi lab
// (test/wifilab, mac80211_hwsim under qemu) produces them.
const wifiOnly = "needs an associated Wi-Fi link; this lab's kernel has no Wi-Fi stack (test/wifilab has one)"

// Why the panels on joining the Wi-Fi, roams and disconnect reasons are
// empty here: they need a Wi-Fi stack too. No probe in this lab has a
// connect test (wifi.connect_test needs a Wi-Fi adapter and wpa_supplicant),
// a roam or a disconnect seen in nl80211 events; the Wi-Fi lab has all three.
const (
	connectOnly    = "needs connect tests (wifi.connect_test), which need a Wi-Fi adapter; " + wifiOnly
	roamOnly       = "needs a roam timed from nl80211 events (the recorded roam-time quantiles are absent while the histogram holds no roam); " + wifiOnly
	disconnectOnly = "needs a disconnect seen in nl80211 events; " + wifiOnly
)

// exclusions are the queries a probe without a Wi-Fi link legitimately
// leaves empty. Each names the series it needs.
func exclusions() []exclusion {
	wifi := func(file, panel, ref, metric string) exclusion {
		return exclusion{file, panel, ref, metric, wifiOnly} // no probe here has any
	}
	// No probe here runs connect tests, so none has their series at all.
	connect := func(file, panel string, refs ...string) []exclusion {
		var out []exclusion
		for _, ref := range refs {
			out = append(out, exclusion{file, panel, ref, "wardprobe_wifi_connect_tests_total", connectOnly})
		}
		return out
	}
	// Every probe exports the roam histogram, empty: no roam in it. (The
	// panels counting roams show 0 and need no exclusion.)
	roam := func(file, panel string, refs ...string) []exclusion {
		var out []exclusion
		for _, ref := range refs {
			out = append(out, exclusion{file, panel, ref, "wardprobe_wifi_roam_duration_seconds_count > 0", roamOnly})
		}
		return out
	}
	notSpot := func(file, panel, ref string) exclusion {
		return exclusion{file, panel, ref,
			fmt.Sprintf(`max_over_time(wardprobe_coverage_state{probe=%q, state="notspot"}[1h]) > 0`, oddProbe),
			"lists probes with not-spot time; a not-spot needs an association (" + wifiOnly + ")"}
	}
	var out []exclusion
	for _, x := range []struct{ panel, ref, metric string }{
		{"Signal", "A", "wardprobe_wifi_signal_dbm"},
		{"Signal", "B", "wardprobe_wifi_signal_average_dbm"},
		{"Signal-to-noise ratio", "A", "wardprobe_wifi_snr_db"},
		{"Noise", "A", "wardprobe_wifi_noise_dbm"},
		{"Channel busy", "A", "wardprobe_wifi_channel_busy_ratio"},
		{"Neighbouring APs", "A", "wardprobe_wifi_neighbor_signal_dbm"},
		{"Visible APs per SSID", "A", "wardprobe_wifi_visible_aps"},
		{"Bit rate", "A", "wardprobe_wifi_transmit_bitrate_bits_per_second"},
		{"Bit rate", "B", "wardprobe_wifi_receive_bitrate_bits_per_second"},
		{"Current link", "A", "wardprobe_wifi_link_info"},
		{"Current link", "B", "wardprobe_wifi_frequency_hertz"},
	} {
		out = append(out, wifi("ward-detail.json", x.panel, x.ref, x.metric))
	}
	for _, f := range []string{"floor-plan.json", "floor-plan.json (synced)"} {
		out = append(out,
			wifi(f, "Probe positions", "C", "wardprobe_wifi_signal_dbm"),
			wifi(f, "Probes on this floor", "C", "wardprobe_wifi_signal_dbm"))
	}
	for _, f := range []dashboards.Floor{{Site: site, Building: building, Floor: floor}, {Site: oddSite, Building: oddBuilding, Floor: oddFloor}} {
		out = append(out, wifi("floor-plan.json (synced)", "Floor plan: "+f.Title(), "B", "wardprobe_wifi_signal_dbm"))
	}
	for _, ref := range []string{"A", "B", "C"} {
		out = append(out, notSpot("compliance.json", "Not-spots", ref))
	}
	const ward, estate, comp = "ward-detail.json", "estate-coverage.json", "compliance.json"
	const perWard = "Joining the Wi-Fi and roaming, per ward (slowest to join first)"
	for _, x := range [][]exclusion{
		connect(ward, "Time to connect (p50, p95)", "A", "B"),
		connect(ward, "Where the time to connect goes (mean per phase)", "A"),
		connect(ward, "Time to connect per phase (p50, p95 over the range)", "A", "B", "C"),
		connect(ward, "Connect tests and failures by phase and reason", "A", "B"),
		connect(ward, "Last connect test", "A"),
		connect(ward, "Last successful connect test", "A"),
		connect(ward, "Connect failures over the range by phase and reason", "A"),
		connect(estate, "Connect tests failed", "A"),
		connect(estate, "Slowest wards to join the Wi-Fi (connect p95 over the range)", "A", "B"),
		connect(comp, perWard, "A", "B", "C", "D"),
		roam(ward, "Roam time (p50, p95)", "A", "B"),
	} {
		out = append(out, x...)
	}
	for _, panel := range []string{"Disconnects by reason", "Disconnect reasons over the range"} {
		out = append(out, exclusion{ward, panel, "A", "wardprobe_wifi_disconnect_reasons_total", disconnectOnly})
	}
	return out
}

// checkDashboards runs checkDashboard on every checked-in dashboard, after a
// control: the form the dashboards had, label="$var", filled as Grafana's
// Prometheus data source does, finds nothing for the odd probe (a value with
// an apostrophe parses and matches nothing; one with a " does not even
// parse), where the form they use finds it.
func checkDashboards(t *testing.T, api promAPI) {
	t.Helper()
	for label, value := range map[string]string{"spot": oddSpot, "ward": oddWard} {
		old := fmt.Sprintf(`wardprobe_probe_info{%s="%s"}`, label, promcheck.DataSourceEscape(value))
		if n, err := api.series(old); err == nil && n > 0 {
			t.Errorf("control: %s found %d series; the old matcher was thought broken", old, n)
		}
		now, err := promcheck.Interpolate(fmt.Sprintf("wardprobe_probe_info{%s=~`${v:regex}`}", label), map[string]promcheck.Value{"v": {Values: []string{value}}})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := api.series(now); err != nil || n != 1 {
			t.Errorf("%s: %d series, %v; want the odd probe", now, n, err)
		}
	}
	root, err := lab.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "dashboards", dashboards.JSONDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkDashboard(t, api, filepath.Base(f), b)
	}
}

// checkDashboard queries the real Prometheus as Grafana would for the odd
// ward: each variable's label_values() query (its values must include the
// odd ward's), then every panel query, the variables substituted in
// Grafana's regex format, in each scenario of oddSelections. Every query must
// run and return data, unless an exclusion (whose reason is checked) says
// otherwise.
func checkDashboard(t *testing.T, api promAPI, name string, b []byte) {
	t.Helper()
	d, err := promcheck.ReadDashboard(b)
	if err != nil {
		t.Fatal(err)
	}
	excused := map[string]exclusion{}
	for _, x := range exclusions() {
		if x.file == name {
			excused[x.panel+"/"+x.ref] = x
		}
	}
	used := map[string]bool{}
	total, empty := 0, 0
	now := time.Now()
	for _, scenario := range []string{"one value", "All", "with a decoy"} {
		sel := oddSelections(d)[scenario]
		vals, err := d.Values(sel)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkVariables(t, api, name, scenario, d, vals, now)
		for _, q := range d.Queries {
			v := vals
			if q.Repeat != "" {
				// A repeated row draws a copy per value; the odd ward's here.
				val, _ := oddValue(q.Repeat)
				v = promcheck.Scoped(vals, q.Repeat, val)
			}
			expr, err := promcheck.Interpolate(q.Expr, v)
			if err != nil {
				t.Errorf("%s %s (%s): %v", name, q.Where(), scenario, err)
				continue
			}
			total++
			n, err := runQuery(api, expr, q.Instant, now)
			switch {
			case err != nil:
				t.Errorf("%s %s (%s): %v\n  query: %s", name, q.Where(), scenario, err, expr)
			case n > 0:
				if _, ok := excused[q.Panel+"/"+q.RefID]; ok {
					t.Errorf("%s %s (%s): excluded as needing what this lab lacks, yet returns data: drop the exclusion", name, q.Where(), scenario)
				}
			default:
				empty++
				x, ok := excused[q.Panel+"/"+q.RefID]
				if !ok {
					t.Errorf("%s %s (%s): no data\n  query: %s", name, q.Where(), scenario, expr)
					continue
				}
				used[q.Panel+"/"+q.RefID] = true
				if m, err := api.series(x.absent); err != nil || m != 0 {
					t.Errorf("%s %s: excluded because %s, but %s finds %d series (%v)", name, q.Where(), x.why, x.absent, m, err)
				}
			}
		}
	}
	for k := range excused {
		if !used[k] {
			t.Errorf("%s: exclusion of %s matches no query that came back empty", name, k)
		}
	}
	t.Logf("%s: %d queries run for the odd ward in 3 selections, %d empty, all of them excused", name, total, empty)
}

// checkVariables asks Prometheus for each variable's values as Grafana's
// PrometheusMetricFindQuery does for label_values(selector, label):
// /api/v1/label/<label>/values with match[] and the dashboard's range; the
// odd ward's value must be among them.
func checkVariables(t *testing.T, api promAPI, name, scenario string, d promcheck.Dashboard, vals map[string]promcheck.Value, now time.Time) {
	t.Helper()
	for _, v := range d.Variables {
		if v.Type != "query" {
			continue
		}
		q, err := promcheck.Interpolate(v.Query, vals)
		if err != nil {
			t.Errorf("%s variable %s: %v", name, v.Name, err)
			continue
		}
		sel, label, ok := promcheck.VariableQuery(q)
		if !ok {
			t.Errorf("%s variable %s: %q is not label_values(selector, label)", name, v.Name, q)
			continue
		}
		var got []string
		err = api.get("/api/v1/label/"+label+"/values", url.Values{"match[]": {sel},
			"start": {epoch(now.Add(-time.Hour))}, "end": {epoch(now)}}, &got)
		want, isLoc := oddValue(v.Name)
		if !isLoc {
			want = "gateway" // the target variable
		}
		if err != nil || !slices.Contains(got, want) {
			t.Errorf("%s variable %s (%s): values %q (%v), want %q among them\n  match[]: %s", name, v.Name, scenario, got, err, want, sel)
		}
	}
}

func epoch(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) }

// runQuery runs expr as an instant query at now, or as a range query over
// the last two minutes, and returns how many series have data.
func runQuery(api promAPI, expr string, instant bool, now time.Time) (int, error) {
	var res struct {
		Result []struct {
			Values []json.RawMessage `json:"values"`
			Value  json.RawMessage   `json:"value"`
		} `json:"result"`
	}
	var err error
	if instant {
		err = api.get("/api/v1/query", url.Values{"query": {expr}, "time": {epoch(now)}}, &res)
	} else {
		err = api.get("/api/v1/query_range", url.Values{"query": {expr}, "start": {epoch(now.Add(-2 * time.Minute))},
			"end": {epoch(now)}, "step": {"5"}}, &res)
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range res.Result {
		if len(r.Values) > 0 || len(r.Value) > 0 {
			n++
		}
	}
	return n, nil
}

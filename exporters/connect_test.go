package exporters

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/probe/wifi/connect"
	"github.com/wardprobe/wardprobe/probe/wifi/events"
)

func pt(p connect.Phase, d time.Duration) connect.PhaseTime {
	return connect.PhaseTime{Phase: p, Duration: d}
}

// feedConnect gives the golden exporter a successful PEAP connect test, a
// failed one (wrong password), a roam and two disconnects, one of them in a
// planned outage.
func feedConnect(e *Exporter) {
	ms := time.Millisecond
	ok := connect.Result{Interface: "wlan1", SSID: "CLINICAL", Method: "peap", Start: t0, Time: t0.Add(1380 * ms), Success: true,
		Phases: []connect.PhaseTime{pt(connect.PhaseScan, 220*ms), pt(connect.PhaseAssociation, 340*ms), pt(connect.PhaseEAP, 580*ms),
			pt(connect.PhaseHandshake, 80*ms), pt(connect.PhaseDHCP, 140*ms), pt(connect.PhaseDNS, 210*ms), pt(connect.PhaseGateway, 30*ms),
			pt(connect.PhaseTotal, 1380*ms)}}
	bad := connect.Result{Interface: "wlan1", SSID: "CLINICAL", Method: "peap", Start: t0.Add(15 * time.Minute),
		Time: t0.Add(15*time.Minute + 900*ms), Phase: connect.PhaseEAP, Reason: connect.ReasonRejected,
		Detail: "the authentication server refused the credentials (EAP-Failure)",
		Phases: []connect.PhaseTime{pt(connect.PhaseScan, 200*ms), pt(connect.PhaseAssociation, 320*ms)}}
	e.ObserveConnect(ok)
	e.ObserveConnect(bad)
	e.ObserveWiFiEvent(events.Event{Type: events.Roam, Time: t0.Add(time.Minute), Duration: 180 * ms})
	e.ObserveWiFiEvent(events.Event{Type: events.Disconnect, Time: t0.Add(2 * time.Minute), Reason: 4, HasReason: true,
		ReasonName: events.ReasonName(4)})
	e.ObserveWiFiEvent(events.Event{Type: events.Disconnect, Time: t0.Add(3 * time.Minute), Reason: 3, HasReason: true,
		ReasonName: events.ReasonName(3), Planned: true})
	e.AddRoamLostPackets(2)
}

func TestConnectMetrics(t *testing.T) {
	s, e := goldenServer(t)
	text := scrape(t, s.Handler())
	for _, want := range []string{
		`wardprobe_wifi_connect_tests_total{building="Block B",floor="2",probe="rex-blockb-f2-ward7-1",result="success",site="Royal Example Hospital",ward="Ward 7"} 1`,
		`wardprobe_wifi_connect_failures_total{building="Block B",floor="2",phase="eap",probe="rex-blockb-f2-ward7-1",reason="rejected",site="Royal Example Hospital",ward="Ward 7"} 1`,
		`wardprobe_wifi_connect_duration_seconds_sum{building="Block B",floor="2",phase="total",probe="rex-blockb-f2-ward7-1",site="Royal Example Hospital",ward="Ward 7"} 1.38`,
		// The failed test's association counts too.
		`wardprobe_wifi_connect_duration_seconds_count{building="Block B",floor="2",phase="association",probe="rex-blockb-f2-ward7-1",site="Royal Example Hospital",ward="Ward 7"} 2`,
		`wardprobe_wifi_connect_last_success_timestamp_seconds{building="Block B",floor="2",probe="rex-blockb-f2-ward7-1",site="Royal Example Hospital",ward="Ward 7"} 1.79525160138e+09`,
		`wardprobe_wifi_connect_info{building="Block B",floor="2",interface="wlan1",method="peap",probe="rex-blockb-f2-ward7-1",site="Royal Example Hospital",ssid="CLINICAL",ward="Ward 7"} 1`,
		`wardprobe_wifi_roam_duration_seconds_sum{building="Block B",floor="2",probe="rex-blockb-f2-ward7-1",site="Royal Example Hospital",ward="Ward 7"} 0.18`,
		`wardprobe_wifi_disconnect_reasons_total{building="Block B",floor="2",probe="rex-blockb-f2-ward7-1",reason="reason_inactivity",site="Royal Example Hospital",ward="Ward 7"} 1`,
		`wardprobe_wifi_roam_lost_packets_total{building="Block B",floor="2",probe="rex-blockb-f2-ward7-1",site="Royal Example Hospital",ward="Ward 7"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(text, `reason="leaving_network_deauth"`) {
		t.Error("a disconnect in a planned outage was counted")
	}
	// Without a connect test, its series go; the main link's events stay.
	cfg := *e.Config()
	wifi := cfg.WiFi
	wifi.ConnectTest = nil
	cfg.WiFi = wifi
	e.Apply(&cfg)
	text = scrape(t, s.Handler())
	if strings.Contains(text, "wardprobe_wifi_connect_") || !strings.Contains(text, "wardprobe_wifi_roam_duration_seconds_count") {
		t.Error("connect-test series without a connect test, or roam series gone")
	}
}

func TestConnectLanding(t *testing.T) {
	s, _ := goldenServer(t)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	page := rec.Body.String()
	for _, want := range []string{"Time to connect", "failed in eap: rejected", "association 320 ms"} {
		if !strings.Contains(page, want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
}

package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/config"
)

func TestConnectTestConfig(t *testing.T) {
	const peap = "wifi:\n  connect_test:\n    interface: wlan1\n    ssid: CLINICAL\n" +
		"    eap: {method: peap, identity: probe-ward7, password_file: /etc/wardprobe/eap.pass, ca_file: /etc/wardprobe/ca.pem}\n"
	tests := []struct {
		name  string
		yaml  string
		want  []string // errors; none: valid
		check func(t *testing.T, ct *config.ConnectTest)
	}{
		{"psk with defaults", "wifi:\n  connect_test: {interface: wlan1, ssid: CLINICAL, psk_file: /etc/wardprobe/psk}\n", nil,
			func(t *testing.T, ct *config.ConnectTest) {
				if ct.Interval.D() != 15*time.Minute || ct.Timeout.D() != 30*time.Second || ct.Query != "nhs.uk" || ct.EAP != nil {
					t.Errorf("defaults: %+v", ct)
				}
			}},
		{"peap, phase2 defaulted", peap, nil, func(t *testing.T, ct *config.ConnectTest) {
			if ct.EAP.Phase2 != "mschapv2" || string(ct.EAP.PasswordFile) != "/etc/wardprobe/eap.pass" {
				t.Errorf("%+v", ct.EAP)
			}
		}},
		{"tls", "wifi:\n  connect_test:\n    interface: wlan1\n    ssid: CLINICAL\n    frequencies: [2412, 5180]\n" +
			"    eap: {method: tls, identity: p, ca_file: /ca.pem, client_cert_file: /c.pem, client_key_file: /k.pem}\n", nil, nil},
		{"a password in the config", "wifi:\n  connect_test:\n    interface: wlan1\n    ssid: CLINICAL\n    psk: ward-seven\n",
			[]string{`f.yml:2: wifi.connect_test: needs psk_file (WPA2-Personal) or eap (802.1X)`,
				`f.yml:5: wifi.connect_test.psk: unknown key (did you mean "psk_file"?)`}, nil},
		{"an inline EAP password", strings.Replace(peap, "password_file: /etc/wardprobe/eap.pass", "password: hunter22", 1),
			[]string{`f.yml:5: wifi.connect_test.eap.password: unknown key (did you mean "password_file"?)`,
				`f.yml:5: wifi.connect_test.eap.password_file: is required for peap (a file holding the password)`}, nil},
		{"typo", strings.Replace(peap, "    ssid:", "    sssid:", 1),
			[]string{`f.yml:2: wifi.connect_test.ssid: is required`,
				`f.yml:4: wifi.connect_test.sssid: unknown key (did you mean "ssid"?)`}, nil},
		{"both", strings.Replace(peap, "    ssid: CLINICAL\n", "    ssid: CLINICAL\n    psk_file: /p\n", 1),
			[]string{`f.yml:6: wifi.connect_test.eap: is given with psk_file: use one of them`}, nil},
		{"bad method and no CA", "wifi:\n  connect_test:\n    interface: wlan1\n    ssid: CLINICAL\n    eap: {method: leap, identity: p}\n",
			[]string{`f.yml:5: wifi.connect_test.eap.method: "leap" is not peap, tls or ttls`,
				`f.yml:5: wifi.connect_test.eap.ca_file: is required: without the RADIUS server's CA any server would be trusted`}, nil},
		{"bounds", "wifi:\n  connect_test:\n    interface: wlan1\n    ssid: CLINICAL\n    psk_file: psk\n    interval: 30s\n    timeout: 45s\n" +
			"    query: \"not a name\"\n    frequencies: [36]\n",
			[]string{`f.yml:5: wifi.connect_test.psk_file: "psk" is not an absolute path`,
				`f.yml:6: wifi.connect_test.interval: 30s is shorter than the minimum 1m (a test takes its adapter off the air)`,
				`f.yml:7: wifi.connect_test.timeout: 45s is not shorter than the interval 30s`,
				`f.yml:8: wifi.connect_test.query: "not a name" is not a DNS name`,
				`f.yml:9: wifi.connect_test.frequencies[0]: 36 MHz is not the centre frequency of a Wi-Fi channel`}, nil},
		{"ttls with pap", strings.Replace(peap, "method: peap", "method: ttls, phase2: pap", 1), nil, nil},
		{"peap with pap", strings.Replace(peap, "method: peap", "method: peap, phase2: pap", 1),
			[]string{`f.yml:5: wifi.connect_test.eap.phase2: "pap": peap takes mschapv2`}, nil},
		{"no interface, long ssid", "wifi:\n  connect_test: {ssid: " + strings.Repeat("x", 33) + ", psk_file: /p}\n",
			[]string{`f.yml:2: wifi.connect_test.interface: is required (the adapter the test owns)`,
				`f.yml:2: wifi.connect_test.ssid: an SSID is 1 to 32 bytes`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("f.yml", []byte(tc.yaml))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if tc.check != nil {
					tc.check(t, c.WiFi.ConnectTest)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %q", tc.want)
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}

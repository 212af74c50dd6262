package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe/dns"
	"github.com/wardprobe/wardprobe/probe/http"
	"github.com/wardprobe/wardprobe/probe/icmp"
	"github.com/wardprobe/wardprobe/probe/kinds"
)

// Parse and Load parse with the real table of kinds.
var (
	Parse = kinds.Parse
	Load  = kinds.Load
)

const goodYAML = `probe:
  name: rex-blockb-f2-ward7-1
location:
  site: Royal Example Hospital
  building: Block B
  floor: "2"
  ward: Ward 7
  spot: "Bay 3, nurses' station"
  x: 0.42
  y: 0.63
standard: voice
standards:
  trust-minimum: {signal_dbm: -65, snr_db: 25, loss_ratio: 0.01, rtt_seconds: 0.1, jitter_seconds: 0.03}
wifi:
  interface: wlan0
  ssids: [CLINICAL]
targets:
  - name: gateway
    kind: icmp
    address: gateway
    interval: 1s
  - name: epr
    kind: http
    url: https://epr.example.org/health
    interval: 30s
  - name: dns-primary
    kind: dns
    server: 10.0.0.53:53
    query: epr.example.org
    interval: 30s
throughput:
  mode: onprem
  url: http://10.20.0.9:8080
  interval: 30m
push:
  url: http://prometheus.example.org:9090/api/v1/write
  interval: 15s
  queue_dir: /var/lib/wardprobe/queue
  max_queue_bytes: 512MiB
  max_queue_age: 168h
`

func TestParseDesignExample(t *testing.T) {
	c, err := Parse("good.yml", []byte(goodYAML))
	if err != nil {
		t.Fatalf("design example rejected:\n%v", err)
	}
	if c.Probe.Name != "rex-blockb-f2-ward7-1" || c.Location.Ward != "Ward 7" || c.Location.Floor != "2" {
		t.Errorf("location not decoded: %+v %+v", c.Probe, c.Location)
	}
	if *c.Location.X != 0.42 || *c.Location.Y != 0.63 {
		t.Errorf("x,y = %v,%v", *c.Location.X, *c.Location.Y)
	}
	if len(c.Targets) != 3 || c.Targets[0].Interval.D() != time.Second || c.Targets[0].Timeout.D() != 2*time.Second {
		t.Errorf("targets: %+v", c.Targets)
	}
	if h := c.Targets[1].Spec.(*http.Spec); c.Targets[1].Timeout.D() != 10*time.Second || h.Method != "GET" || h.MaxBodyBytes != 1<<20 {
		t.Errorf("http defaults: %+v %+v", c.Targets[1], h)
	}
	if c.Push.MaxQueueBytes != 512<<20 || c.Push.MaxQueueAge.D() != 168*time.Hour {
		t.Errorf("push: %+v", c.Push)
	}
	if c.Throughput.Interval.D() != 30*time.Minute || c.Throughput.Mode != "onprem" {
		t.Errorf("throughput: %+v", c.Throughput)
	}
	s, ok := c.ResolveStandard("trust-minimum")
	if !ok || s["signal_dbm"] != -65 || s["rtt_seconds"] != 0.1 {
		t.Errorf("custom standard: %+v %v", s, ok)
	}
}

func TestStandardOverride(t *testing.T) {
	c, err := Parse("o.yml", []byte("standards:\n  voice: {signal_dbm: -65}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := c.ResolveStandard("voice")
	if s["signal_dbm"] != -65 || s["snr_db"] != 25 || s["loss_ratio"] != 0.01 {
		t.Errorf("override not merged: %v", s)
	}
	if b := config.BuiltinStandards()[1]; b.Name != "voice" || b.Limits["signal_dbm"] != -67 {
		t.Errorf("built-in changed: %+v", b)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"typo key", "probe:\n  nmae: x\n",
			[]string{`f.yml:2: probe.nmae: unknown key (did you mean "name"?)`}},
		{"typo in target", "targets:\n  - name: gw\n    kind: icmp\n    address: 10.0.0.1\n    intervl: 1s\n",
			[]string{`f.yml:5: targets[0].intervl: unknown key (did you mean "interval"?)`}},
		{"unknown top-level", "wfi:\n  interface: wlan0\n",
			[]string{`f.yml:1: wfi: unknown key (did you mean "wifi"?)`}},
		{"bad duration", "targets:\n  - name: gw\n    kind: icmp\n    address: 10.0.0.1\n    interval: fast\n",
			[]string{`f.yml:5: targets[0].interval: "fast" is not a duration (use e.g. 500ms, 30s, 5m, 1h)`}},
		{"unknown kind", "targets:\n  - name: gw\n    kind: smtp\n",
			[]string{`f.yml:3: targets[0].kind: unknown kind "smtp" (icmp, dns, http or tcp)`}},
		{"duplicate target", "targets:\n  - {name: a, kind: icmp, address: 10.0.0.1}\n  - {name: a, kind: tcp, address: 10.0.0.1:22}\n",
			[]string{`f.yml:3: targets[1].name: duplicate target name "a" (first used by targets[0])`}},
		{"icmp timeout beyond 1000 intervals, found with the other errors", "standard: x\ntargets:\n  - {name: a, kind: icmp, address: 10.0.0.1, interval: 10ms, timeout: 1h}\n",
			[]string{`f.yml:1: standard: unknown standard "x" (known: nhs, voice, data)`,
				`f.yml:3: targets[0].timeout: 1h is 360000 intervals of 10ms: at most 1000 echo requests of a target may await their reply, so the timeout may be at most 1000 intervals (10s); shorten the timeout or lengthen the interval`}},
		{"name used three times", "targets:\n  - {name: a, kind: icmp, address: 10.0.0.1}\n  - {name: a, kind: icmp, address: 10.0.0.2}\n  - {name: a, kind: icmp, address: 10.0.0.3}\n",
			[]string{`f.yml:3: targets[1].name: duplicate target name "a" (first used by targets[0])`,
				`f.yml:4: targets[2].name: duplicate target name "a" (first used by targets[0])`}},
		{"x out of range", "location:\n  x: 1.5\n  y: -0.1\n",
			[]string{`f.yml:2: location.x: 1.5 is outside 0..1`, `f.yml:3: location.y: -0.1 is outside 0..1`}},
		{"missing url", "targets:\n  - name: epr\n    kind: http\n",
			[]string{`f.yml:2: targets[0].url: is required`}},
		{"bad url scheme", "targets:\n  - name: epr\n    kind: http\n    url: ftp://x/\n",
			[]string{`f.yml:4: targets[0].url: "ftp://x/" is not an http or https URL`}},
		{"key for other kind", "targets:\n  - name: gw\n    kind: icmp\n    address: 10.0.0.1\n    url: http://x/\n",
			[]string{`f.yml:5: targets[0].url: is not used by kind "icmp" (only by http)`}},
		{"interval too short", "targets:\n  - name: epr\n    kind: tcp\n    address: h:443\n    interval: 100ms\n    timeout: 50ms\n",
			[]string{`f.yml:5: targets[0].interval: 100ms is shorter than the minimum 1s`}},
		{"timeout over interval", "targets:\n  - name: epr\n    kind: tcp\n    address: h:443\n    interval: 5s\n    timeout: 10s\n",
			[]string{`f.yml:6: targets[0].timeout: 10s is longer than the interval 5s`}},
		{"tcp without port", "targets:\n  - name: t\n    kind: tcp\n    address: epr.example.org\n",
			[]string{`f.yml:4: targets[0].address: "epr.example.org" is not host:port`}},
		{"unknown standard", "standard: gold\n",
			[]string{`f.yml:1: standard: unknown standard "gold" (known: nhs, voice, data)`}},
		{"standard value range", "standards:\n  mine: {signal_dbm: 20}\nstandard: mine\n",
			[]string{`f.yml:2: standards.mine.signal_dbm: 20 is outside -100..0`}},
		{"not a number", "location:\n  x: left\n",
			[]string{`f.yml:2: location.x: "left" is not a finite number`}},
		{"list expected", "wifi:\n  ssids: CLINICAL\n",
			[]string{`f.yml:2: wifi.ssids: expected a list, got "CLINICAL"`}},
		{"bad size", "push:\n  url: http://p:9090/api/v1/write\n  max_queue_bytes: lots\n",
			[]string{`f.yml:3: push.max_queue_bytes: "lots" is not a size between 0 and 1TiB (use e.g. 4096, 64KiB, 512MiB, 1GB)`}},
		{"push credentials in the url", "push:\n  url: http://ward7:hunter2@p:9090/api/v1/write\n",
			[]string{`f.yml:2: push.url: "http://ward7:<secret>@p:9090/api/v1/write" holds credentials; give them in basic_auth (username, password_file) or bearer_token_file`}},
		{"push auth and tls mistakes", "push:\n  url: http://p:9090/api/v1/write\n  timeout: 10m\n  bearer_token_file: /t\n" +
			"  basic_auth: {username: ward7, pasword_file: /p}\n  tls_config: {cert_file: /c}\n",
			[]string{`f.yml:3: push.timeout: 10m is outside 1s..5m`, `f.yml:4: push.bearer_token_file: cannot be used with basic_auth`,
				`f.yml:5: push.basic_auth.pasword_file: unknown key (did you mean "password_file"?)`,
				`f.yml:5: push.basic_auth.password_file: is required (a file holding the password)`,
				`f.yml:6: push.tls_config: is only used with an https url`, `f.yml:6: push.tls_config: cert_file and key_file go together`}},
		{"throughput onprem needs url", "throughput:\n  mode: onprem\n",
			[]string{`f.yml:1: throughput.url: is required in onprem mode (the URL of a wardprobe target)`}},
		{"yaml syntax", "targets:\n  - name: [\n",
			[]string{`f.yml:2: (top): invalid YAML near here: did not find expected node content`}},
		{"empty", "", []string{`f.yml:1: (top): config is empty`}},
		{"duplicate key", "probe:\n  name: a\n  name: b\n",
			[]string{`f.yml:3: probe.name: duplicate key`}},
		{"key of another kind even at its default", "targets:\n  - name: t\n    kind: tcp\n    address: h:22\n    packet_size: 56\n",
			[]string{`f.yml:5: targets[0].packet_size: is not used by kind "tcp" (only by icmp)`}},
		{"key of no kind", "targets:\n  - name: t\n    kind: tcp\n    address: h:22\n    adress: x\n",
			[]string{`f.yml:5: targets[0].adress: unknown key (did you mean "address"?)`}},
		{"NaN threshold", "standards:\n  mine: {signal_dbm: NaN}\n",
			[]string{`f.yml:2: standards.mine.signal_dbm: "NaN" is not a finite number`}},
		{"infinite threshold", "standards:\n  mine: {loss_ratio: .inf, jitter_seconds: -Inf}\n",
			[]string{`f.yml:2: standards.mine.loss_ratio: ".inf" is not a finite number`, `f.yml:2: standards.mine.jitter_seconds: "-Inf" is not a finite number`}},
		{"unknown threshold", "standards:\n  mine: {signal_dmb: -60}\n",
			[]string{`f.yml:2: standards.mine.signal_dmb: unknown key (did you mean "signal_dbm"?)`}},
		{"second document", "probe: {name: a}\n---\nprobe: {name: b}\n",
			[]string{`f.yml:2: (top): a second YAML document (after ---) is not allowed: a config is one document`}},
		{"throughput too big", "throughput:\n  url: http://t/\n  max_bytes: 2GiB\n  daily_budget: 200GiB\n",
			[]string{`f.yml:3: throughput.max_bytes: 2GiB is more than the most one test may move, 1GiB`,
				`f.yml:4: throughput.daily_budget: 200GiB is more than the largest daily budget, 100GiB`}},
		{"password in a bad URL is masked", "targets:\n  - name: epr\n    kind: http\n    url: ftp://u:hunter2@x/?token=abc\n",
			[]string{`f.yml:4: targets[0].url: "ftp://u:<secret>@x/?token=<secret>" is not an http or https URL`}},
		{"tab", "location:\n  site: x\n\tbuilding: y\n",
			[]string{`f.yml:3: (top): invalid YAML: a tab character at column 1: YAML is indented with spaces only; replace the tab with spaces`}},
		{"apostrophe in single quotes", "probe: {name: p}\nlocation:\n  site: 'St Mary's Hospital'\n  building: B\n",
			[]string{`f.yml:3: (top): invalid YAML: the value 'St Mary's Hospital' ends at its second quote, but more follows: ` +
				`a quote inside single quotes is written twice ('St Mary''s Hospital'), or put the value in double quotes ("St Mary's Hospital")`}},
		{"bad indentation in a list item", "targets:\n  - name: a\n   kind: icmp\n",
			[]string{`f.yml:3: (top): invalid YAML: this line is indented by 3 spaces, which lines up with no enclosing key (the keys around it are at 4 or 2 spaces): keys of one mapping must line up`}},
		{"colon in a plain value", "location:\n  spot: Bay 3: window\n",
			[]string{`f.yml:2: (top): invalid YAML: the value "Bay 3: window" holds a colon followed by a space, which YAML reads as another key: put the value in quotes`}},
		{"unindented section keys", "location:\nsite: St Mary's\nward: Ward 7\n",
			[]string{`f.yml:2: site: unknown key at the top level: site belongs under location: (indent it by two spaces below location:)`,
				`f.yml:3: ward: unknown key at the top level: ward belongs under location: (indent it by two spaces below location:)`}},
		{"habitual key names", "wifi:\n  iface: wlan0\ntargets:\n  - {name: a, type: icmp, host: 10.0.0.1}\n",
			[]string{`f.yml:2: wifi.iface: unknown key (did you mean "interface"?)`, `f.yml:4: targets[0].type: unknown key (did you mean "kind"?)`,
				`f.yml:4: targets[0].host: unknown key (did you mean "address"?)`, `f.yml:4: targets[0].kind: is required (icmp, dns, http or tcp)`}},
		{"backquote in a location label", "location:\n  ward: \"King`s\"\n",
			[]string{"f.yml:2: location.ward: \"King`s\" holds a backquote, which the dashboards cannot match: use ' instead"}},
		{"many errors at once", "probe:\n  nmae: x\ntargets:\n  - name: a\n    kind: icmp\n    address: 10.0.0.1\n    interval: soon\n  - name: a\n    kind: bogus\n",
			[]string{
				`f.yml:2: probe.nmae: unknown key (did you mean "name"?)`,
				`f.yml:7: targets[0].interval: "soon" is not a duration (use e.g. 500ms, 30s, 5m, 1h)`,
				`f.yml:8: targets[1].name: duplicate target name "a" (first used by targets[0])`,
				`f.yml:9: targets[1].kind: unknown kind "bogus" (icmp, dns, http or tcp)`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("accepted, want errors %q", tt.want)
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	c := kinds.Default()
	if len(c.Targets) != 2 || c.Targets[0].Spec.(*icmp.Spec).Address != "gateway" || c.Targets[1].Kind != "dns" ||
		c.Targets[1].Spec.(*dns.Spec).Server != "" || c.Standard != "nhs" {
		t.Errorf("default: %+v %+v", c.Standard, c.Targets)
	}
	if c.Probe.Name == "" || c.Location.Site != config.UnknownLabel {
		t.Errorf("default identity: %+v %+v", c.Probe, c.Location)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "w.yml")
	if err := os.WriteFile(p, []byte(goodYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yml")); err == nil || !strings.Contains(err.Error(), "missing.yml") {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big.yml")
	if err := os.WriteFile(big, []byte("#"+strings.Repeat("x", config.MaxFileBytes+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
	// A FIFO with no writer must be refused at once, not wait for one (a
	// reload, or check-config run by systemctl reload, would hang).
	fifo := filepath.Join(dir, "fifo.yml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, dir, "/dev/zero"} {
		done := make(chan error, 1)
		go func() { _, err := Load(p); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s: %v; want not a regular file", p, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Load hangs", p)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(goodYAML))
	f.Add([]byte("targets: [{name: a, kind: icmp}]"))
	f.Add([]byte("a: &x [*x]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yml", data)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
	})
}

func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("standards:\n  s: {signal_dbm: -60}\nx: &s [" + strings.TrimSuffix(strings.Repeat("200, ", 1000), ", ") + "]\ntargets:\n")
	for i := range 200 {
		fmt.Fprintf(&b, "  - {name: t%d, kind: http, url: \"http://h/\", expect_status: *s}\n", i)
	}
	_, err := Parse("bomb.yml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "the file expands to more than") {
		t.Fatalf("alias expansion not bounded: %.200v", err)
	}
	ok := "wifi:\n  ssids: &s [A, B]\n"
	if _, err := Parse("ok.yml", []byte(ok)); err != nil {
		t.Fatalf("alias rejected: %v", err)
	}
}

// TestShippedExampleConfig keeps the example config under deploy/ valid.
func TestShippedExampleConfig(t *testing.T) {
	c, err := Load(filepath.Join("..", "deploy", "wardprobe.example.yml"))
	if err != nil {
		t.Fatalf("deploy/wardprobe.example.yml is invalid:\n%v", err)
	}
	if c.WiFi.Interface != "wlan0" || len(c.Targets) == 0 {
		t.Errorf("unexpected example: %+v", c.WiFi)
	}
}

// TestHostileConfigIsBounded is the alias attack of issue 10: a targets
// list that aliases one anchor of 1,000 unknown keys 1,000 times. Decoding
// stops at the budget and the error list is capped.
func TestHostileConfigIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("x: &a {")
	for i := range 1000 {
		fmt.Fprintf(&b, "k%d: 1, ", i)
	}
	b.WriteString("name: n}\ntargets: [")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("*a")
	}
	b.WriteString("]\n")
	start := time.Now()
	_, err := Parse("hostile.yml", []byte(b.String()))
	took := time.Since(start)
	errs, ok := err.(config.Errors)
	if !ok || len(errs) > config.MaxErrors+2 {
		t.Fatalf("%d errors (cap %d): %.300v", len(errs), config.MaxErrors, err)
	}
	if !strings.Contains(err.Error(), "the file expands to more than") || !strings.Contains(errs[len(errs)-1].Msg, "more errors") {
		t.Errorf("want the expansion bound and an 'and N more' line, got:\n%.2000v", err)
	}
	t.Logf("%d bytes decoded to %d errors in %s", b.Len(), len(errs), took)
}

func TestTooManyTargets(t *testing.T) {
	var b strings.Builder
	b.WriteString("targets:\n")
	for i := range config.MaxTargets + 1 {
		fmt.Fprintf(&b, "  - {name: t%d, kind: tcp, address: \"h:1\"}\n", i)
	}
	_, err := Parse("many.yml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "targets: 1001 targets are more than the 1000 one probe may have") {
		t.Fatalf("want a bound on targets, got %.300v", err)
	}
}

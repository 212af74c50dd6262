package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wardprobe/wardprobe/internal/escape"
	"github.com/wardprobe/wardprobe/internal/secret"
)

// Bounds on values, chosen to keep a probe from hurting the ward network or
// itself.
const (
	// MaxTargets bounds the targets of one probe.
	MaxTargets = 1000
	// MinThroughput is the least interval between throughput tests.
	MinThroughput = time.Minute
	// MinThroughputTimeout leaves room for the idle pings and two directions.
	MinThroughputTimeout = 5 * time.Second
	// MinThroughputBytes and MaxThroughputBytes bound max_bytes.
	MinThroughputBytes = 1 << 20
	MaxThroughputBytes = 1 << 30
	// MaxDailyBudget bounds daily_budget.
	MaxDailyBudget = 100 << 30
	// MinQueueBytes and MaxQueueBytes bound push.max_queue_bytes.
	MinQueueBytes = 1 << 20
	MaxQueueBytes = 64 << 30
)

type validator struct {
	cfg   *Config
	kinds Kinds
	seen  map[string]bool
	errs  Errors
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, v.cfg.Errorf(path, format, args...))
}

func (v *validator) config(c *Config) {
	if strings.TrimSpace(c.Probe.Name) == "" {
		v.errorf("probe.name", "is required (no host name to default to)")
	}
	for _, l := range []struct{ key, val string }{
		{"probe.name", c.Probe.Name}, {"location.site", c.Location.Site}, {"location.building", c.Location.Building},
		{"location.floor", c.Location.Floor}, {"location.ward", c.Location.Ward}, {"location.spot", c.Location.Spot},
	} {
		if len(l.val) > 256 {
			v.errorf(l.key, "is longer than 256 bytes")
		}
		if strings.ContainsAny(l.val, "`\x00") && l.key != "location.spot" {
			// The dashboards match location labels in PromQL raw strings (`...`), which cannot hold a backquote.
			v.errorf(l.key, "%q holds a backquote, which the dashboards cannot match: use ' instead", l.val)
		}
	}
	if x := c.Location.X; x != nil && (*x < 0 || *x > 1) {
		v.errorf("location.x", "%g is outside 0..1", *x)
	}
	if y := c.Location.Y; y != nil && (*y < 0 || *y > 1) {
		v.errorf("location.y", "%g is outside 0..1", *y)
	}
	for _, name := range c.StandardNames() {
		if s, ok := c.Standards[name]; ok {
			v.standard("standards."+name, s)
		}
	}
	if _, ok := c.ResolveStandard(c.Standard); !ok {
		v.errorf("standard", "unknown standard %q (known: %s)", c.Standard, strings.Join(c.StandardNames(), ", "))
	}
	v.wifi(c.WiFi)
	if len(c.Targets) > MaxTargets {
		v.errorf("targets", "%d targets are more than the %d one probe may have", len(c.Targets), MaxTargets)
	}
	seen := map[string]int{}
	for i, t := range c.Targets {
		p := fmt.Sprintf("targets[%d]", i)
		if t.Name != "" {
			if j, dup := seen[t.Name]; dup {
				v.errorf(p+".name", "duplicate target name %q (first used by targets[%d])", t.Name, j)
			} else {
				seen[t.Name] = i
			}
		}
		v.target(p, t)
	}
	if c.Throughput != nil {
		v.throughput(c.Throughput)
	}
	if c.Push != nil {
		v.push(c.Push)
	}
}

func (v *validator) standard(p string, s Standard) {
	for _, t := range Thresholds() {
		if val, ok := s[t.Key]; ok && (val < t.Min || val > t.Max) {
			v.errorf(p+"."+t.Key, "%g is outside %g..%g", val, t.Min, t.Max)
		}
	}
}

func (v *validator) wifi(w WiFi) {
	if w.NotSpotDBM < -120 || w.NotSpotDBM > 0 {
		v.errorf("wifi.notspot_dbm", "%g is outside -120..0", w.NotSpotDBM)
	}
	if w.PollInterval.D() < 100*time.Millisecond {
		v.errorf("wifi.poll_interval", "%s is shorter than 100ms", w.PollInterval)
	}
	if w.ScanInterval != 0 && w.ScanInterval.D() < time.Minute {
		v.errorf("wifi.scan_interval", "%s is shorter than 1m (active scans take the radio off channel)", w.ScanInterval)
	}
	if w.MaxNeighbors < 0 || w.MaxNeighbors > 1000 {
		v.errorf("wifi.max_neighbors", "%d is outside 0..1000", w.MaxNeighbors)
	}
	if w.Interface != "" && (len(w.Interface) > 15 || strings.ContainsAny(w.Interface, "/ \t")) {
		v.errorf("wifi.interface", "%q is not an interface name", w.Interface)
	}
	for i, s := range w.SSIDs {
		if err := CheckSSID(s); err != nil {
			v.errorf(fmt.Sprintf("wifi.ssids[%d]", i), "%v", err)
		}
	}
	if w.ConnectTest != nil {
		v.connectTest(w.ConnectTest)
	}
}

// Bounds of a connect test.
const (
	// MinConnectInterval: a test takes its adapter off the air.
	MinConnectInterval = time.Minute
	MinConnectTimeout  = time.Second
	MaxConnectTimeout  = 5 * time.Minute
)

func (v *validator) connectTest(ct *ConnectTest) {
	const p = "wifi.connect_test"
	switch {
	case ct.Interface == "":
		v.errorf(p+".interface", "is required (the adapter the test owns)")
	case len(ct.Interface) > 15 || strings.ContainsAny(ct.Interface, "/ \t"):
		v.errorf(p+".interface", "%q is not an interface name", ct.Interface)
	}
	if ct.SSID == "" {
		v.errorf(p+".ssid", "is required")
	} else if err := CheckSSID(ct.SSID); err != nil {
		v.errorf(p+".ssid", "%v", err)
	}
	if ct.Interval.D() < MinConnectInterval {
		v.errorf(p+".interval", "%s is shorter than the minimum %s (a test takes its adapter off the air)", ct.Interval, Duration(MinConnectInterval))
	}
	switch {
	case ct.Timeout.D() < MinConnectTimeout || ct.Timeout.D() > MaxConnectTimeout:
		v.errorf(p+".timeout", "%s is outside %s..%s", ct.Timeout, Duration(MinConnectTimeout), Duration(MaxConnectTimeout))
	case ct.Timeout >= ct.Interval:
		v.errorf(p+".timeout", "%s is not shorter than the interval %s", ct.Timeout, ct.Interval)
	}
	if !ValidHost(ct.Query) || net.ParseIP(ct.Query) != nil {
		v.errorf(p+".query", "%q is not a DNS name", ct.Query)
	}
	for i, f := range ct.Frequencies {
		if f < 2400 || f > 7200 {
			v.errorf(fmt.Sprintf("%s.frequencies[%d]", p, i), "%d MHz is not the centre frequency of a Wi-Fi channel", f)
		}
	}
	v.filePath(p+".psk_file", string(ct.PSKFile))
	switch {
	case ct.PSKFile == "" && ct.EAP == nil:
		v.errorf(p, "needs psk_file (WPA2-Personal) or eap (802.1X)")
	case ct.PSKFile != "" && ct.EAP != nil:
		v.errorf(p+".eap", "is given with psk_file: use one of them")
	case ct.EAP != nil:
		v.eap(p+".eap", ct.EAP)
	}
}

func (v *validator) eap(p string, e *EAP) {
	if e.Identity == "" {
		v.errorf(p+".identity", "is required")
	} else if len(e.Identity) > 253 || strings.ContainsAny(e.Identity, "\x00\n") {
		v.errorf(p+".identity", "is not an EAP identity (at most 253 bytes, one line)")
	}
	v.filePath(p+".ca_file", e.CAFile)
	v.filePath(p+".password_file", string(e.PasswordFile))
	v.filePath(p+".client_cert_file", e.ClientCertFile)
	v.filePath(p+".client_key_file", string(e.ClientKeyFile))
	switch e.Method {
	case "peap", "ttls":
		if e.PasswordFile == "" {
			v.errorf(p+".password_file", "is required for %s (a file holding the password)", e.Method)
		}
		if e.Method == "peap" && e.Phase2 != "mschapv2" {
			v.errorf(p+".phase2", "%q: peap takes mschapv2", e.Phase2)
		}
		if e.Method == "ttls" && e.Phase2 != "mschapv2" && e.Phase2 != "pap" {
			v.errorf(p+".phase2", "%q: ttls takes mschapv2 or pap", e.Phase2)
		}
		if e.ClientCertFile != "" || e.ClientKeyFile != "" {
			v.errorf(p+".client_cert_file", "is only used by method tls")
		}
	case "tls":
		if e.ClientCertFile == "" {
			v.errorf(p+".client_cert_file", "is required for tls")
		}
		if e.ClientKeyFile == "" {
			v.errorf(p+".client_key_file", "is required for tls (a file holding the unencrypted PEM key)")
		}
		if e.PasswordFile != "" {
			v.errorf(p+".password_file", "is not used by tls")
		}
		if e.Phase2 != "" {
			v.errorf(p+".phase2", "is not used by tls")
		}
	case "":
		v.errorf(p+".method", "is required: peap, tls or ttls")
	default:
		v.errorf(p+".method", "%q is not peap, tls or ttls", e.Method)
	}
	if e.CAFile == "" {
		v.errorf(p+".ca_file", "is required: without the RADIUS server's CA any server would be trusted")
	}
}

// filePath checks a path handed to wpa_supplicant: absolute, and without
// quotes or control characters (it is quoted in the supplicant's syntax).
func (v *validator) filePath(p, path string) {
	if path == "" {
		return
	}
	if !strings.HasPrefix(path, "/") {
		v.errorf(p, "%q is not an absolute path", path)
		return
	}
	for _, r := range path {
		if r == '"' || r < 0x20 || r == 0x7f {
			v.errorf(p, "holds a quote or a control character")
			return
		}
	}
}

func (v *validator) target(p string, t Target) {
	if t.Name == "" {
		v.errorf(p+".name", "is required")
	}
	kind, ok := v.kinds.find(t.Kind)
	switch {
	case t.Kind == "":
		v.errorf(p+".kind", "is required (%s)", v.kinds.names())
		return
	case !ok:
		v.errorf(p+".kind", "unknown kind %q (%s)", t.Kind, v.kinds.names())
		return
	}
	if min := Duration(kind.MinInterval); t.Interval < min {
		v.errorf(p+".interval", "%s is shorter than the minimum %s", t.Interval, min)
	}
	if t.Timeout.D() <= 0 {
		v.errorf(p+".timeout", "must be positive")
	} else if !kind.TimeoutPerPacket && t.Timeout > t.Interval {
		v.errorf(p+".timeout", "%s is longer than the interval %s", t.Timeout, t.Interval)
	}
	t.Spec.Validate(&Checker{v: v, path: p, seen: v.seen, interval: t.Interval, timeout: t.Timeout})
}

func (v *validator) throughput(tp *Throughput) {
	switch tp.Mode {
	case "onprem":
		if tp.URL == "" {
			v.errorf("throughput.url", "is required in onprem mode (the URL of a wardprobe target)")
		} else if err := CheckURL(tp.URL); err != nil {
			v.errorf("throughput.url", "%v", err)
		}
		if len(tp.ServerIDs) > 0 {
			v.errorf("throughput.server_ids", "are only used in ookla mode")
		}
	case "ookla":
		if tp.URL != "" {
			v.errorf("throughput.url", "is not used in ookla mode (use server_ids)")
		}
		for i, id := range tp.ServerIDs {
			if _, err := strconv.ParseUint(id, 10, 32); err != nil {
				v.errorf(fmt.Sprintf("throughput.server_ids[%d]", i), "%q is not a speedtest.net server id (a number)", id)
			}
		}
	default:
		v.errorf("throughput.mode", "%q is not onprem or ookla", tp.Mode)
	}
	if tp.Interval.D() < MinThroughput {
		v.errorf("throughput.interval", "%s is shorter than the minimum %s", tp.Interval, Duration(MinThroughput))
	}
	if tp.Timeout.D() < MinThroughputTimeout || tp.Timeout > tp.Interval {
		v.errorf("throughput.timeout", "%s must be at least %s and no longer than the interval", tp.Timeout, Duration(MinThroughputTimeout))
	}
	switch {
	case tp.MaxBytes < MinThroughputBytes:
		v.errorf("throughput.max_bytes", "must be at least 1MiB to measure anything")
	case tp.MaxBytes > MaxThroughputBytes:
		v.errorf("throughput.max_bytes", "%s is more than the most one test may move, %s", tp.MaxBytes, ByteSize(MaxThroughputBytes))
	}
	v.basicAuth("throughput.basic_auth", tp.BasicAuth)
	if tp.BasicAuth != nil && tp.URL != "" && strings.Contains(tp.URL, "@") {
		v.errorf("throughput.basic_auth", "is given twice: remove the user:password@ from throughput.url")
	}
	switch {
	case tp.DailyBudget < tp.MaxBytes:
		v.errorf("throughput.daily_budget", "is smaller than max_bytes, so no test could run")
	case tp.DailyBudget > MaxDailyBudget:
		v.errorf("throughput.daily_budget", "%s is more than the largest daily budget, %s", tp.DailyBudget, ByteSize(MaxDailyBudget))
	}
}

func (v *validator) push(p *Push) {
	if p.URL == "" {
		v.errorf("push.url", "is required")
	} else if err := CheckURL(p.URL); err != nil {
		v.errorf("push.url", "%v", err)
	} else if u, _ := url.Parse(p.URL); u.User != nil {
		v.errorf("push.url", "%q holds credentials; give them in basic_auth (username, password_file) or bearer_token_file", secret.URL(p.URL))
	} else if p.TLSConfig != nil && u.Scheme != "https" {
		v.errorf("push.tls_config", "is only used with an https url")
	}
	if p.Interval.D() < time.Second {
		v.errorf("push.interval", "%s is shorter than 1s", p.Interval)
	}
	if p.Timeout.D() < time.Second || p.Timeout.D() > 5*time.Minute {
		v.errorf("push.timeout", "%s is outside 1s..5m", p.Timeout)
	}
	if p.QueueDir == "" {
		v.errorf("push.queue_dir", "is required")
	}
	v.basicAuth("push.basic_auth", p.BasicAuth)
	if p.BasicAuth != nil && p.BearerTokenFile != "" {
		v.errorf("push.bearer_token_file", "cannot be used with basic_auth")
	}
	if t := p.TLSConfig; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		v.errorf("push.tls_config", "cert_file and key_file go together")
	}
	if p.MaxQueueBytes < MinQueueBytes || p.MaxQueueBytes > MaxQueueBytes {
		v.errorf("push.max_queue_bytes", "must be between %s and %s", ByteSize(MinQueueBytes), ByteSize(MaxQueueBytes))
	}
	if p.MaxQueueAge.D() < time.Minute {
		v.errorf("push.max_queue_age", "must be at least 1m")
	}
}

// basicAuth checks a basic_auth section: both keys are required.
func (v *validator) basicAuth(p string, a *BasicAuth) {
	if a == nil {
		return
	}
	if a.Username == "" {
		v.errorf(p+".username", "is required")
	}
	if a.PasswordFile == "" {
		v.errorf(p+".password_file", "is required (a file holding the password)")
	}
}

// CheckURL checks s is an http or https URL with a host. Its errors quote
// the URL with any credentials masked.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", secret.URL(s))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q is not an http or https URL", secret.URL(s))
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", secret.URL(s))
	}
	return nil
}

// CheckSSID checks an SSID as written in a config: 1 to 32 bytes once the
// \xNN escapes of non-UTF-8 bytes are undone.
func CheckSSID(s string) error {
	b, err := escape.Unescape(s)
	if err != nil {
		return err
	}
	if len(b) == 0 || len(b) > 32 {
		return fmt.Errorf("an SSID is 1 to 32 bytes")
	}
	return nil
}

// ValidHost reports whether h is an IP address (IPv6 with an optional
// %zone) or a host name of letters, digits, hyphens and underscores.
func ValidHost(h string) bool {
	if ip, zone, ok := strings.Cut(h, "%"); ok {
		return strings.Contains(ip, ":") && net.ParseIP(ip) != nil && zone != "" && len(zone) <= 15
	}
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// HostPort returns s as host:port, adding def as the port when s has none
// (def "" makes the port required). IPv6 addresses may be bracketed and zoned.
func HostPort(s, def string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if def == "" {
			return "", fmt.Errorf("%q is not host:port", s)
		}
		host, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), def
	}
	if !ValidHost(host) {
		return "", fmt.Errorf("%q is not a host name or IP address", host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q is not a port number", port)
	}
	return net.JoinHostPort(host, port), nil
}

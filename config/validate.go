package config

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Bounds on values, chosen to keep a probe from hurting the ward network.
const (
	MinICMPInterval  = 10 * time.Millisecond
	MinOtherInterval = time.Second
	MinThroughput    = time.Minute
	MaxICMPPacket    = 1472
)

type validator struct {
	file  string
	lines map[string]int
	errs  Errors
}

// line finds the line of path, or of its nearest ancestor that has one.
func (v *validator) line(path string) int {
	for p := path; p != ""; {
		if l, ok := v.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 1
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, Error{File: v.file, Line: v.line(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) config(c *Config) {
	if strings.TrimSpace(c.Probe.Name) == "" {
		v.errorf("probe.name", "is required (no host name to default to)")
	}
	if x := c.Location.X; x != nil && (*x < 0 || *x > 1) {
		v.errorf("location.x", "%g is outside 0..1", *x)
	}
	if y := c.Location.Y; y != nil && (*y < 0 || *y > 1) {
		v.errorf("location.y", "%g is outside 0..1", *y)
	}
	names := make([]string, 0, len(c.Standards))
	for name := range c.Standards {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v.standard("standards."+name, c.Standards[name])
	}
	if _, ok := c.ResolveStandard(c.Standard); !ok {
		known := []string{"voice", "data"}
		known = append(known, names...)
		v.errorf("standard", "unknown standard %q (known: %s)", c.Standard, strings.Join(known, ", "))
	}
	v.wifi(c.WiFi)
	seen := map[string]int{}
	for i, t := range c.Targets {
		p := fmt.Sprintf("targets[%d]", i)
		if t.Name != "" {
			if j, dup := seen[t.Name]; dup {
				v.errorf(p+".name", "duplicate target name %q (first used by targets[%d])", t.Name, j)
			}
			seen[t.Name] = i
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
	rangeCheck := func(key string, val *float64, lo, hi float64) {
		if val != nil && (*val < lo || *val > hi) {
			v.errorf(p+"."+key, "%g is outside %g..%g", *val, lo, hi)
		}
	}
	rangeCheck("signal_dbm", s.SignalDBM, -100, 0)
	rangeCheck("second_ap_dbm", s.SecondAPDBM, -100, 0)
	rangeCheck("snr_db", s.SNRDB, 0, 100)
	rangeCheck("loss_ratio", s.LossRatio, 0, 1)
	rangeCheck("rtt_seconds", s.RTTSeconds, 0, 60)
	rangeCheck("jitter_seconds", s.JitterSeconds, 0, 60)
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
	for i, s := range w.SSIDs {
		if s == "" || len(s) > 32 {
			v.errorf(fmt.Sprintf("wifi.ssids[%d]", i), "an SSID is 1 to 32 bytes")
		}
	}
}

// onlyFor lists the target keys that belong to one kind, and checks them.
func (v *validator) onlyFor(p string, t Target) {
	type key struct {
		name  string
		set   bool
		kinds []string
	}
	keys := []key{
		{"address", t.Address != "", []string{KindICMP, KindTCP}},
		{"packet_size", t.PacketSize != 0 && t.PacketSize != DefaultICMPPacketSize, []string{KindICMP}},
		{"server", t.Server != "", []string{KindDNS}},
		{"query", t.Query != "", []string{KindDNS}},
		{"record_type", t.RecordType != "", []string{KindDNS}},
		{"transport", t.Transport != "", []string{KindDNS}},
		{"url", t.URL != "", []string{KindHTTP}},
		{"method", t.Method != "", []string{KindHTTP}},
		{"expect_status", len(t.ExpectStatus) > 0, []string{KindHTTP}},
		{"max_body_bytes", t.MaxBodyBytes != 0, []string{KindHTTP}},
		{"ca_file", t.CAFile != "", []string{KindHTTP}},
		{"insecure_skip_verify", t.InsecureSkipVerify, []string{KindHTTP}},
		{"follow_redirects", t.FollowRedirects != nil, []string{KindHTTP}},
	}
	for _, k := range keys {
		if !k.set {
			continue
		}
		ok := false
		for _, kind := range k.kinds {
			ok = ok || kind == t.Kind
		}
		if !ok {
			v.errorf(p+"."+k.name, "is not used by kind %q (only by %s)", t.Kind, strings.Join(k.kinds, ", "))
		}
	}
}

func (v *validator) target(p string, t Target) {
	if t.Name == "" {
		v.errorf(p+".name", "is required")
	}
	switch t.Kind {
	case KindICMP, KindDNS, KindHTTP, KindTCP:
	case "":
		v.errorf(p+".kind", "is required (icmp, dns, http or tcp)")
		return
	default:
		v.errorf(p+".kind", "unknown kind %q (icmp, dns, http or tcp)", t.Kind)
		return
	}
	v.onlyFor(p, t)
	minInterval := MinOtherInterval
	if t.Kind == KindICMP {
		minInterval = MinICMPInterval
	}
	if t.Interval.D() < minInterval {
		v.errorf(p+".interval", "%s is shorter than the minimum %s", t.Interval, Duration(minInterval))
	}
	if t.Timeout.D() <= 0 {
		v.errorf(p+".timeout", "must be positive")
	} else if t.Kind != KindICMP && t.Timeout > t.Interval {
		v.errorf(p+".timeout", "%s is longer than the interval %s", t.Timeout, t.Interval)
	}
	switch t.Kind {
	case KindICMP:
		if t.Address == "" {
			v.errorf(p+".address", "is required (a host, an IP address or the word gateway)")
		} else if t.Address != "gateway" && !validHost(t.Address) {
			v.errorf(p+".address", "%q is not a host name or IP address", t.Address)
		}
		if t.PacketSize < 24 || t.PacketSize > MaxICMPPacket {
			v.errorf(p+".packet_size", "%d is outside 24..%d", t.PacketSize, MaxICMPPacket)
		}
	case KindTCP:
		if t.Address == "" {
			v.errorf(p+".address", "is required (host:port)")
		} else if _, err := hostPort(t.Address, ""); err != nil {
			v.errorf(p+".address", "%v", err)
		}
	case KindDNS:
		if t.Query == "" {
			v.errorf(p+".query", "is required (the name to resolve)")
		}
		if t.Server != "" {
			if _, err := hostPort(t.Server, "53"); err != nil {
				v.errorf(p+".server", "%v", err)
			}
		}
		if !validRecordType(t.RecordType) {
			v.errorf(p+".record_type", "unknown record type %q (A, AAAA, CNAME, MX, NS, PTR, SRV, TXT, SOA)", t.RecordType)
		}
		if t.Transport != "udp" && t.Transport != "tcp" {
			v.errorf(p+".transport", "%q is not udp or tcp", t.Transport)
		}
	case KindHTTP:
		if t.URL == "" {
			v.errorf(p+".url", "is required")
		} else if err := checkURL(t.URL); err != nil {
			v.errorf(p+".url", "%v", err)
		}
		if t.Method != "GET" && t.Method != "HEAD" {
			v.errorf(p+".method", "%q is not GET or HEAD", t.Method)
		}
		for j, s := range t.ExpectStatus {
			if s < 100 || s > 599 {
				v.errorf(fmt.Sprintf("%s.expect_status[%d]", p, j), "%d is not an HTTP status code", s)
			}
		}
		if t.MaxBodyBytes < 0 || t.MaxBodyBytes > 1<<30 {
			v.errorf(p+".max_body_bytes", "must be between 0 and 1GiB")
		}
	}
}

// Bounds of throughput tests.
const (
	MinThroughputTimeout = 5 * time.Second // room for the idle pings and two directions
	MinThroughputBytes   = 1 << 20
)

func (v *validator) throughput(tp *Throughput) {
	switch tp.Mode {
	case "onprem":
		if tp.URL == "" {
			v.errorf("throughput.url", "is required in onprem mode (the URL of a wardprobe target)")
		} else if err := checkURL(tp.URL); err != nil {
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
	if tp.MaxBytes < MinThroughputBytes {
		v.errorf("throughput.max_bytes", "must be at least 1MiB to measure anything")
	}
	if tp.DailyBudget < tp.MaxBytes {
		v.errorf("throughput.daily_budget", "is smaller than max_bytes, so no test could run")
	}
}

func (v *validator) push(p *Push) {
	if p.URL == "" {
		v.errorf("push.url", "is required")
	} else if err := checkURL(p.URL); err != nil {
		v.errorf("push.url", "%v", err)
	}
	if p.Interval.D() < time.Second {
		v.errorf("push.interval", "%s is shorter than 1s", p.Interval)
	}
	if p.MaxQueueBytes < 1<<20 {
		v.errorf("push.max_queue_bytes", "must be at least 1MiB")
	}
	if p.MaxQueueAge.D() < time.Minute {
		v.errorf("push.max_queue_age", "must be at least 1m")
	}
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q is not an http or https URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}

func validHost(h string) bool {
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

// hostPort checks s is host:port (port defaulting to def when def != "").
func hostPort(s, def string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if def == "" {
			return "", fmt.Errorf("%q is not host:port", s)
		}
		host, port = strings.Trim(s, "[]"), def
	}
	if !validHost(host) {
		return "", fmt.Errorf("%q is not a host name or IP address", host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q is not a port number", port)
	}
	return net.JoinHostPort(host, port), nil
}

// HostPort returns s as host:port, adding def as the port when s has none.
func HostPort(s, def string) (string, error) { return hostPort(s, def) }

func validRecordType(t string) bool {
	switch strings.ToUpper(t) {
	case "A", "AAAA", "CNAME", "MX", "NS", "PTR", "SRV", "TXT", "SOA":
		return true
	}
	return false
}

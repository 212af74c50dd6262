package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Duration is a time.Duration written in Prometheus style ("500ms", "30s",
// "30m", "1h", "7d").
type Duration time.Duration

func (d *Duration) decodeScalar(s string) error {
	v, err := model.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a duration (use e.g. 500ms, 30s, 5m, 1h)", s)
	}
	*d = Duration(v)
	return nil
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d in Prometheus style.
func (d Duration) String() string { return model.Duration(d).String() }

// ByteSize is a size in bytes written with an optional binary or decimal unit
// ("512MiB", "1GB", "4096").
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

func (b *ByteSize) decodeScalar(s string) error {
	n, err := ParseByteSize(s)
	if err != nil {
		return err
	}
	*b = ByteSize(n)
	return nil
}

// ParseByteSize parses a size in bytes with an optional binary (KiB, MiB,
// GiB, TiB) or decimal (kB/KB, MB, GB, TB) unit, or B: "4096", "64KiB",
// "1.5GB". Fractions are allowed and truncated to whole bytes. It is the one
// parser of sizes, for config keys and command-line flags alike; callers
// check their own bounds. Errors: not a number, negative, not finite, or
// over 2^62 bytes.
func ParseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	num := s
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			mult, num = u.mult, strings.TrimSpace(strings.TrimSuffix(s, u.suffix))
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || math.IsNaN(f) || f*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("%q is not a size (use e.g. 4096, 64KiB, 512MiB, 1GB)", s)
	}
	return int64(f * float64(mult)), nil
}

// Config is a whole wardprobe configuration file.
type Config struct {
	Probe      Probe               `yaml:"probe"`
	Location   Location            `yaml:"location"`
	Standard   string              `yaml:"standard"`
	Standards  map[string]Standard `yaml:"standards"`
	WiFi       WiFi                `yaml:"wifi"`
	Targets    []Target            `yaml:"targets"`
	Throughput *Throughput         `yaml:"throughput"`
	Push       *Push               `yaml:"push"`

	// File is where the config was read from ("" for the built-in default).
	File string `yaml:"-"`
}

// Probe identifies this probe.
type Probe struct {
	// Name is the unique probe id; it becomes the "probe" label.
	Name string `yaml:"name"`
}

// Location places the probe; all but Spot, X and Y become labels on every series.
type Location struct {
	Site     string `yaml:"site"`
	Building string `yaml:"building"`
	Floor    string `yaml:"floor"`
	Ward     string `yaml:"ward"`
	// Spot is free text, only shown in wardprobe_probe_info.
	Spot string `yaml:"spot"`
	// X and Y are the position on the floor plan, 0..1 from the top left.
	X *float64 `yaml:"x"`
	Y *float64 `yaml:"y"`
}

// Standard is a minimum standard a ward is held to. Unset values are not judged.
type Standard struct {
	SignalDBM     *float64 `yaml:"signal_dbm"`     // minimum signal, dBm
	SNRDB         *float64 `yaml:"snr_db"`         // minimum signal-to-noise ratio, dB
	SecondAPDBM   *float64 `yaml:"second_ap_dbm"`  // a second AP of the SSID at least this strong, dBm
	LossRatio     *float64 `yaml:"loss_ratio"`     // maximum packet loss, 0..1
	RTTSeconds    *float64 `yaml:"rtt_seconds"`    // maximum round-trip time, seconds
	JitterSeconds *float64 `yaml:"jitter_seconds"` // maximum jitter, seconds
}

// WiFi names the Wi-Fi interface under test and the SSIDs that count.
type WiFi struct {
	// Interface is the Wi-Fi interface under test. When set, network probes
	// are sourced from its address; when empty the first wireless interface
	// is reported and probes follow the routing table.
	Interface string `yaml:"interface"`
	// SSIDs are the networks that count for coverage (empty: any).
	SSIDs []string `yaml:"ssids"`
	// NotSpotDBM is the signal below which an associated station is in a not-spot.
	NotSpotDBM float64 `yaml:"notspot_dbm"`
	// PollInterval is how often link data is read.
	PollInterval Duration `yaml:"poll_interval"`
	// ScanInterval enables active scans at this interval (0 = off; needs CAP_NET_ADMIN).
	ScanInterval Duration `yaml:"scan_interval"`
	// MaxNeighbors bounds the neighbour series exported.
	MaxNeighbors int `yaml:"max_neighbors"`
}

// Target kinds.
const (
	KindICMP = "icmp"
	KindDNS  = "dns"
	KindHTTP = "http"
	KindTCP  = "tcp"
)

// Target is one thing probed on its own interval.
type Target struct {
	Name     string   `yaml:"name"`
	Kind     string   `yaml:"kind"`
	Interval Duration `yaml:"interval"`
	// Timeout bounds one probe; for icmp it is the per-packet timeout after
	// which a packet counts as lost.
	Timeout Duration `yaml:"timeout"`

	// Address is the icmp host (or "gateway") or the tcp host:port.
	Address string `yaml:"address"`
	// PacketSize is the icmp payload size in bytes.
	PacketSize int `yaml:"packet_size"`

	// Server is the dns server host[:port]; empty uses the system resolver.
	Server string `yaml:"server"`
	// Query is the dns name to resolve.
	Query string `yaml:"query"`
	// RecordType is the dns record type (A, AAAA, CNAME, MX, TXT, SRV, NS, PTR).
	RecordType string `yaml:"record_type"`
	// Transport is the dns transport, udp or tcp.
	Transport string `yaml:"transport"`

	// URL is the http(s) URL fetched.
	URL string `yaml:"url"`
	// Method is the http method (GET or HEAD).
	Method string `yaml:"method"`
	// ExpectStatus lists acceptable status codes (empty: any 2xx).
	ExpectStatus []int `yaml:"expect_status"`
	// MaxBodyBytes caps how much of the body is read.
	MaxBodyBytes ByteSize `yaml:"max_body_bytes"`
	// CAFile is a PEM bundle of extra CAs to trust (e.g. the trust's own CA).
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify disables certificate verification (expiry is still reported).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// FollowRedirects follows up to 5 redirects (default true).
	FollowRedirects *bool `yaml:"follow_redirects"`
}

// Throughput configures periodic throughput tests (off when absent).
type Throughput struct {
	Mode      string   `yaml:"mode"` // onprem | ookla
	URL       string   `yaml:"url"`
	ServerIDs []string `yaml:"server_ids"`
	Interval  Duration `yaml:"interval"`
	// Timeout bounds one whole test.
	Timeout Duration `yaml:"timeout"`
	// MaxBytes bounds the bytes one test may move.
	MaxBytes ByteSize `yaml:"max_bytes"`
	// DailyBudget bounds the bytes tests may move per day; tests pause after.
	DailyBudget ByteSize `yaml:"daily_budget"`
}

// Push configures remote-write store-and-forward (off when absent).
type Push struct {
	URL           string   `yaml:"url"`
	Interval      Duration `yaml:"interval"`
	QueueDir      string   `yaml:"queue_dir"`
	MaxQueueBytes ByteSize `yaml:"max_queue_bytes"`
	MaxQueueAge   Duration `yaml:"max_queue_age"`
	// BearerTokenFile holds a token sent as Authorization: Bearer (never logged).
	BearerTokenFile string `yaml:"bearer_token_file"`
}

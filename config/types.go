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

// MaxByteSize is the largest size ParseByteSize accepts (1 TiB).
const MaxByteSize = 1 << 40

// ParseByteSize parses a size in bytes with an optional binary (KiB, MiB,
// GiB, TiB) or decimal (kB, MB, GB, TB) unit, or B. It is the one parser of
// sizes: config keys and command-line flags both use it. The result is
// between 0 and MaxByteSize.
func ParseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	num := s
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			mult, num = u.mult, strings.TrimSpace(rest)
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || math.IsNaN(f) || f*float64(mult) > MaxByteSize {
		return 0, fmt.Errorf("%q is not a size between 0 and 1TiB (use e.g. 4096, 64KiB, 512MiB, 1GB)", s)
	}
	return int64(f * float64(mult)), nil
}

func (b *ByteSize) decodeScalar(s string) error {
	n, err := ParseByteSize(s)
	*b = ByteSize(n)
	return err
}

// String formats b with the largest binary unit that divides it.
func (b ByteSize) String() string {
	for i := 3; i >= 0; i-- {
		if u := byteUnits[i]; b != 0 && int64(b)%u.mult == 0 {
			return strconv.FormatInt(int64(b)/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
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
	File string `yaml:"-" json:"-"`
	// lines maps each dotted path of the file to its line.
	lines map[string]int
}

// Line returns the line of the dotted path in the file, or of its nearest
// ancestor that has one (1 when none has).
func (c *Config) Line(path string) int { return LineOf(c.lines, path) }

// LineOf returns the line of the dotted path in lines (as Strict.Decode
// returns them), or of its nearest ancestor that has one (1 when none has).
func LineOf(lines map[string]int, path string) int {
	for p := path; p != ""; {
		if l, ok := lines[p]; ok {
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

// Errorf returns an Error at the dotted path of the file c was read from.
func (c *Config) Errorf(path, format string, args ...any) Error {
	return Error{File: c.File, Line: c.Line(path), Path: path, Msg: fmt.Sprintf(format, args...)}
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

// WiFi names the Wi-Fi interface under test and the SSIDs that count.
type WiFi struct {
	// Interface is the Wi-Fi interface under test. When set, every probe and
	// every name lookup is bound to it; when empty the first wireless
	// interface is reported and probes follow the routing table.
	Interface string `yaml:"interface"`
	// SSIDs are the networks that count for coverage (empty: any), written
	// with the escapes of wifi.EscapeSSID for bytes that are not UTF-8.
	SSIDs []string `yaml:"ssids"`
	// NotSpotDBM is the signal below which an associated station is in a not-spot, dBm.
	NotSpotDBM float64 `yaml:"notspot_dbm"`
	// PollInterval is how often link data is read.
	PollInterval Duration `yaml:"poll_interval"`
	// ScanInterval enables active scans at this interval (0 = off; needs CAP_NET_ADMIN).
	ScanInterval Duration `yaml:"scan_interval"`
	// MaxNeighbors bounds the neighbour series exported.
	MaxNeighbors int `yaml:"max_neighbors"`
	// ConnectTest configures time-to-connect tests (off when absent).
	ConnectTest *ConnectTest `yaml:"connect_test"`
}

// ConnectTest is a connect test on an adapter wardprobe owns: each test
// joins SSID from scratch (802.11, 802.1X or PSK, 4-way handshake, DHCP,
// DNS, gateway) and times each phase.
type ConnectTest struct {
	// Interface is the adapter the test owns (may equal wifi.interface).
	Interface string `yaml:"interface"`
	// SSID is the network joined, written as wifi.ssids are.
	SSID     string   `yaml:"ssid"`
	Interval Duration `yaml:"interval"`
	// Timeout bounds one test, from enabling the network to the gateway answering.
	Timeout Duration `yaml:"timeout"`
	// PSKFile holds the WPA2-Personal passphrase or PSK. Exactly one of
	// psk_file and eap.
	PSKFile SecretFile `yaml:"psk_file"`
	EAP     *EAP       `yaml:"eap"`
	// Query is the name looked up in the DNS phase.
	Query string `yaml:"query"`
	// Frequencies, when set, bound the scans to these channels (MHz).
	Frequencies []int `yaml:"frequencies"`
}

// EAP is 802.1X authentication of a connect test.
type EAP struct {
	Method       string     `yaml:"method"` // peap | tls | ttls
	Identity     string     `yaml:"identity"`
	PasswordFile SecretFile `yaml:"password_file"`
	// CAFile is the PEM CA of the RADIUS server's certificate.
	CAFile string `yaml:"ca_file"`
	// Phase2 is the inner method: mschapv2 (peap, ttls) or pap (ttls).
	Phase2         string     `yaml:"phase2"`
	ClientCertFile string     `yaml:"client_cert_file"`
	ClientKeyFile  SecretFile `yaml:"client_key_file"`
}

// Target is one thing probed on its own interval. The keys every kind has
// are fields here; the kind's own keys live in Spec.
type Target struct {
	Name     string   `yaml:"name"`
	Kind     string   `yaml:"kind"`
	Interval Duration `yaml:"interval"`
	// Timeout bounds one probe; for a kind whose timeout is per packet (icmp)
	// it is the time after which a packet counts as lost.
	Timeout Duration `yaml:"timeout"`
	// Spec is the kind's own settings (a pointer to the kind's spec struct),
	// nil when the kind is unknown.
	Spec Spec `yaml:"-"`
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
	// BasicAuth authenticates to the target (its web config's basic auth).
	BasicAuth *BasicAuth `yaml:"basic_auth"`
}

// Push configures remote-write store-and-forward (off when absent): every
// interval a sample of every series /metrics serves is written to a queue on
// disk and sent, oldest first, to a remote-write receiver.
type Push struct {
	// URL is the receiver's remote-write endpoint (http or https). No
	// credentials in it: they come from files.
	URL string `yaml:"url"`
	// Interval is how often a sample of every series is queued.
	Interval Duration `yaml:"interval"`
	// Timeout bounds one request (default 30s, Prometheus' remote_timeout).
	Timeout Duration `yaml:"timeout"`
	// QueueDir holds the queue; under systemd, inside the state directory.
	QueueDir string `yaml:"queue_dir"`
	// MaxQueueBytes and MaxQueueAge bound the queue; past either the oldest
	// samples are dropped (and counted).
	MaxQueueBytes ByteSize `yaml:"max_queue_bytes"`
	MaxQueueAge   Duration `yaml:"max_queue_age"`
	// BearerTokenFile holds a token sent as Authorization: Bearer (never logged).
	BearerTokenFile SecretFile `yaml:"bearer_token_file"`
	// BasicAuth sends HTTP basic authentication.
	BasicAuth *BasicAuth `yaml:"basic_auth"`
	// TLSConfig configures an https receiver: its CA and a client certificate.
	TLSConfig *TLSConfig `yaml:"tls_config"`
}

// TLSConfig is the TLS client side of a connection to an https URL, as
// Prometheus' tls_config.
type TLSConfig struct {
	// CAFile holds the CA certificates (PEM) the server's certificate must
	// chain to (empty: the system's).
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile hold a client certificate and its key (PEM), for
	// receivers that require mutual TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName is the name the server's certificate must carry (default:
	// the URL's host).
	ServerName string `yaml:"server_name"`
}

// SecretFile is the path of a file holding one credential (a password, a
// token, a pre-shared key), as Prometheus' password_file: the config holds
// no secret, only where to find it. Building a config reads every
// SecretFile, so that check-config refuses one that cannot be read, and
// registers its content to be masked in every output.
type SecretFile string

// BasicAuth is HTTP basic authentication with the password in a file.
type BasicAuth struct {
	Username     string     `yaml:"username"`
	PasswordFile SecretFile `yaml:"password_file"`
}

// MarshalYAML writes d in Prometheus style.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalYAML writes b with its largest binary unit.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }

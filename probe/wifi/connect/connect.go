// Package connect measures how long a Wi-Fi device takes to join the
// network, phase by phase, as the commercial Wi-Fi experience sensors do:
// scan, 802.11 authentication and association, 802.1X/EAP (PEAP-MSCHAPv2,
// EAP-TLS, EAP-TTLS) or nothing for PSK, the 4-way handshake, DHCP, a DNS
// lookup and the gateway answering. Each test is a full connect from
// scratch with no cached keys (a new supplicant process, so no PMKSA cache
// and no EAP session resumption): 802.1X is measured every time.
//
// The test owns its adapter. It drives a private wpa_supplicant (Debian's
// wpasupplicant) that it starts and stops, with its own config file and
// control socket in a private runtime directory, through the control
// interface (see Ctrl), and times each phase from the supplicant's events.
// DHCP is done here, with github.com/insomniacslk/dhcp's nclient4, so that
// the phase is timed exactly; the lease is applied through rtnetlink
// (github.com/vishvananda/netlink). The DNS lookup and the gateway ping are
// bound to the adapter. No other program is run.
//
// Credentials come from files. They reach the supplicant over its control
// socket (never its config file, which holds no secret, and never its
// command line), and never appear in a Result, an error or a log line.
//
// # Phases
//
// Each phase starts where the previous one ended; they add up to total:
//
//	association  from enabling the network (scan included) to "Associated with"
//	             (scan: the part of it before the first authentication attempt)
//	eap          "Associated with" to CTRL-EVENT-EAP-SUCCESS (802.1X only)
//	handshake    the end of eap (or association) to CTRL-EVENT-CONNECTED:
//	             the 4-way handshake, keys installed
//	dhcp         CTRL-EVENT-CONNECTED to the lease applied to the adapter
//	dns          one lookup of Config.Query through the lease's DNS server
//	gateway      the lease's router answering an ICMP echo
//	total        enabling the network to the gateway answering
//
// A failure names the phase in progress and a bounded reason (Reason).
package connect

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode"
)

// Defaults of Config.
const (
	DefaultInterval = 15 * time.Minute
	DefaultTimeout  = 30 * time.Second
	DefaultQuery    = "nhs.uk"
	DefaultStateDir = "/run/wardprobe"
	// DefaultRouteTable and DefaultRulePriority are the policy routing the
	// test uses on an adapter of its own (not the main link): table 30576
	// ("wp" in ASCII) holds the lease's routes, and a rule before the main
	// table sends traffic bound to the adapter there, so the machine's own
	// routing is never touched.
	DefaultRouteTable   = 0x7770
	DefaultRulePriority = 0x7770
	// setupTimeout bounds starting the supplicant (about 0.1 s on a
	// Raspberry Pi; far more under the lab's software emulation).
	setupTimeout = 30 * time.Second
	// noAPScans is how many scans without the SSID make "no_ap".
	noAPScans = 2
)

// Config is one connect test.
type Config struct {
	// Interface is the adapter the test owns.
	Interface string
	// SSID is the network joined.
	SSID string
	// Interval is the time between tests (Run); default 15m.
	Interval time.Duration
	// Timeout bounds a test from enabling the network to the gateway
	// answering; default 30s.
	Timeout time.Duration
	// PSKFile holds the WPA2-Personal passphrase (8..63 printable ASCII
	// characters) or the 64-hex-digit PSK. Exactly one of PSKFile and EAP.
	PSKFile string
	// EAP configures WPA2-Enterprise (802.1X).
	EAP *EAP
	// Query is the name looked up in the dns phase (default "nhs.uk").
	Query string
	// Frequencies, when set, limits scanning and association to these
	// channels (centre frequencies in MHz), as a device locked to the
	// ward's channels would. By default every channel the adapter has is
	// scanned, as most devices do (a full scan takes 2-5 s).
	Frequencies []int
	// ReadSecret, when set, reads a credential file (the daemon's reads
	// through its redactor, which then masks the content in every output);
	// by default the file's first line is read.
	ReadSecret func(path string) (string, error)
	// Trace, when set, receives every message of the supplicant with its
	// arrival time (for debug logs; the messages hold no credential).
	Trace func(at time.Time, msg string)
	// MainInterface is wifi.interface, the main link. When it is another
	// adapter on the same network, both get arp_ignore=1 and
	// arp_announce=2, so that neither answers ARP for the other's address
	// (ARP flux would steer the main link's replies to the test adapter).
	MainInterface string
	// Shared says the adapter is also the main link (wifi.interface): the
	// connection is kept between tests (the supplicant stays, the lease is
	// renewed) and each test is a planned outage, recorded in Planned.
	Shared bool
	// Planned receives the planned outages of a shared adapter.
	Planned *Planned
	// StateDir is the private runtime directory (default /run/wardprobe);
	// the test works in StateDir/connect-IFACE, mode 0700.
	StateDir string
	// Supplicant is the wpa_supplicant program (default: found in PATH,
	// /usr/sbin or /sbin).
	Supplicant string
	// RouteTable and RulePriority: see DefaultRouteTable.
	RouteTable   int
	RulePriority int
}

// EAP is the 802.1X part of Config.
type EAP struct {
	// Method is "peap", "tls" or "ttls".
	Method string
	// Identity is the EAP identity (user name).
	Identity string
	// PasswordFile holds the password (peap, ttls).
	PasswordFile string
	// CAFile is the PEM CA that signed the RADIUS server's certificate.
	// Without it the server is not verified (and the log says so).
	CAFile string
	// Phase2 is the inner method: "mschapv2" (peap, ttls; default) or
	// "pap" (ttls).
	Phase2 string
	// ClientCertFile and ClientKeyFile are the client's PEM certificate and
	// unencrypted key (tls).
	ClientCertFile string
	ClientKeyFile  string
}

// Methods accepted in EAP.Method.
const (
	MethodPEAP = "peap"
	MethodTLS  = "tls"
	MethodTTLS = "ttls"
)

// WithDefaults returns c with its defaults filled in.
func (c Config) WithDefaults() Config {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Query == "" {
		c.Query = DefaultQuery
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.RouteTable == 0 {
		c.RouteTable = DefaultRouteTable
	}
	if c.RulePriority == 0 {
		c.RulePriority = DefaultRulePriority
	}
	if c.EAP != nil && c.EAP.Phase2 == "" && c.EAP.Method != MethodTLS {
		e := *c.EAP
		e.Phase2 = "mschapv2"
		c.EAP = &e
	}
	return c
}

// FieldError is a problem with one config key, named by its path below
// wifi.connect_test ("eap.password_file").
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Validate checks c (after WithDefaults) and returns every problem, each a
// *FieldError, joined. It reads no file: files are read at each test, so
// that a rotated credential is picked up.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if c.Interface == "" {
		bad("interface", "required")
	} else if len(c.Interface) > 15 || strings.ContainsAny(c.Interface, "/ \t\n") {
		bad("interface", "%q is not an interface name", c.Interface)
	}
	if c.SSID == "" {
		bad("ssid", "required")
	} else if len(c.SSID) > 32 {
		bad("ssid", "longer than 32 bytes")
	}
	if c.Interval < time.Minute {
		bad("interval", "must be at least 1m (a test takes the adapter off the air)")
	}
	if c.Timeout < time.Second || c.Timeout > 5*time.Minute {
		bad("timeout", "must be between 1s and 5m")
	} else if c.Timeout >= c.Interval {
		bad("timeout", "must be shorter than the interval")
	}
	if c.Query == "" || len(c.Query) > 253 || strings.ContainsAny(c.Query, " \t\n") {
		bad("query", "%q is not a DNS name", c.Query)
	}
	switch {
	case c.PSKFile == "" && c.EAP == nil:
		bad("psk_file", "one of psk_file and eap is required")
	case c.PSKFile != "" && c.EAP != nil:
		bad("psk_file", "give psk_file or eap, not both")
	case c.PSKFile != "":
		checkPath(bad, "psk_file", c.PSKFile)
	default:
		c.EAP.validate(bad)
	}
	for _, f := range c.Frequencies {
		if f < 2400 || f > 7200 {
			bad("frequencies", "%d MHz is not a Wi-Fi channel's centre frequency", f)
			break
		}
	}
	if !filepath.IsAbs(c.StateDir) {
		bad("state_dir", "must be an absolute path")
	}
	return errors.Join(errs...)
}

func (e *EAP) validate(bad func(field, format string, args ...any)) {
	if e.Identity == "" {
		bad("eap.identity", "required")
	} else if len(e.Identity) > 253 {
		bad("eap.identity", "longer than 253 bytes")
	}
	if e.CAFile != "" {
		checkPath(bad, "eap.ca_file", e.CAFile)
	}
	switch e.Method {
	case MethodPEAP, MethodTTLS:
		if e.PasswordFile == "" {
			bad("eap.password_file", "required for %s", e.Method)
		} else {
			checkPath(bad, "eap.password_file", e.PasswordFile)
		}
		switch {
		case e.Method == MethodPEAP && e.Phase2 != "mschapv2":
			bad("eap.phase2", "peap takes mschapv2, not %q", e.Phase2)
		case e.Method == MethodTTLS && e.Phase2 != "mschapv2" && e.Phase2 != "pap":
			bad("eap.phase2", "ttls takes mschapv2 or pap, not %q", e.Phase2)
		}
		if e.ClientCertFile != "" || e.ClientKeyFile != "" {
			bad("eap.client_cert_file", "only for method tls")
		}
	case MethodTLS:
		if e.ClientCertFile == "" {
			bad("eap.client_cert_file", "required for tls")
		} else {
			checkPath(bad, "eap.client_cert_file", e.ClientCertFile)
		}
		if e.ClientKeyFile == "" {
			bad("eap.client_key_file", "required for tls")
		} else {
			checkPath(bad, "eap.client_key_file", e.ClientKeyFile)
		}
		if e.PasswordFile != "" {
			bad("eap.password_file", "not used by tls")
		}
		if e.Phase2 != "" {
			bad("eap.phase2", "not used by tls")
		}
	case "":
		bad("eap.method", "required: peap, tls or ttls")
	default:
		bad("eap.method", "%q is not one of peap, tls, ttls", e.Method)
	}
}

// checkPath accepts absolute paths the supplicant can take quoted.
func checkPath(bad func(field, format string, args ...any), field, p string) {
	if !filepath.IsAbs(p) {
		bad(field, "must be an absolute path")
		return
	}
	for _, r := range p {
		if r == '"' || unicode.IsControl(r) {
			bad(field, "must not contain quotes or control characters")
			return
		}
	}
}

// Phase is a step of a connect test, the "phase" label value.
type Phase string

// Phases, in order. PhaseSetup only names failures (starting the
// supplicant, reading credentials); PhaseScan is the part of
// PhaseAssociation spent finding the AP.
const (
	PhaseSetup       Phase = "setup"
	PhaseScan        Phase = "scan"
	PhaseAssociation Phase = "association"
	PhaseEAP         Phase = "eap"
	PhaseHandshake   Phase = "handshake"
	PhaseDHCP        Phase = "dhcp"
	PhaseDNS         Phase = "dns"
	PhaseGateway     Phase = "gateway"
	PhaseTotal       Phase = "total"
)

// Phases lists every Phase with a duration, in order.
func Phases() []Phase {
	return []Phase{PhaseScan, PhaseAssociation, PhaseEAP, PhaseHandshake, PhaseDHCP, PhaseDNS, PhaseGateway, PhaseTotal}
}

// Reason is why a test failed: a bounded set, the "reason" label value.
type Reason string

// Failure reasons.
const (
	ReasonTimeout      Reason = "timeout"      // the phase did not complete in time
	ReasonNoAP         Reason = "no_ap"        // no AP of the SSID heard in two scans
	ReasonRejected     Reason = "rejected"     // refused: 802.11 authentication/association, EAP failure, DHCP NAK
	ReasonWrongKey     Reason = "wrong_key"    // the 4-way handshake failed (wrong PSK)
	ReasonCertificate  Reason = "certificate"  // the RADIUS server's certificate was not trusted
	ReasonDisconnected Reason = "disconnected" // the AP dropped the station mid-test
	ReasonNoLease      Reason = "no_lease"     // no DHCP offer or acknowledgement
	ReasonDNS          Reason = "dns"          // the DNS server answered with an error or no address
	ReasonNoServer     Reason = "no_server"    // the lease named no DNS server
	ReasonNoGateway    Reason = "no_gateway"   // the lease named no router
	ReasonUnreachable  Reason = "unreachable"  // the gateway did not answer
	ReasonNoInterface  Reason = "no_interface" // the adapter is missing
	ReasonSupplicant   Reason = "supplicant"   // wpa_supplicant would not start or answer
	ReasonCredentials  Reason = "credentials"  // a credential file is missing, unreadable or invalid
	ReasonPermission   Reason = "permission"   // the process lacks CAP_NET_ADMIN or CAP_NET_RAW
	ReasonOther        Reason = "other"        // anything else
)

// Reasons lists every Reason.
func Reasons() []Reason {
	return []Reason{ReasonTimeout, ReasonNoAP, ReasonRejected, ReasonWrongKey, ReasonCertificate, ReasonDisconnected,
		ReasonNoLease, ReasonDNS, ReasonNoServer, ReasonNoGateway, ReasonUnreachable, ReasonNoInterface,
		ReasonSupplicant, ReasonCredentials, ReasonPermission, ReasonOther}
}

// PhaseTime is the duration of one completed phase.
type PhaseTime struct {
	Phase    Phase
	Duration time.Duration
}

// Result is the outcome of one connect test. It is a plain value.
type Result struct {
	Interface string
	SSID      string
	// Method is "psk", "peap", "tls" or "ttls".
	Method string
	// Start is when the network was enabled; Time when the test ended.
	Start time.Time
	Time  time.Time
	// Success is false when Phase and Reason say where and why it failed.
	Success bool
	Phase   Phase
	Reason  Reason
	// Detail explains a failure in words (never a credential).
	Detail string
	// Phases are the durations of the phases that completed, in order;
	// PhaseTotal only when the test succeeded.
	Phases []PhaseTime
	// BSSID is the AP joined; Address the leased address (CIDR), Gateway
	// and DNSServer from the lease.
	BSSID     string
	Address   string
	Gateway   string
	DNSServer string
	// Planned is set when the test was a planned outage of the main link.
	Planned bool
	// Warning is a problem that did not stop the test (for the log).
	Warning string
}

// Duration returns the duration of phase p, if it completed.
func (r Result) Duration(p Phase) (time.Duration, bool) {
	for _, pt := range r.Phases {
		if pt.Phase == p {
			return pt.Duration, true
		}
	}
	return 0, false
}

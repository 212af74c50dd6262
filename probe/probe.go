// Package probe holds what every measurement shares: the Result a probe
// reports, the bounded set of failure reasons, and the Scheduler that runs each
// target on its own interval, independent of scrapes.
//
// One package per kind (icmp, dns, http, tcp) lives below this one, each
// defining its Kind; probe/kinds is the table of them. probe never imports
// Prometheus: results reach the exporter as Result values, and a kind's
// metrics are declared as data (Metric) and filled through Observations.
package probe

import (
	"context"
	"time"

	"github.com/wardprobe/wardprobe/internal/escape"
)

// Reason is why a probe failed. The set is bounded so that it can be a label.
type Reason string

// Failure reasons.
const (
	ReasonNone        Reason = ""
	ReasonTimeout     Reason = "timeout"     // no answer within the timeout
	ReasonRefused     Reason = "refused"     // connection refused (TCP RST, ICMP port unreachable)
	ReasonUnreachable Reason = "unreachable" // no route, host or network unreachable
	ReasonReset       Reason = "reset"       // connection reset or closed mid-exchange
	ReasonDNS         Reason = "dns"         // name resolution failed or DNS error rcode
	ReasonTLS         Reason = "tls"         // TLS handshake or certificate verification failed
	ReasonHTTPStatus  Reason = "http_status" // unexpected HTTP status code
	// ReasonRedirects: the server kept redirecting past the bound on
	// redirects followed (a loop, say); the last status is still reported.
	ReasonRedirects   Reason = "redirects"
	ReasonNoInterface Reason = "no_interface" // the interface under test is missing or down
	ReasonNoAddress   Reason = "no_address"   // the interface under test has no usable address
	ReasonNoGateway   Reason = "no_gateway"   // there is no default gateway to probe
	ReasonProtocol    Reason = "protocol"     // a malformed or unexpected reply
	ReasonPermission  Reason = "permission"   // the process lacks a needed privilege
	ReasonOther       Reason = "other"        // anything else
)

// Result is one outcome of one target: for a packet kind (icmp) one packet,
// answered or lost; for the other kinds one probe. It is a plain value so
// that probes and the exporter share no mutable state.
type Result struct {
	Target string
	Kind   string
	Time   time.Time // when the outcome was known
	// Success is false when Reason is set.
	Success bool
	Reason  Reason
	// Detail is a human explanation of a failure, for logs and the landing
	// page only. It may quote bytes from the network: Fail escapes it
	// (escape.Text), and a kind that sets it directly must too.
	Detail string
	// Duration is the kind's main timing: the round trip (icmp), lookup (dns),
	// connection set-up (tcp) or whole fetch (http); 0 when there is none.
	Duration time.Duration
	// Addr is the address actually probed (the resolved gateway, say).
	Addr string
	// Summary is the kind's own outcome in a few words ("HTTP 200", "NOERROR").
	Summary string

	// Packets is how many packets this result accounts for, for kinds that
	// count for coverage: 1 for a packet answered or lost, 0 when none could
	// be sent.
	Packets int
	// Sent is when the result's one packet was sent (or its send failed),
	// on the monotonic clock: a lost packet is settled a timeout after it,
	// or later when the probe's goroutine ran late. Zero when unknown.
	Sent time.Time
	// Jitter is the smoothed variation of round-trip times after this
	// packet (RFC 3550); HaveJitter says whether there is one yet.
	Jitter     time.Duration
	HaveJitter bool

	// Observations feed the kind's own metrics.
	Observations []Observation
}

// Emit receives results. It must not block for long and must be safe for
// concurrent use.
type Emit func(Result)

// Prober runs one probe of one target and reports its outcome. Probe must
// return by the deadline of ctx.
type Prober interface {
	Probe(ctx context.Context) Result
}

// Runner runs continuously until ctx ends, emitting results as they happen
// (icmp sends a packet per interval and reports each packet's outcome).
type Runner interface {
	Run(ctx context.Context, emit Emit)
}

// Fail returns a failed Result for a target. detail (an error's text,
// which may quote a reply: a certificate's names, a server's malformed
// status line) is escaped into printable UTF-8 (escape.Text).
func Fail(target, kind string, reason Reason, detail string) Result {
	return Result{Target: target, Kind: kind, Time: time.Now(), Reason: reason, Detail: escape.Text(detail)}
}

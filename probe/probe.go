// Package probe holds what every measurement shares: the Result a probe
// reports, the bounded set of failure reasons, and the Scheduler that runs each
// target on its own interval, independent of scrapes.
//
// One package per kind (icmp, dns, http, tcp, wifi, throughput) lives below
// this one. probe never imports Prometheus: results reach the exporter only as
// Result values through an Emit function.
package probe

import (
	"context"
	"time"
)

// Reason is why a probe failed. The set is bounded so that it can be a label.
type Reason string

// Failure reasons.
const (
	ReasonNone        Reason = ""
	ReasonTimeout     Reason = "timeout"      // no answer within the timeout
	ReasonRefused     Reason = "refused"      // connection refused (TCP RST, ICMP port unreachable)
	ReasonUnreachable Reason = "unreachable"  // no route, host or network unreachable
	ReasonReset       Reason = "reset"        // connection reset or closed mid-exchange
	ReasonDNS         Reason = "dns"          // name resolution failed or DNS error rcode
	ReasonTLS         Reason = "tls"          // TLS handshake or certificate verification failed
	ReasonHTTPStatus  Reason = "http_status"  // unexpected HTTP status code
	ReasonNoInterface Reason = "no_interface" // the interface under test is missing or down
	ReasonNoAddress   Reason = "no_address"   // the interface under test has no usable address
	ReasonNoGateway   Reason = "no_gateway"   // there is no default gateway to probe
	ReasonProtocol    Reason = "protocol"     // a malformed or unexpected reply
	ReasonPermission  Reason = "permission"   // the process lacks a needed privilege
	ReasonOther       Reason = "other"        // anything else
)

// HTTP phases, in order.
const (
	PhaseResolve = iota
	PhaseConnect
	PhaseTLS
	PhaseFirstByte
	PhaseTotal
	NumPhases
)

// PhaseName returns the "phase" label value of HTTP phase i.
func PhaseName(i int) string {
	return [NumPhases]string{"resolve", "connect", "tls", "first_byte", "total"}[i]
}

// Result is one outcome of one target: for icmp one packet (answered or lost),
// for the other kinds one probe. It is a plain value so that probes and the
// exporter share no mutable state.
type Result struct {
	Target string
	Kind   string
	Time   time.Time // when the outcome was known
	// Success is false when Reason is set.
	Success bool
	Reason  Reason
	// Detail is a human explanation of a failure, for logs and the landing page only.
	Detail string
	// Duration is the RTT (icmp), lookup time (dns), connect time (tcp) or total time (http).
	Duration time.Duration

	// Packets is how many ICMP packets this result accounts for: 1 for a
	// packet answered or lost, 0 when none could be sent.
	Packets int
	// Jitter is the smoothed RTT variation after this packet (icmp, RFC 3550 style).
	Jitter time.Duration
	// Addr is the address actually probed (the resolved gateway, say).
	Addr string

	// Rcode is the DNS response code name ("NOERROR", "NXDOMAIN", ...), "" when no reply.
	Rcode string

	// Phases are the HTTP phase durations, indexed by Phase*.
	Phases [NumPhases]time.Duration
	// StatusCode is the final HTTP status code (0 when no response).
	StatusCode int
	// CertExpiry is the earliest expiry of the served certificate chain (zero if not TLS).
	CertExpiry time.Time
	// BodyBytes is how much of the body was read (capped).
	BodyBytes int64
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

// Fail returns a failed Result for a target.
func Fail(target, kind string, reason Reason, detail string) Result {
	return Result{Target: target, Kind: kind, Time: time.Now(), Reason: reason, Detail: detail}
}

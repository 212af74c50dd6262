package probe

import (
	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/probe/netif"
)

// MetricBinding is the info metric of how probes are tied to the interface
// under test. Every kind that sends by the interface declares it
// (BindingMetric) and reports it with each result (BindingObservations):
// the exporter keeps one series, whichever kind reported last, and the
// binding is the same for every socket of the process.
const MetricBinding = "wardprobe_interface_binding_info"

// BindingMetric declares MetricBinding: labels interface and mode
// (netif.BindDevice "bound" or netif.BindSource "source_address_only"),
// value 1; absent when no wifi.interface is set.
func BindingMetric() Metric {
	return Metric{Name: MetricBinding, Type: Info, PerKind: true, Labels: []string{"interface", "mode"},
		Help: "How probes are tied to the interface under test: bound (SO_BINDTODEVICE: every packet leaves by it) " +
			"or source_address_only (the kernel refused SO_BINDTODEVICE: packets carry its address but follow the routing table); always 1."}
}

// BindingObservations are the observations of MetricBinding for a result
// of a probe through path: none when there is no interface under test.
func BindingObservations(path *netif.Path) []Observation {
	b, _ := path.Binding()
	if path.Interface() == "" {
		return nil
	}
	return []Observation{Ob(MetricBinding, 1, path.Interface(), string(b))}
}

// NoteBinding notes (once per config load, however many targets call it)
// how probes are tied to the interface under test, and with a warning what
// they fall back to when the kernel refuses SO_BINDTODEVICE.
func NoteBinding(env Env, path *netif.Path) {
	if env.Note == nil || path.Interface() == "" {
		return
	}
	switch b, err := path.Binding(); b {
	case netif.BindDevice:
		env.Note(zerolog.InfoLevel, "probes and their name lookups are bound to "+path.Interface()+" (SO_BINDTODEVICE)")
	default:
		env.Note(zerolog.WarnLevel, "probes cannot be bound to "+path.Interface()+" ("+err.Error()+
			"): they are only sourced from its address and follow the routing table, so a route through another interface "+
			"carries them there; run on Linux 5.7 or later, or grant CAP_NET_RAW (wardprobe_interface_binding_info{mode=\"source_address_only\"})")
	}
}

// Package kinds is the table of target kinds: the one place a kind is
// registered. A new kind is its own package under probe/ plus one line in
// All.
package kinds

import (
	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/dns"
	"github.com/wardprobe/wardprobe/probe/http"
	"github.com/wardprobe/wardprobe/probe/icmp"
	"github.com/wardprobe/wardprobe/probe/tcp"
)

// All returns every target kind, in the order they are documented.
func All() []probe.Kind {
	return []probe.Kind{icmp.Kind(), dns.Kind(), http.Kind(), tcp.Kind()}
}

// Config returns the config's view of the kinds.
func Config() config.Kinds {
	all := All()
	out := make(config.Kinds, len(all))
	for i, k := range all {
		out[i] = k.Kind
	}
	return out
}

// Find returns the kind named name.
func Find(name string) (probe.Kind, bool) {
	for _, k := range All() {
		if k.Name == name {
			return k, true
		}
	}
	return probe.Kind{}, false
}

// Load reads and validates the config file at path (see config.Load).
func Load(path string) (*config.Config, error) { return config.Load(path, Config()) }

// Parse decodes and validates a config held in data (see config.Parse).
func Parse(file string, data []byte) (*config.Config, error) {
	return config.Parse(file, data, Config())
}

// Default returns the built-in default config.
func Default() *config.Config {
	c, err := Parse(config.DefaultFile, []byte(config.DefaultYAML))
	if err != nil {
		panic("built-in default config is invalid: " + err.Error()) // a programming error, caught by tests
	}
	return c
}

package inventory

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// MaxNodes bounds the YAML values one inventory may expand to, aliases
// included: about 40 per probe, so 10,000 probes fit with room to spare.
// The inventory is decoded as strictly as a config (config.Strict).
const MaxNodes = 1_000_000

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

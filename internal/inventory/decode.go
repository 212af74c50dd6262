package inventory

// MaxNodes bounds the YAML values one inventory may expand to, aliases
// included: about 40 per probe, so 10,000 probes fit with room to spare.
// The inventory is decoded as strictly as a config (config.Strict).
const MaxNodes = 1_000_000

package promcheck

import (
	"bytes"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// RuleFile is a Prometheus rule file.
type RuleFile struct {
	Groups []RuleGroup `yaml:"groups"`
}

// RuleGroup is one group of rules.
type RuleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []Rule `yaml:"rules"`
}

// Rule is a recording or an alerting rule.
type Rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// LoadRules reads a rule file strictly: unknown keys are errors.
func LoadRules(path string) (RuleFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return RuleFile{}, fmt.Errorf("reading rules: %w", err)
	}
	var f RuleFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return RuleFile{}, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// AddRecordedFrom adds the outputs of f's recording rules to k.
func (k *Known) AddRecordedFrom(source string, f RuleFile) {
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				k.AddRecorded(r.Record, source)
			}
		}
	}
}

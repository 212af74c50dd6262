package config_test

import (
	"testing"

	"github.com/wardprobe/wardprobe/probe/kinds"
)

func TestYAMLView(t *testing.T) {
	c, err := kinds.Parse("g.yml", []byte(goodYAML))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", b)
	back, err := kinds.Parse("back.yml", b)
	if err != nil {
		t.Fatalf("the config view does not load back:\n%v\n%s", err, b)
	}
	if len(back.Targets) != len(c.Targets) {
		t.Errorf("targets %d, want %d", len(back.Targets), len(c.Targets))
	}
}

package deploy

import (
	"os"
	"testing"

	"github.com/wardprobe/wardprobe/probe/kinds"
)

// TestPackagedConfigIsTheBuiltInDefault: the config the package installs
// is the built-in default (safe as shipped: the gateway and one DNS lookup,
// no example hospital), so a fresh install behaves like `wardprobe` run
// with no config.
func TestPackagedConfigIsTheBuiltInDefault(t *testing.T) {
	b, err := os.ReadFile("package/wardprobe.yml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := kinds.Parse("package/wardprobe.yml", b)
	if err != nil {
		t.Fatalf("the packaged config is invalid:\n%v", err)
	}
	g, err := got.YAML()
	if err != nil {
		t.Fatal(err)
	}
	w, err := kinds.Default().YAML()
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("the packaged config differs from the built-in default:\n got %s\nwant %s", g, w)
	}
}

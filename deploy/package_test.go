package deploy

import (
	"os"
	"reflect"
	"testing"

	"github.com/wardprobe/wardprobe/config"
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
	got, err := config.Parse("package/wardprobe.yml", b)
	if err != nil {
		t.Fatalf("the packaged config is invalid:\n%v", err)
	}
	want := config.Default()
	got.File, want.File = "", ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the packaged config differs from the built-in default:\n got %+v\nwant %+v", got, want)
	}
}

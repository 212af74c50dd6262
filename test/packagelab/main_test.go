// Package packagelab builds the .deb packages with `make package` and tests
// them on this machine as an engineer would use them: dpkg -i, the files,
// user and units it leaves, the daemon run the way its unit runs it, an
// upgrade, remove and purge; then the Ansible role that rolls them out.
//
// It changes the machine (it installs a package and adds a system user), so
// it runs only as root and restores the machine at the end: the package
// purged, the user gone. CI runs it as root.
package packagelab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardprobe/wardprobe/test/lab"
)

// Versions of the two builds: the upgrade goes from V1 to V2. "~lab" marks a
// package left installed by an interrupted run, which the next run purges.
const (
	V1 = "1.0.0~lab1"
	V2 = "1.0.0~lab2"
)

// Arches are the Debian architectures make package builds.
var Arches = []string{"amd64", "arm64", "armhf"}

// builds holds where TestMain put the packages; set once before m.Run.
type builds struct {
	root string // module root
	v1   string // directory with the V1 packages (all arches)
	v2   string // directory with the V2 amd64 package
	err  error  // why they could not be built (reported by each test)
}

var built builds // written only by TestMain, before any test runs

// Deb returns the path of the package for arch and version in dir.
func Deb(dir, version, arch string) string {
	return filepath.Join(dir, fmt.Sprintf("wardprobe_%s_%s.deb", version, arch))
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wardprobe-packagelab")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	built.root, built.err = lab.ModuleRoot()
	built.v1, built.v2 = filepath.Join(dir, "v1"), filepath.Join(dir, "v2")
	if built.err == nil {
		built.err = makePackage(built.root, built.v1, V1, Arches...)
	}
	if built.err == nil {
		built.err = makePackage(built.root, built.v2, V2, "amd64")
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// makePackage runs `make package` for version and arches into dir.
func makePackage(root, dir, version string, arches ...string) error {
	cmd := exec.Command("make", "--no-print-directory", "package",
		"PKG_DIR="+dir, "PKG_VERSION="+version, "PKG_ARCHES="+strings.Join(arches, " "))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("make package %s: %v\n%s", version, err, out)
	}
	return nil
}

// needBuilds fails t when TestMain could not build the packages.
func needBuilds(t *testing.T) {
	t.Helper()
	if built.err != nil {
		t.Fatal(built.err)
	}
}

// Package deploy holds the deployment kit (systemd units, packaging,
// Prometheus, Alertmanager and central-stack configs, the Ansible role); its
// tests check the shipped units and examples. Its Go code is what those
// tests and the package lab share.
package deploy

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

// MaxExposure is the highest `systemd-analyze security` exposure level the
// shipped units may have (issue 10: "≤ 2.0 for both"; 0 is fully locked
// down, 10 fully exposed).
const MaxExposure = 2.0

var exposureRE = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

// Exposure runs `systemd-analyze security --offline=true` (systemd ≥ 250; it
// needs no running systemd) on the unit file at path and returns its overall
// exposure level (0..10) and the full report. Drop-ins in a PATH.d directory
// beside the file are not read.
func Exposure(analyze, path string) (float64, string, error) {
	cmd := exec.Command(analyze, "security", "--offline=true", "--no-pager", filepath.Base(path))
	cmd.Dir = filepath.Dir(path)
	out, err := cmd.CombinedOutput()
	m := exposureRE.FindSubmatch(out)
	if m == nil {
		return 0, string(out), fmt.Errorf("systemd-analyze security %s: no exposure level in its output (%v)", path, err)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	return v, string(out), err
}

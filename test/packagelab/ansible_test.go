package packagelab

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/test/lab"
)

// labInventory is an estate of one probe whose management address is this
// machine's loopback, so the generated Ansible inventory can run against
// the machine itself (-c local). Its config names a CA and a token file,
// which the role pushes from the secrets directory.
const labInventory = `standard: voice
config:
  targets:
    - {name: gateway, kind: icmp, address: gateway}
    - {name: epr, kind: http, url: "https://epr.lab/health", ca_file: /etc/wardprobe/lab-ca.pem}
  push:
    url: http://prometheus.lab:9090/api/v1/write
    bearer_token_file: /etc/wardprobe/push-token
sites:
  - name: Lab Hospital
    buildings:
      - name: Block A
        floors:
          - name: "1"
            wards:
              - name: Ward 1
                probes:
                  - {name: lab-probe-1, spot: Bay 1, x: 0.5, y: 0.5, management_address: 127.0.0.1}
`

// secretToken is the content of the pushed token file: it must never
// appear in Ansible's output.
const secretToken = "lab-secret-token-5c1e0b7d"

var recapRE = regexp.MustCompile(`lab-probe-1\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// TestAnsibleRole runs deploy/ansible/site.yml against this machine (-c
// local) with the inventory `wardprobe inventory` generated: it converges
// (package, config, /etc/default file and credentials installed, 0640
// root:wardprobe), a second run changes nothing and notifies no handler,
// and a config that fails check-config is refused, leaving the old one.
// Where systemd is not PID 1 the service steps are skipped and say so.
func TestAnsibleRole(t *testing.T) {
	needBuilds(t)
	lab.Require(t)
	playbook := lab.Tool(t, "ansible-playbook")
	sys := newFakeSystemd(t)
	preflight(t, sys)
	keepARPSysctls(t) // apt runs the postinst here, in this machine's network namespace
	t.Cleanup(func() {
		restore(t, sys)
		os.RemoveAll("/var/cache/wardprobe")
	})
	dir := t.TempDir()
	invFile := filepath.Join(dir, "estate.yml")
	if err := os.WriteFile(invFile, []byte(labInventory), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "fleet")
	bin := filepath.Join(built.v1, "build", "amd64", "wardprobe")
	if b, err := exec.Command(bin, "inventory", invFile, "--out", out).CombinedOutput(); err != nil {
		t.Fatalf("wardprobe inventory: %v\n%s", err, b)
	}
	secrets := filepath.Join(dir, "secrets")
	ca, err := os.ReadFile(lab.NewCerts(t, time.Hour, "epr.lab").CAFile) // check-config reads the CA as run would
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"lab-probe-1/push-token": secretToken + "\n", "lab-ca.pem": string(ca)} {
		p := filepath.Join(secrets, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	systemdPID1 := false
	if comm, err := os.ReadFile("/proc/1/comm"); err == nil && strings.TrimSpace(string(comm)) == "systemd" {
		systemdPID1 = true
	}
	run := func(step string, extra ...string) (ok, changed, failed int, output string) {
		t.Helper()
		start := time.Now()
		args := append([]string{"-i", filepath.Join(out, "ansible", "hosts.yml"), "-c", "local", "--limit", "lab-probe-1",
			"-e", "wardprobe_version=" + V1, "-e", "wardprobe_package_dir=" + built.v1, "-e", "wardprobe_secrets_dir=" + secrets,
			filepath.Join(built.root, "deploy", "ansible", "site.yml")}, extra...)
		cmd := exec.Command(playbook, args...)
		cmd.Env = append(os.Environ(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0", "ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3",
			"ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "ansible-tmp"), "ANSIBLE_RETRY_FILES_ENABLED=0")
		b, _ := cmd.CombinedOutput()
		output = string(b)
		m := recapRE.FindStringSubmatch(output)
		if m == nil {
			t.Fatalf("%s: no play recap for lab-probe-1:\n%s", step, output)
		}
		ok, _ = strconv.Atoi(m[1])
		changed, _ = strconv.Atoi(m[2])
		failed, _ = strconv.Atoi(m[4])
		t.Logf("%s: ok=%d changed=%d failed=%d in %.1f s", step, ok, changed, failed, time.Since(start).Seconds())
		if strings.Contains(output, secretToken) {
			t.Errorf("%s: the token file's content is in Ansible's output", step)
		}
		return ok, changed, failed, output
	}

	// 1. Converge.
	_, changed, failed, output := run("first run")
	if failed != 0 || changed < 6 {
		t.Fatalf("first run: changed=%d failed=%d, want all steps to change and none to fail:\n%s", changed, failed, output)
	}
	if !systemdPID1 && !strings.Contains(output, "systemd is not PID 1 here") {
		t.Errorf("first run: the skipped service steps are not announced:\n%s", output)
	}
	if !strings.Contains(output, "RUNNING HANDLER [wardprobe : Restart wardprobe]") {
		t.Errorf("first run: no restart handler notified:\n%s", output)
	}
	gen, err := os.ReadFile(filepath.Join(out, "probes", "lab-probe-1", "wardprobe.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(configPath); string(b) != string(gen) {
		t.Errorf("installed config is not the generated one:\n%s", b)
	}
	if b, _ := os.ReadFile("/etc/default/wardprobe"); !strings.Contains(string(b), "WARDPROBE_LISTEN_ADDRESS=127.0.0.1:9810") {
		t.Errorf("/etc/default/wardprobe:\n%s", b)
	}
	if b, _ := os.ReadFile("/etc/wardprobe/push-token"); string(b) != secretToken+"\n" {
		t.Error("the probe's own token file was not pushed")
	}
	checkFiles(t, []fileWant{
		{"/usr/bin/wardprobe", 0o755, "root", "root"},
		{configPath, 0o640, "root", "wardprobe"},
		{"/etc/wardprobe/push-token", 0o640, "root", "wardprobe"},
		{"/etc/wardprobe/lab-ca.pem", 0o640, "root", "wardprobe"},
		{"/etc/default/wardprobe", 0o644, "root", "root"},
	})

	// 2. Idempotent: nothing changes, no handler runs.
	_, changed, failed, output = run("second run")
	if changed != 0 || failed != 0 || strings.Contains(output, "RUNNING HANDLER") {
		t.Errorf("second run: changed=%d failed=%d (want 0 and 0, no handler):\n%s", changed, failed, output)
	}

	// 3. A config that fails check-config is refused; the old one stays
	// (only the config steps: the package steps were shown above).
	badPath := filepath.Join(out, "probes", "lab-probe-1", "wardprobe.yml")
	if err := os.WriteFile(badPath, append(gen, []byte("wifi: {pol_interval: 1s}\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, failed, output = run("bad config", "--tags", "wardprobe_config")
	if failed == 0 || !strings.Contains(output, "wifi.pol_interval: unknown key") {
		t.Errorf("a bad config was not refused with check-config's error:\n%s", output)
	}
	if b, _ := os.ReadFile(configPath); string(b) != string(gen) {
		t.Error("a bad config replaced the installed one")
	}
}

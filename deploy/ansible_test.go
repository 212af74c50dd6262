package deploy

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/wardprobe/wardprobe/test/lab"
)

// TestAnsibleSyntaxAndLint runs ansible-playbook --syntax-check and
// ansible-lint (production profile, offline) on the roll-out playbook. The
// role's run against a machine is in test/packagelab.
func TestAnsibleSyntaxAndLint(t *testing.T) {
	playbook := lab.Tool(t, "ansible-playbook")
	lint := lab.Tool(t, "ansible-lint")
	env := append(os.Environ(), "ANSIBLE_NOCOLOR=1", "NO_COLOR=1", "ANSIBLE_LOCAL_TEMP="+t.TempDir())
	cmd := exec.Command(playbook, "--syntax-check", "-i", "localhost,", "site.yml")
	cmd.Dir, cmd.Env = "ansible", env
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "playbook: site.yml") {
		t.Errorf("ansible-playbook --syntax-check: %v\n%s", err, out)
	}
	cmd = exec.Command(lint, "--offline", "--profile", "production", "--nocolor")
	cmd.Dir, cmd.Env = "ansible", env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("ansible-lint: %v\n%s", err, out)
	}
	t.Logf("ansible-lint: %s", strings.TrimSpace(string(out)))
}

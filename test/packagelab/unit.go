package packagelab

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// Unit is the part of a systemd service unit the lab runs by hand where
// systemd is not PID 1: its environment and command lines.
type Unit struct {
	Environment     []string // Environment= assignments, in order (KEY=VALUE)
	EnvironmentFile []string // EnvironmentFile= paths; a leading "-" means optional
	ExecStart       string
	ExecReload      []string // run in order; the first failure fails the reload
}

// ParseUnit reads the [Service] section of the unit file at path. It knows
// the plain key=value syntax the shipped units use (no line continuations).
func ParseUnit(path string) (Unit, error) {
	f, err := os.Open(path)
	if err != nil {
		return Unit{}, err
	}
	defer f.Close()
	var u Unit
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") {
			section = line
			continue
		}
		if section != "[Service]" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Unit{}, fmt.Errorf("%s: bad line %q", path, line)
		}
		switch k {
		case "Environment":
			words, err := splitQuoted(v)
			if err != nil {
				return Unit{}, fmt.Errorf("%s: %v", path, err)
			}
			u.Environment = append(u.Environment, words...)
		case "EnvironmentFile":
			u.EnvironmentFile = append(u.EnvironmentFile, v)
		case "ExecStart":
			u.ExecStart = v
		case "ExecReload":
			u.ExecReload = append(u.ExecReload, v)
		}
	}
	return u, sc.Err()
}

// Env returns the unit's environment as systemd builds it: Environment=
// first, then each EnvironmentFile= in order overriding it (systemd.exec(5)).
func (u Unit) Env() (map[string]string, error) {
	env := map[string]string{}
	for _, kv := range u.Environment {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, p := range u.EnvironmentFile {
		optional := strings.HasPrefix(p, "-")
		p = strings.TrimPrefix(p, "-")
		b, err := os.ReadFile(p)
		if err != nil {
			if optional && os.IsNotExist(err) {
				continue
			}
			return nil, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' || line[0] == ';' {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("%s: bad line %q", p, line)
			}
			if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
				v = v[1 : len(v)-1]
			}
			env[strings.TrimSpace(k)] = v
		}
	}
	return env, nil
}

// Command expands a command line as systemd.service(5) does: "${VAR}" is
// replaced by the value as one word, a word that is exactly "$VAR" by the
// value split at white space (nothing if empty).
func Command(line string, env map[string]string) ([]string, error) {
	words, err := splitQuoted(line)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, w := range words {
		if strings.HasPrefix(w, "$") && !strings.HasPrefix(w, "${") {
			out = append(out, strings.Fields(env[w[1:]])...)
			continue
		}
		out = append(out, os.Expand(w, func(k string) string { return env[k] }))
	}
	return out, nil
}

// splitQuoted splits s at white space, honouring double quotes.
func splitQuoted(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unbalanced quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// SyscallGroup expands a systemd system call group (such as
// "@system-service") to the set of system call names in it, nested groups
// included, with `systemd-analyze syscall-filter`.
func SyscallGroup(analyze, group string) (map[string]bool, error) {
	set := map[string]bool{}
	seen := map[string]bool{}
	var expand func(g string) error
	expand = func(g string) error {
		if seen[g] {
			return nil
		}
		seen[g] = true
		out, err := exec.Command(analyze, "syscall-filter", "--no-pager", g).Output()
		if err != nil {
			return fmt.Errorf("systemd-analyze syscall-filter %s: %v", g, err)
		}
		for i, line := range strings.Split(string(out), "\n") {
			line = strings.TrimSpace(line)
			if i == 0 || line == "" || line[0] == '#' {
				continue
			}
			if strings.HasPrefix(line, "@") {
				if err := expand(line); err != nil {
					return err
				}
				continue
			}
			set[line] = true
		}
		return nil
	}
	if err := expand(group); err != nil {
		return nil, err
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("system call group %s is empty", group)
	}
	return set, nil
}

// StraceSummary returns the system call names in an `strace -c` summary.
func StraceSummary(text string) []string {
	var names []string
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || strings.HasPrefix(line, "%") || strings.HasPrefix(line, "-") || f[len(f)-1] == "total" {
			continue
		}
		names = append(names, f[len(f)-1])
	}
	sort.Strings(names)
	return names
}

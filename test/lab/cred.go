package lab

import (
	"strings"
	"syscall"
)

// StartAs starts a command in ns as uid and gid (no supplementary groups)
// without any capability: the process a non-root service account runs,
// as root does not. Unlike Start it does not go through `ip netns exec`:
// the command is forked from a thread inside ns, so it sees the test's own
// /etc and /sys. It is stopped when the test ends, as Start's are.
func (l *Lab) StartAs(ns string, uid, gid uint32, args ...string) *Proc {
	l.t.Helper()
	p := newProc(args)
	// Leaving root for another uid clears every capability (no
	// SECBIT_KEEP_CAPS, no ambient ones).
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}}
	// A child inherits the network namespace of the thread that forks it.
	if err := InNetns(ns, p.Cmd.Start); err != nil {
		l.t.Fatalf("starting %s as %d:%d in %s: %v", strings.Join(args, " "), uid, gid, ns, err)
	}
	return l.track(p, args)
}

package lab

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// busConfig is a private system bus that lets anyone own and call anything.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`

// Bus starts a private D-Bus system bus (Debian's dbus-daemon) on a socket
// in a temporary directory and returns its address, for
// DBUS_SYSTEM_BUS_ADDRESS. It is stopped when the test ends.
func Bus(t testing.TB) string {
	t.Helper()
	daemon := Tool(t, "dbus-daemon")
	dir := t.TempDir()
	sock := filepath.Join(dir, "system_bus_socket")
	cfg := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(busConfig, sock)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+cfg, "--nofork", "--nopidfile", "--print-address")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dbus-daemon: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			t.Fatal("dbus-daemon printed no address")
		}
		return addr
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon did not start within 10 s")
	}
	return ""
}

// ResolvedServer is one DNS server of systemd-resolved's Manager.DNSEx
// property: (ifindex, family, address, port, server name).
type ResolvedServer struct {
	Ifindex int32
	Family  int32
	Addr    []byte
	Port    uint16
	Name    string
}

// Resolved serves, on the bus at addr, the part of systemd-resolved's D-Bus
// API (org.freedesktop.resolve1(5)) that wardprobe reads: the name
// org.freedesktop.resolve1 and the Manager properties DNS and DNSEx,
// holding servers. It is a stand-in for systemd-resolved, which Debian
// ships in its own package and which would take over the machine's
// /etc/resolv.conf when installed.
func Resolved(t testing.TB, addr string, servers []ResolvedServer) {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connecting to the bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	type old struct {
		Ifindex int32
		Family  int32
		Addr    []byte
	}
	dns := make([]old, len(servers))
	for i, s := range servers {
		dns[i] = old{s.Ifindex, s.Family, s.Addr}
	}
	_, err = prop.Export(conn, "/org/freedesktop/resolve1", prop.Map{"org.freedesktop.resolve1.Manager": {
		"DNSEx": {Value: servers, Emit: prop.EmitFalse},
		"DNS":   {Value: dns, Emit: prop.EmitFalse},
	}})
	if err != nil {
		t.Fatalf("exporting resolve1: %v", err)
	}
	reply, err := conn.RequestName("org.freedesktop.resolve1", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning org.freedesktop.resolve1: %v %v", reply, err)
	}
}

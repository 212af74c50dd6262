// Command wifitool runs inside the Wi-Fi lab's VM and drives the lab's
// faults with exact timing:
//
//	wifitool now               prints the time (Unix nanoseconds)
//	wifitool roamgap [flags]   a roam with a gap: cuts the station off its AP in the medium,
//	                           waits -gap, makes the station roam to -to over wpa_supplicant's
//	                           control interface, and prints when each step happened (JSON)
//
// Times are the guest's wall clock, the same clock wardprobe stamps its
// events with.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/wardprobe/wardprobe/probe/wifi/connect"
)

func main() {
	log.SetFlags(log.Lmicroseconds)
	log.SetPrefix("wifitool: ")
	if len(os.Args) < 2 {
		log.Fatal("usage: wifitool now|roamgap [flags]")
	}
	args := os.Args[2:]
	var err error
	switch os.Args[1] {
	case "roamgap":
		err = roamgapCmd(args)
	case "now":
		fmt.Println(time.Now().UnixNano())
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		log.Fatal(err)
	}
}

// roamgap's report.
type gapReport struct {
	GapStart  time.Time // the medium stopped carrying the station's frames to and from its AP
	RoamSent  time.Time // ROAM given to wpa_supplicant
	Connected time.Time // CTRL-EVENT-CONNECTED with the new AP
	Sent      int       // datagrams of the traffic flow
}

func roamgapCmd(args []string) error {
	fs := flag.NewFlagSet("roamgap", flag.ExitOnError)
	iface := fs.String("iface", "wlan2", "station interface")
	ctrl := fs.String("ctrl", "/run/wpa_supplicant/wlan2", "wpa_supplicant control socket")
	station := fs.String("station", "2", "the station's radio in the medium")
	from := fs.String("from", "0", "the radio of the AP it leaves")
	to := fs.String("to", "", "BSSID of the AP to roam to")
	gap := fs.Duration("gap", 500*time.Millisecond, "how long the old AP carries nothing before the roam")
	target := fs.String("traffic", "10.99.0.1", "where the station's traffic goes during the test")
	mediumSock := fs.String("medium", "/run/medium.sock", "the medium's control socket")
	_ = fs.Parse(args)

	// The station's traffic: a datagram every 10 ms (a voice call sends one
	// every 20 ms), so that the AP going quiet shows at once.
	conn, err := (&net.Dialer{Control: bindTo(*iface)}).Dial("udp4", net.JoinHostPort(*target, "9"))
	if err != nil {
		return err
	}
	defer conn.Close()
	rep := gapReport{}
	trafficDone := make(chan struct{})
	stopTraffic := make(chan struct{})
	go func() {
		defer close(trafficDone)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopTraffic:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("wardprobe wifilab")); err == nil {
					rep.Sent++
				}
			}
		}
	}()
	defer func() {
		select {
		case <-stopTraffic:
		default:
			close(stopTraffic)
		}
		<-trafficDone
	}()

	dir, err := os.MkdirTemp("", "roamgap")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	req, err := connect.DialCtrl(*ctrl, dir)
	if err != nil {
		return err
	}
	defer req.Close()
	mon, err := connect.DialCtrl(*ctrl, dir)
	if err != nil {
		return err
	}
	defer mon.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := mon.Attach(ctx); err != nil {
		return err
	}
	links, err := medium(*mediumSock, "show")
	if err != nil {
		return err
	}
	restore := func(a, b string) string {
		for _, l := range strings.Split(links, "\n") {
			var x, y, dbm int
			if n, _ := fmt.Sscanf(l, "%d -> %d: %d dBm", &x, &y, &dbm); n == 3 && fmt.Sprint(x) == a && fmt.Sprint(y) == b {
				return fmt.Sprintf("signal %s %s %d", a, b, dbm)
			}
		}
		return fmt.Sprintf("signal %s %s -45", a, b)
	}
	undo := []string{restore(*station, *from), restore(*from, *station)}
	time.Sleep(time.Second) // traffic flowing on the old AP

	// The gap: the old AP stops carrying the station's frames both ways
	// (below the medium's floor: neither delivered nor acknowledged).
	rep.GapStart = time.Now()
	for _, c := range []string{"signal " + *station + " " + *from + " -120", "signal " + *from + " " + *station + " -120"} {
		if _, err := medium(*mediumSock, c); err != nil {
			return err
		}
	}
	defer func() {
		for _, c := range undo {
			_, _ = medium(*mediumSock, c)
		}
	}()
	time.Sleep(*gap - time.Since(rep.GapStart))
	rep.RoamSent = time.Now()
	if _, err := req.Request(ctx, "ROAM "+*to); err != nil {
		return err
	}
	for {
		m, err := mon.Next(time.Now().Add(15 * time.Second))
		if err != nil {
			return fmt.Errorf("waiting for the roam to %s: %w", *to, err)
		}
		if m.Name == "CTRL-EVENT-CONNECTED" && strings.EqualFold(m.BSSID, *to) {
			rep.Connected = time.Now()
			break
		}
	}
	time.Sleep(300 * time.Millisecond) // traffic on the new AP
	close(stopTraffic)
	<-trafficDone
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// medium sends one command to the lab's medium and returns its reply.
func medium(sock, cmd string) (string, error) {
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintln(c, cmd); err != nil {
		return "", err
	}
	b, err := io.ReadAll(bufio.NewReader(c))
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(string(b), "error") {
		return "", errors.New(strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

func bindTo(iface string) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptString(int(fd), syscall.SOL_SOCKET, syscall.SO_BINDTODEVICE, iface)
		}); err != nil {
			return err
		}
		return serr
	}
}

package connect

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// supplicant is a private wpa_supplicant process for one interface, with
// two control connections: one for requests, one attached for events.
type supplicant struct {
	cmd  *exec.Cmd
	dir  string
	ctrl *Ctrl
	mon  *Ctrl
	out  *tail
	done chan struct{}
}

// findSupplicant returns the wpa_supplicant program to run.
func findSupplicant(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	if p, err := exec.LookPath("wpa_supplicant"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/wpa_supplicant", "/sbin/wpa_supplicant"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("wpa_supplicant not found (install Debian's wpasupplicant)")
}

// privateDir makes dir (and its parent) exist with mode 0700, owned by us.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s belongs to uid %d, not to this process", dir, st.Uid)
	}
	return nil
}

// supplicantConfig is the whole config file: no network and no secret.
// Networks are added over the control interface. fast_reauth=0 turns off
// EAP session resumption, so each test runs the full 802.1X exchange.
func supplicantConfig(ctrlDir string) string {
	return "# written by wardprobe for its connect test; removed when the test ends\n" +
		"ctrl_interface=DIR=" + ctrlDir + "\n" +
		"update_config=0\nap_scan=1\nfast_reauth=0\n"
}

// startSupplicant starts wpa_supplicant on iface with its files in dir.
func startSupplicant(ctx context.Context, program, iface, dir string) (*supplicant, error) {
	if err := privateDir(dir); err != nil {
		return nil, fmt.Errorf("private directory: %w", err)
	}
	ctrlDir := filepath.Join(dir, "ctrl")
	_ = os.RemoveAll(ctrlDir)
	conf := filepath.Join(dir, "wpa_supplicant.conf")
	if err := os.WriteFile(conf, []byte(supplicantConfig(ctrlDir)), 0o600); err != nil {
		return nil, err
	}
	s := &supplicant{dir: dir, out: &tail{max: 4096}, done: make(chan struct{})}
	s.cmd = exec.Command(program, "-i", iface, "-D", "nl80211", "-c", conf)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	// It dies with us, and a signal to our process group leaves it alone.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", program, err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	sock := filepath.Join(ctrlDir, iface)
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("wpa_supplicant exited at start: %s", s.out.String())
		case <-ctx.Done():
			s.stop()
			return nil, fmt.Errorf("wpa_supplicant made no control socket within %s: %s", setupTimeout, s.out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	var err error
	if s.ctrl, err = DialCtrl(sock, dir); err == nil {
		if s.mon, err = DialCtrl(sock, dir); err == nil {
			err = s.mon.Attach(ctx)
		}
	}
	if err == nil {
		var reply string
		if reply, err = s.ctrl.Request(ctx, "PING"); err == nil && !strings.HasPrefix(reply, "PONG") {
			err = fmt.Errorf("wpa_supplicant PING answered %q", firstLine(reply))
		}
	}
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("%w (wpa_supplicant: %s)", err, s.out.String())
	}
	return s, nil
}

// alive reports whether the process still runs.
func (s *supplicant) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// stop terminates the process (TERMINATE, then SIGTERM, then SIGKILL) and
// removes its files.
func (s *supplicant) stop() {
	if s.ctrl != nil && s.alive() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _ = s.ctrl.Request(ctx, "TERMINATE")
		cancel()
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		select {
		case <-s.done:
		case <-time.After(2 * time.Second):
			_ = s.cmd.Process.Signal(sig)
		}
	}
	select {
	case <-s.done:
	case <-time.After(2 * time.Second):
	}
	if s.ctrl != nil {
		_ = s.ctrl.Close()
	}
	if s.mon != nil {
		_ = s.mon.Close()
	}
	_ = os.Remove(filepath.Join(s.dir, "wpa_supplicant.conf"))
	_ = os.RemoveAll(filepath.Join(s.dir, "ctrl"))
}

// network is one network block, as SET_NETWORK name/value pairs. Values
// are in the supplicant's syntax: hex strings, or quoted strings for
// paths. secret marks values never to be shown.
type network struct {
	fields []field
}

type field struct {
	name, value string
	secret      bool
}

func (n *network) set(name, value string)    { n.fields = append(n.fields, field{name, value, false}) }
func (n *network) secret(name, value string) { n.fields = append(n.fields, field{name, value, true}) }

// buildNetwork turns the config and the credentials read from their files
// into a network block.
func buildNetwork(c Config) (*network, error) {
	n := &network{}
	n.set("ssid", hex.EncodeToString([]byte(c.SSID)))
	n.set("scan_ssid", "1")  // probe for the SSID by name: hidden SSIDs, and faster
	n.set("ieee80211w", "1") // protected management frames when the AP offers them
	if len(c.Frequencies) > 0 {
		n.set("scan_freq", quote(freqList(c.Frequencies, " ")))
		n.set("freq_list", quote(freqList(c.Frequencies, " ")))
	}
	if c.EAP == nil {
		secret, err := c.secret(c.PSKFile, 64)
		if err != nil {
			return nil, err
		}
		psk, err := pskHex(secret, c.SSID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.PSKFile, err)
		}
		n.set("key_mgmt", "WPA-PSK WPA-PSK-SHA256")
		n.secret("psk", psk)
		return n, nil
	}
	e := c.EAP
	n.set("key_mgmt", "WPA-EAP WPA-EAP-SHA256")
	n.set("eap", strings.ToUpper(e.Method))
	n.set("identity", hex.EncodeToString([]byte(e.Identity)))
	if e.CAFile != "" {
		n.set("ca_cert", quote(e.CAFile))
	}
	switch e.Method {
	case MethodPEAP, MethodTTLS:
		pw, err := c.secret(e.PasswordFile, 256)
		if err != nil {
			return nil, err
		}
		n.secret("password", hex.EncodeToString([]byte(pw)))
		n.set("phase2", quote("auth="+strings.ToUpper(e.Phase2)))
	case MethodTLS:
		for _, f := range []string{e.ClientCertFile, e.ClientKeyFile} {
			if err := readable(f); err != nil {
				return nil, err
			}
		}
		n.set("client_cert", quote(e.ClientCertFile))
		n.set("private_key", quote(e.ClientKeyFile))
	}
	if e.CAFile != "" {
		if err := readable(e.CAFile); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func quote(s string) string { return `"` + s + `"` }

// freqList joins frequencies (MHz) with sep.
func freqList(freqs []int, sep string) string {
	fs := make([]string, len(freqs))
	for i, f := range freqs {
		fs[i] = strconv.Itoa(f)
	}
	return strings.Join(fs, sep)
}

// add creates the network in the supplicant and returns its id. Errors
// name the field, never its value.
func (s *supplicant) add(ctx context.Context, n *network) (string, error) {
	reply, err := s.ctrl.Request(ctx, "ADD_NETWORK")
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(reply)
	for _, f := range n.fields {
		if err := s.ctrl.ok(ctx, "SET_NETWORK "+id+" "+f.name+" "+f.value); err != nil {
			return "", fmt.Errorf("setting %s: %w", f.name, err)
		}
	}
	return id, nil
}

// secret reads a credential file through Config.ReadSecret (or
// readSecret): one line of at most maxLen bytes.
func (c Config) secret(path string, maxLen int) (string, error) {
	if c.ReadSecret == nil {
		return readSecret(path, maxLen)
	}
	s, err := c.ReadSecret(path)
	switch {
	case err != nil:
		return "", err
	case strings.ContainsAny(s, "\r\n"):
		return "", fmt.Errorf("credential file %s holds more than one line", path)
	case len(s) > maxLen:
		return "", fmt.Errorf("credential file %s: longer than %d bytes", path, maxLen)
	}
	return s, nil
}

// readSecret reads a credential file: its first line, without the line
// end. Errors name the file, never its content.
func readSecret(path string, maxLen int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("credential file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(maxLen)+3))
	if err != nil {
		return "", fmt.Errorf("credential file %s: %w", path, err)
	}
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	switch {
	case len(b) == 0:
		return "", fmt.Errorf("credential file %s is empty", path)
	case len(b) > maxLen:
		return "", fmt.Errorf("credential file %s: longer than %d bytes", path, maxLen)
	}
	return string(b), nil
}

// readable checks that a file can be opened (a key or certificate).
func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("credential file: %w", err)
	}
	return f.Close()
}

// pskHex returns the 256-bit PSK as 64 hex digits: the secret itself when
// it is one, or the passphrase run through PBKDF2-HMAC-SHA1 with the SSID
// as salt and 4096 iterations (IEEE 802.11-2020 J.4.1). Passing the derived
// key spares the passphrase any quoting in the supplicant's syntax.
func pskHex(secret, ssid string) (string, error) {
	if len(secret) == 64 {
		if _, err := hex.DecodeString(secret); err == nil {
			return strings.ToLower(secret), nil
		}
	}
	if len(secret) < 8 || len(secret) > 63 {
		return "", errors.New("a passphrase has 8 to 63 characters (or give the 64-hex-digit PSK)")
	}
	for i := 0; i < len(secret); i++ {
		if secret[i] < 0x20 || secret[i] > 0x7e {
			return "", errors.New("a passphrase has printable ASCII characters only")
		}
	}
	key, err := pbkdf2.Key(sha1.New, secret, []byte(ssid), 4096, 32)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(key), nil
}

// tail keeps the last max bytes written to it: the supplicant's output,
// for error messages. The supplicant is run without debug options and gets
// no secret on its command line or in its config, so its output holds none.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return "(no output)"
	}
	return strings.ReplaceAll(s, "\n", "; ")
}

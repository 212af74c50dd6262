package secret

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://u:p4ss@h:8080/x?token=abc&x=1": "http://u:<secret>@h:8080/x?token=<secret>&x=1",
		"https://h/health":                     "https://h/health",
		"http://h/?api_key=k&Signature=s":      "http://h/?Signature=<secret>&api_key=<secret>",
		"::bad":                                Mask,
		"http://h/?token=":                     "http://h/?token=",
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := StripURL("http://u:p@h:1/p?token=x#f"); got != "http://h:1/p" {
		t.Errorf("StripURL: %q", got)
	}
}

func TestRedactor(t *testing.T) {
	var r Redactor
	r.Add("hunter2-long")
	r.AddURL("http://probe:pa%20ss@h/?token=tok-123")
	in := `Get "/next?token=tok-123": 302; password hunter2-long; dial http://x:y@h/?secret=z; pa%20ss`
	got := r.String(in)
	for _, leak := range []string{"tok-123", "hunter2-long", "secret=z", "x:y@", "pa%20ss"} {
		if strings.Contains(got, leak) {
			t.Errorf("%q leaks %q", got, leak)
		}
	}
	err := r.Error(&os.PathError{Op: "open", Path: "hunter2-long", Err: syscall.ENOENT})
	if strings.Contains(err.Error(), "hunter2") || !errors.Is(err, syscall.ENOENT) {
		t.Errorf("Error: %v (Is ENOENT %v)", err, errors.Is(err, syscall.ENOENT))
	}
}

// TestRedactorKeepsRecordsIntact: a URL with credentials quoted inside a
// JSON or logfmt string (as Go's errors quote it: Get "URL": ...) is masked
// and the record still parses; a value already masked is masked once.
func TestRedactorKeepsRecordsIntact(t *testing.T) {
	var r Redactor
	r.AddURL("http://h/?token=tok-123")
	detail := `Get "http://user:pw-999@127.0.0.1:1/": dial tcp: refused; Get "http://h/?token=tok-123": refused`
	rec, err := json.Marshal(map[string]string{"detail": detail})
	if err != nil {
		t.Fatal(err)
	}
	got := r.String(string(rec))
	var back map[string]string
	if err := json.Unmarshal([]byte(got), &back); err != nil {
		t.Fatalf("redacted record %s does not parse: %v", got, err)
	}
	want := `Get "http://user:<secret>@127.0.0.1:1/": dial tcp: refused; Get "http://h/?token=<secret>": refused`
	if back["detail"] != want {
		t.Errorf("detail = %q\nwant     %q", back["detail"], want)
	}
	logfmt := `level=warn detail="Get \"http://user:pw-999@127.0.0.1:1/\": refused"`
	if got, want := r.String(logfmt), `level=warn detail="Get \"http://user:<secret>@127.0.0.1:1/\": refused"`; got != want {
		t.Errorf("logfmt: %q\nwant     %q", got, want)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "pw")
	os.WriteFile(good, []byte("s3cret\n"), 0o600)
	if v, err := ReadFile(good); err != nil || v != "s3cret" {
		t.Errorf("ReadFile: %q %v", v, err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, MaxFileBytes+1), 0o600)
	for _, p := range []string{empty, fifo, big, filepath.Join(dir, "missing"), dir} {
		if v, err := ReadFile(p); err == nil {
			t.Errorf("ReadFile(%s) = %q, want an error", p, v)
		}
	}
}

func TestRedactorMoreForms(t *testing.T) {
	var r Redactor
	for in, leak := range map[string]string{
		`targets[0].address: "probe:Pa55word@10.0.0.1:80" is not host:port`: "Pa55word",
		`GET /x?pwd=hunter22&jwt=eyJabc&credential=cred1&pass=p4ss`:         "hunter22|eyJabc|cred1|p4ss",
	} {
		got := r.String(in)
		for _, l := range strings.Split(leak, "|") {
			if strings.Contains(got, l) {
				t.Errorf("%q leaks %q", got, l)
			}
		}
	}
	r.Add(`ab'cd"ef<gh`)
	page := `<p>token=ab&#39;cd&#34;ef&lt;gh and ab'cd"ef<gh</p>`
	if got := r.HTML(page); strings.Contains(got, "ab&#39;cd") || strings.Contains(got, `ab'cd`) || !strings.Contains(got, "&lt;secret&gt;") {
		t.Errorf("HTML: %q", got)
	}
}

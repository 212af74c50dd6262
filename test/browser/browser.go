// Package browser starts Debian's headless chromium for page tests and
// connects chromedp (github.com/chromedp/chromedp) to it, with a fresh
// profile and every background service off, so a test's traffic goes only
// to the servers it starts. It is shared by the tests of wardprobe's pages.
package browser

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wardprobe/wardprobe/test/lab"
)

// Path is Debian's chromium (the chromium package; test/deps.sh installs it).
const Path = "/usr/bin/chromium"

// Flags are the command-line switches chromium is started with (chromedp
// adds its own --remote-debugging-port=0 and the --user-data-dir).
var Flags = []string{"headless", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
	"disable-background-networking", "disable-component-update", "disable-sync"}

// Require skips t (fails it under CI=true) when chromium is missing.
func Require(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Path); err == nil {
		return
	}
	why := "page tests need Debian's chromium at " + Path + " (test/deps.sh installs the chromium package)"
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// New starts chromium and returns a chromedp context on a new tab. The
// browser is stopped when the test ends; timeout bounds everything done
// with the context.
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	Require(t)
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(Path), chromedp.UserDataDir(t.TempDir())}
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// The first run starts the browser; its context must have no deadline,
	// which would stop the browser with it.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("starting %s: %v", Path, err)
	}
	ctx, cancelTimeout := context.WithTimeout(tab, timeout)
	t.Cleanup(cancelTimeout)
	return ctx
}

// ArtifactDir is where screenshots are kept: $WARDPROBE_ARTIFACTS, or
// test/artifacts/ in the module (gitignored).
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("WARDPROBE_ARTIFACTS")
	if dir == "" {
		root, err := lab.ModuleRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "test", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Screenshot saves a full-page PNG of the tab as ArtifactDir/name.png and
// logs its path.
func Screenshot(ctx context.Context, t testing.TB, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	name = strings.NewReplacer("/", "-", " ", "-").Replace(name)
	path := filepath.Join(ArtifactDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("saving screenshot: %v", err)
		return ""
	}
	t.Logf("screenshot: %s", path)
	return path
}

// Version returns chromium's version line, for logs.
func Version() string {
	out, err := exec.Command(Path, "--version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

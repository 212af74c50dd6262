package store

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/internal/escape"
	"github.com/wardprobe/wardprobe/internal/survey"
)

func testPlan(t testing.TB, w, h int, shade uint8) Plan {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = shade
	}
	img.SetGray(0, 0, color.Gray{Y: shade ^ 0xff})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p, err := DecodePlan(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var ward7 = Label{Site: "Royal Example Hospital", Building: "Block B", Floor: "2", Ward: "Ward 7"}

func TestAddMoveDeleteResume(t *testing.T) {
	dir := t.TempDir()
	plan := testPlan(t, 40, 30, 200)
	s, err := Open(dir, Options{Label: ward7, Plan: &plan})
	if err != nil {
		t.Fatal(err)
	}
	ssid := escape.String([]byte("CLIN\xffICAL"))
	var ids []uint64
	for i := range 3 {
		p, err := s.Add(survey.Point{X: 0.1 * float64(i+1), Y: 0.5, Time: time.Unix(1700000000, 0).UTC(),
			BSS: []survey.BSS{{BSSID: "02:00:00:00:00:00", SSID: ssid, Channel: 1, FrequencyMHz: 2412, SignalDBM: -50 - float64(i)}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	if ids[0] != 1 || ids[2] != 3 {
		t.Errorf("ids %v, want 1..3", ids)
	}
	if _, err := s.Move(ids[1], 0.9, 0.9); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ids[0]); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
	if _, err := s.Move(99, 0.5, 0.5); !errors.Is(err, ErrNotFound) {
		t.Errorf("moving a missing point: %v", err)
	}
	if _, err := s.Add(survey.Point{X: 1.2, Y: 0.5}); err == nil {
		t.Error("a point off the plan was stored")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Resume: same floor, no plan given.
	s, err = Open(dir, Options{Label: ward7})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pts, err := s.Points()
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 2 || pts[0].ID != 2 || pts[0].X != 0.9 || pts[1].ID != 3 {
		t.Fatalf("after resume: %+v", pts)
	}
	if got := pts[0].BSS[0].SSID; got != `CLIN\xffICAL` {
		t.Errorf("SSID %q after a round trip", got)
	}
	p, err := s.Add(survey.Point{X: 0.5, Y: 0.5})
	if err != nil || p.ID != 4 {
		t.Errorf("next id %d (%v), want 4: ids are never reused", p.ID, err)
	}
	got, err := s.Plan()
	if err != nil || got.SHA256 != plan.SHA256 || s.Label().PlanWidth != 40 {
		t.Errorf("plan %v %v, label %+v", got.SHA256, err, s.Label())
	}
}

func TestOneDirectoryPerFloor(t *testing.T) {
	dir := t.TempDir()
	plan := testPlan(t, 10, 10, 100)
	s, err := Open(dir, Options{Label: ward7, Plan: &plan})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	other := ward7
	other.Floor = "3"
	if _, err := Open(dir, Options{Label: other}); err == nil || !strings.Contains(err.Error(), "floor 2") {
		t.Errorf("another floor in the same directory: %v", err)
	}
	plan2 := testPlan(t, 10, 10, 50)
	if _, err := Open(dir, Options{Label: ward7, Plan: &plan2}); err == nil || !strings.Contains(err.Error(), "another floor plan") {
		t.Errorf("another plan: %v", err)
	}
	if _, err := Open(t.TempDir(), Options{Label: ward7}); err == nil || !strings.Contains(err.Error(), "--floor-plan") {
		t.Errorf("new survey without a plan: %v", err)
	}
	if _, err := Open(t.TempDir(), Options{ReadOnly: true}); err == nil {
		t.Error("read-only open of an empty directory worked")
	}
}

func TestInUse(t *testing.T) {
	dir := t.TempDir()
	plan := testPlan(t, 10, 10, 100)
	s, err := Open(dir, Options{Label: ward7, Plan: &plan})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(dir, Options{Label: ward7, ReadOnly: true}); !errors.Is(err, ErrInUse) {
		t.Errorf("second open: %v, want ErrInUse", err)
	}
}

func TestBadPlans(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":    nil,
		"text":     []byte("not an image"),
		"too big":  bytes.Repeat([]byte{0}, MaxPlanBytes+1),
		"png head": []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x01\x00\x00\x00\x01\x00\x00\x08\x02\x00\x00\x00"),
	} {
		if _, err := DecodePlan(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestKill9 adds points from a child process and kills it with SIGKILL in
// the middle: every point whose Add returned is there afterwards, and the
// survey opens again.
func TestKill9(t *testing.T) {
	if os.Getenv("SURVEY_STORE_CHILD") != "" {
		child()
		return
	}
	dir := t.TempDir()
	plan := testPlan(t, 20, 20, 10)
	s, err := Open(dir, Options{Label: ward7, Plan: &plan})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9$")
	cmd.Env = append(os.Environ(), "SURVEY_STORE_CHILD="+dir)
	outFile := filepath.Join(t.TempDir(), "out")
	f, err := os.Create(outFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout = f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := func() string { b, _ := os.ReadFile(outFile); return string(b) }
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out(), "added 20\n") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	added := 0
	for _, l := range strings.Split(out(), "\n") {
		if n, err := strconv.Atoi(strings.TrimPrefix(l, "added ")); err == nil {
			added = n
		}
	}
	if added < 20 {
		t.Fatalf("the child added %d points before it was killed:\n%s", added, out())
	}
	s, err = Open(dir, Options{Label: ward7})
	if err != nil {
		t.Fatalf("reopening after kill -9: %v", err)
	}
	defer s.Close()
	pts, err := s.Points()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("child reported %d points stored before SIGKILL; %d found after", added, len(pts))
	if len(pts) < added {
		t.Errorf("%d points after kill -9, but %d were acknowledged", len(pts), added)
	}
	for i, p := range pts {
		if p.ID != uint64(i+1) {
			t.Errorf("point %d has id %d", i, p.ID)
		}
	}
}

func child() {
	dir := os.Getenv("SURVEY_STORE_CHILD")
	s, err := Open(dir, Options{Label: ward7})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	for i := 1; ; i++ {
		if _, err := s.Add(survey.Point{X: 0.5, Y: 0.5, BSS: []survey.BSS{{BSSID: "02:00:00:00:00:00", SignalDBM: -50}}}); err != nil {
			fmt.Println("add:", err)
			os.Exit(1)
		}
		fmt.Printf("added %d\n", i)
		if i > 100000 {
			os.Exit(0)
		}
	}
}

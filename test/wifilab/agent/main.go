// Command agent runs inside the Wi-Fi lab's VM as its init process: it reaps
// orphaned processes and serves one HTTP endpoint through which the test on
// the host runs shell commands in the VM. "agent runas UID PROG ARGS" runs a
// program without privilege.
//
//	POST /run?timeout=30s   body: a shell script; reply: its combined output,
//	                        with the exit status in the X-Exit-Code header
//	GET  /ready             200 once the agent serves
//
// The VM's only network link to the host is qemu's user-mode network with
// restrict=on and a port forwarded from the host's loopback.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 3 && os.Args[1] == "runas" {
		runas(os.Args[2], os.Args[3:])
		return
	}
	listen := flag.String("listen", ":8000", "address to serve on")
	flag.Parse()
	log.SetPrefix("agent: ")
	r := newReaper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ready") })
	mux.HandleFunc("POST /run", func(w http.ResponseWriter, req *http.Request) {
		timeout := 60 * time.Second
		if v := req.URL.Query().Get("timeout"); v != "" {
			if d, err := time.ParseDuration(v); err == nil {
				timeout = d
			}
		}
		script, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, code := r.run(string(script), timeout)
		w.Header().Set("X-Exit-Code", strconv.Itoa(code))
		_, _ = w.Write(out)
	})
	log.Printf("serving on %s", *listen)
	log.Fatal(http.ListenAndServe(*listen, mux))
}

// runas drops to the user and group id uid (and no supplementary groups),
// which clears every capability, and executes args.
func runas(uid string, args []string) {
	id, err := strconv.Atoi(uid)
	if err != nil {
		log.Fatalf("runas: bad uid %q", uid)
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		log.Fatalf("runas: %v", err)
	}
	if err := errors.Join(syscall.Setgroups(nil), syscall.Setgid(id), syscall.Setuid(id)); err != nil {
		log.Fatalf("runas: dropping privileges: %v", err)
	}
	log.Fatalf("runas: %v", syscall.Exec(path, args, os.Environ()))
}

// reaper waits for every child, the orphans it inherits as init included,
// and hands the exit status of the commands it started to their callers.
type reaper struct {
	mu      sync.Mutex
	waiting map[int]chan syscall.WaitStatus
	early   map[int]syscall.WaitStatus
}

func newReaper() *reaper {
	r := &reaper{waiting: map[int]chan syscall.WaitStatus{}, early: map[int]syscall.WaitStatus{}}
	sig := make(chan os.Signal, 64)
	signal.Notify(sig, syscall.SIGCHLD)
	go func() {
		for {
			r.reap()
			select {
			case <-sig:
			case <-time.After(time.Second):
			}
		}
	}()
	return r
}

func (r *reaper) reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
		r.mu.Lock()
		if ch, ok := r.waiting[pid]; ok {
			ch <- ws
			delete(r.waiting, pid)
		} else {
			r.early[pid] = ws
		}
		r.mu.Unlock()
	}
}

// run runs a shell script with its output going to a file (so that daemons
// it starts in the background cannot hold the reply open) and returns the
// output and exit status; -1 when it timed out and was killed.
func (r *reaper) run(script string, timeout time.Duration) ([]byte, int) {
	f, err := os.CreateTemp("", "run-*.out")
	if err != nil {
		return []byte(err.Error()), -1
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	ch := make(chan syscall.WaitStatus, 1)
	r.mu.Lock()
	if err := cmd.Start(); err != nil {
		r.mu.Unlock()
		return []byte(err.Error()), -1
	}
	pid := cmd.Process.Pid
	if ws, ok := r.early[pid]; ok {
		delete(r.early, pid)
		ch <- ws
	} else {
		r.waiting[pid] = ch
	}
	r.mu.Unlock()
	code := -1
	select {
	case ws := <-ch:
		code = ws.ExitStatus()
	case <-time.After(timeout):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-ch
	}
	out, _ := os.ReadFile(f.Name())
	if code == -1 {
		out = append(out, fmt.Sprintf("\n(timed out after %s)\n", timeout)...)
	}
	return out, code
}

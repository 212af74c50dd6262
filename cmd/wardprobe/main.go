// Command wardprobe measures ward Wi-Fi and network quality and exports it as
// Prometheus metrics. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/daemon"
	"github.com/wardprobe/wardprobe/internal/logging"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: wardprobe [command] [flags]

commands:
  run [--config FILE] [flags]   run the probe daemon (the default; no config = built-in default)
  check-config FILE             validate a config file; print every error as FILE:LINE: path: message
  target --listen ADDR          run the on-premises throughput target
  version                       print the version

run 'wardprobe COMMAND -h' for a command's flags
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runDaemon(args, stderr)
	case "check-config":
		return checkConfig(args, stdout, stderr)
	case "target":
		return runTarget(args, stderr)
	case "inventory":
		return runInventory(args, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "wardprobe %s (%s)\n", version, runtime.Version())
		return 0
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "wardprobe: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

func runDaemon(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "config file (default: the built-in config)")
	listen := fs.String("web.listen-address", ":9810", "address to serve metrics and the landing page on")
	webCfg := fs.String("web.config.file", "", "exporter-toolkit web config file (TLS, basic auth)")
	newLog := logFlags(fs, stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "wardprobe run: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	log, err := newLog()
	if err != nil {
		fmt.Fprintf(stderr, "wardprobe: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()
	err = daemon.Run(ctx, daemon.Options{
		ConfigFile: *cfgFile, ListenAddress: *listen, WebConfigFile: *webCfg,
		Version: version, Log: log, Reload: reload,
	})
	if err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintln(stderr, e.Error())
			}
		}
		log.Error().Err(err).Msg("wardprobe failed")
		return 1
	}
	return 0
}

// logFlags adds --log.level and --log.format to fs; the returned function
// builds the logger (writing to stderr) once fs has been parsed.
func logFlags(fs *flag.FlagSet, stderr io.Writer) func() (zerolog.Logger, error) {
	level := fs.String("log.level", "info", "log level: debug, info, warn, error")
	format := fs.String("log.format", "json", "log format: json or console")
	return func() (zerolog.Logger, error) { return logging.New(stderr, *level, *format) }
}

func checkConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: wardprobe check-config FILE")
		return 2
	}
	if _, err := config.Load(args[0]); err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintln(stderr, e.Error())
			}
		} else {
			fmt.Fprintf(stderr, "%s: %v\n", args[0], err)
		}
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK\n", args[0])
	return 0
}

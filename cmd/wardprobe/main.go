// Command wardprobe measures ward Wi-Fi and network quality and exports it as
// Prometheus metrics. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/daemon"
	"github.com/wardprobe/wardprobe/internal/logging"
	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/probe/kinds"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// versionString is what --version and `wardprobe version` print.
func versionString() string {
	return fmt.Sprintf("wardprobe %s (%s %s/%s)", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// usageTemplate is kingpin's LongHelpTemplate (every command with its
// flags) for `wardprobe --help`, and, for `wardprobe COMMAND --help`, that
// command's own usage line, help, flags and sub-commands, as kingpin's
// DefaultUsageTemplate shows them.
const usageTemplate = `{{define "FormatCommand" -}}
{{if .FlagSummary}} {{.FlagSummary}}{{end -}}
{{range .Args}}{{if not .Hidden}} {{if not .Required}}[{{end}}{{if .PlaceHolder}}{{.PlaceHolder}}{{else}}<{{.Name}}>{{end}}{{if .Value|IsCumulative}}...{{end}}{{if not .Required}}]{{end}}{{end}}{{end -}}
{{end -}}

{{define "FormatCommands" -}}
{{range .FlattenedCommands -}}
{{if not .Hidden -}}
  {{.FullCommand}}{{template "FormatCommand" .}}
{{.Help|Wrap 4}}
{{with .Flags|FlagsToTwoColumns}}{{FormatTwoColumnsWithIndent . 4 2}}{{end}}
{{end -}}
{{end -}}
{{end -}}

{{define "FormatUsage" -}}
{{template "FormatCommand" .}}{{if .Commands}} <command> [<args> ...]{{end}}
{{if .Help}}
{{.Help|Wrap 0 -}}
{{end -}}

{{end -}}

{{if .Context.SelectedCommand -}}
usage: {{.App.Name}} {{.Context.SelectedCommand}}{{template "FormatUsage" .Context.SelectedCommand}}
{{- else -}}
usage: {{.App.Name}}{{template "FormatUsage" .App}}
{{- end}}
{{if .Context.Flags -}}
Flags:
{{.Context.Flags|FlagsToTwoColumns|FormatTwoColumns}}
{{end -}}
{{if .Context.Args -}}
Args:
{{.Context.Args|ArgsToTwoColumns|FormatTwoColumns}}
{{end -}}
{{if .Context.SelectedCommand -}}
{{if len .Context.SelectedCommand.Commands -}}
Subcommands:
{{template "FormatCommands" .Context.SelectedCommand}}
{{end -}}
{{else if .App.Commands -}}
Commands:
{{template "FormatCommands" .App}}
{{end -}}
`

// command is one sub-command: its flags are defined on cmd, and exec runs it
// once they are parsed.
type command struct {
	cmd  *kingpin.CmdClause
	exec func() int
}

// logOptions adds --log.level and --log.format to cmd; the returned function
// builds the logger (writing to w through redact) once flags are parsed.
func logOptions(cmd *kingpin.CmdClause, w io.Writer, redact *secret.Redactor) func() (zerolog.Logger, error) {
	level := cmd.Flag("log.level", "Only log messages with the given severity or above: debug, info, warn, error.").
		Default("info").Enum("debug", "info", "warn", "error")
	format := cmd.Flag("log.format", "Output format of log messages: logfmt, json or console.").Default("logfmt").Enum("logfmt", "json", "console")
	return func() (zerolog.Logger, error) { return logging.New(redact.Writer(w), *level, *format) }
}

// run parses args and runs the command they name; it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	app := kingpin.New("wardprobe", "Measures what a clinical device on a hospital ward experiences of the Wi-Fi and the network, "+
		"holds each ward to a minimum standard, and exports it all as Prometheus metrics. "+
		"With no command it runs the probe daemon (run).")
	app.UsageTemplate(usageTemplate)
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.Version(versionString())
	app.HelpFlag.Short('h')
	exit := -1
	app.Terminate(func(code int) {
		if exit < 0 {
			exit = code
		}
	})
	redact := &secret.Redactor{}
	commands := []command{
		runCommand(app, stderr, redact),
		checkCommand(app, stdout, stderr, redact),
		targetCommand(app, stderr, redact),
		inventoryCommand(app, stdout, stderr),
		surveyCommand(app, stderr, redact), surveyReportCommand(app, stdout, stderr),
		{app.Command("version", "Print the version and exit."), func() int { fmt.Fprintln(stdout, versionString()); return 0 }},
	}
	chosen, err := app.Parse(args)
	if exit >= 0 { // --help or --version
		return exit
	}
	if err != nil {
		fmt.Fprintf(stderr, "wardprobe: %v (try --help)\n", err)
		return 2
	}
	for _, c := range commands {
		if c.cmd.FullCommand() == chosen {
			return c.exec()
		}
	}
	fmt.Fprintf(stderr, "wardprobe: unknown command %q\n", chosen)
	return 2
}

// runCommand is `wardprobe run`, the default.
func runCommand(app *kingpin.Application, stderr io.Writer, redact *secret.Redactor) command {
	cmd := app.Command("run", "Run the probe daemon (the default command). Without --config it uses the built-in config: "+
		"it pings the default gateway, resolves a name through the system resolver and reports the Wi-Fi interface.").Default()
	cfgFile := cmd.Flag("config", "Config file (default: the built-in config).").PlaceHolder("FILE").String()
	listen := cmd.Flag("web.listen-address", "Address to serve metrics and the landing page on; bind it to the management interface's address.").
		Default(":9810").String()
	webCfg := cmd.Flag("web.config.file", "Path to an exporter-toolkit web config file (TLS, basic auth).").PlaceHolder("FILE").String()
	lifecycle := cmd.Flag("web.enable-lifecycle", "Enable reloading the config through POST /-/reload (SIGHUP always reloads).").Bool()
	newLog := logOptions(cmd, stderr, redact)
	startProfile := profileOptions(cmd, stderr)
	return command{cmd, func() int {
		log, err := newLog()
		if err != nil {
			fmt.Fprintf(stderr, "wardprobe: %v\n", err)
			return 2
		}
		stopProfile, err := startProfile()
		if err != nil {
			fmt.Fprintf(stderr, "wardprobe: %v\n", err)
			return 2
		}
		defer stopProfile()
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		reload := make(chan struct{}, 1)
		go func() {
			for range hup {
				select {
				case reload <- struct{}{}:
				default:
				}
			}
		}()
		if os.Getenv("GOMAXPROCS") == "" {
			// The daemon's work is waiting for packets: Go code on one CPU
			// spares the scheduler's spinning between processors (a third
			// of an idle probe's CPU in the footprint profile). Throughput
			// tests need about 1 ns of CPU per byte: one CPU carries them.
			runtime.GOMAXPROCS(1)
		}
		if os.Getenv("GOGC") == "" {
			// The daemon's live heap is 1-2 MiB, below Go's minimum heap
			// goal (4 MiB at the default of 100, 2 MiB at 50): at 50 it
			// holds about 2 MiB less of its own memory in the footprint
			// bench, for a few milliseconds of CPU a minute.
			debug.SetGCPercent(50)
		}
		stateDir, _, _ := strings.Cut(os.Getenv("STATE_DIRECTORY"), ":")
		err = daemon.Run(ctx, daemon.Options{
			ConfigFile: *cfgFile, ListenAddress: *listen, WebConfigFile: *webCfg, EnableLifecycle: *lifecycle,
			Version: version, Log: log, Redact: redact, Reload: reload, StateDir: stateDir,
		})
		if err != nil {
			printErrors(stderr, *cfgFile, err, redact)
			log.Error().Err(err).Msg("wardprobe failed")
			return 1
		}
		return 0
	}}
}

// checkCommand is `wardprobe check-config FILE`.
func checkCommand(app *kingpin.Application, stdout, stderr io.Writer, redact *secret.Redactor) command {
	cmd := app.Command("check-config", "Check a config file as `run` would load it (files it names included): "+
		"exit 0 if valid, otherwise exit 1 and print every error as FILE:LINE: path: message.")
	file := cmd.Arg("file", "The config file.").Required().String()
	syntaxOnly := cmd.Flag("syntax-only", "Check the file alone, without reading the files it names (ca_file, password_file, ...): "+
		"for a config checked away from the probe it is meant for, as promtool's --syntax-only.").Bool()
	return command{cmd, func() int {
		if *syntaxOnly {
			if _, err := kinds.Load(*file); err != nil {
				printErrors(stderr, *file, err, redact)
				return 1
			}
			fmt.Fprintf(stdout, "%s: OK (syntax only)\n", *file)
			return 0
		}
		notes, err := daemon.Check(*file, redact)
		if err != nil {
			printErrors(stderr, *file, err, redact)
			return 1
		}
		for _, n := range notes {
			if n.Level >= zerolog.WarnLevel {
				fmt.Fprintf(stderr, "%s: warning: %s\n", *file, n.Msg)
			}
		}
		fmt.Fprintf(stdout, "%s: OK\n", *file)
		return 0
	}}
}

// printErrors prints a config's errors one a line, or any other error,
// through redact: an error may quote a value holding a credential (a URL
// with a password written where no URL belongs, say).
func printErrors(w io.Writer, file string, err error, redact *secret.Redactor) {
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(w, redact.String(e.Error()))
		}
		return
	}
	prefix := "wardprobe"
	if file != "" && strings.Contains(err.Error(), file) {
		prefix = file // an error about the file itself (cannot be read, say)
	}
	fmt.Fprintln(w, redact.String(fmt.Sprintf("%s: %v", prefix, err)))
}

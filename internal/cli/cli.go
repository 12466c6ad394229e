// Package cli is the telecart command line: one table of subcommands, their
// flags, and the wiring of the parts each one runs.
package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/telecart/telecart/internal/config"
)

// command is one subcommand.
type command struct {
	name  string
	usage string // one line for the help
	run   func(ctx context.Context, env *env, args []string) error
	// hidden commands are not for people to type.
	hidden bool
}

// env is what a command may touch of the outside world.
type env struct {
	stdout, stderr io.Writer
	log            *slog.Logger
	// drain is closed when the operator asks a worker to drain (SIGTERM);
	// nil when nobody can.
	drain <-chan struct{}
	// acmeRoots are the CAs trusted for an ACME server's own HTTPS; nil,
	// the system's. Tests set their pebble's.
	acmeRoots *x509.CertPool
	// http bounds the HTTP servers' clients; nil, defaultHTTPLimits.
	// Tests set short ones.
	http *httpLimits
}

func commands() []command {
	return []command{
		{name: "serve", usage: "run a coordinator and a worker in one process: open the page and play (the default)", run: runServe},
		{name: "coordinator", usage: "run the coordinator: the web app, the worker registry, signalling", run: runCoordinator},
		{name: "worker", usage: "run a worker: dial the coordinator and host games", run: runWorker},
		{name: "drain", usage: "drain this machine's or container's worker (SIGTERM) and wait until its games have ended: a Kubernetes preStop hook", run: runDrain},
		{name: "worker-token", usage: "print a worker's credential, made with the coordinator's worker_secret (from the environment or -config)", run: runWorkerToken},
		{name: "check", usage: "check the way to the games from here, as a browser takes it, and say what to fix", run: runCheck},
		{name: "play", usage: "play a game headless and print live frame and encode statistics", run: runPlay},
		{name: "lag", usage: "measure a game's lag frames, and the run-ahead to set for it", run: runLag},
		{name: "games", usage: "list the games a worker offers, and every file in its folders left out, with why", run: runGames},
		{name: "probe", usage: "ask a URL once, exit 0 on a 2xx answer: a container's health check", run: runProbe},
		{name: "runner", usage: "run one game for a worker (started by the worker, never by hand)", run: runRunner, hidden: true},
		{name: "help", usage: "show this help", run: runHelp},
	}
}

// Run runs the command line args and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, nil, args, stdout, stderr)
}

// Main runs telecart as a program, with the signals an operator sends: an
// interrupt stops it, and so does SIGTERM, except that a worker first
// drains (takes no new games, and stops once its games have ended); a
// second signal stops it at once.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	drain := make(chan struct{})
	name, _ := subcommand(args)
	go func() {
		for first := true; ; first = false {
			select {
			case s := <-sigs:
				if first && s == syscall.SIGTERM && name == "worker" {
					close(drain)
					continue
				}
				cancel()
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return run(ctx, drain, args, stdout, stderr)
}

// subcommand splits the subcommand (serve when none is named) from its arguments.
func subcommand(args []string) (string, []string) {
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		return args[0], args[1:]
	}
	return "serve", args
}

func run(ctx context.Context, drain <-chan struct{}, args []string, stdout, stderr io.Writer) int {
	e := &env{
		stdout: stdout,
		stderr: stderr,
		log:    slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel()})),
		drain:  drain,
	}
	return e.run(ctx, args)
}

// run runs the command line args in e and returns the exit code.
func (e *env) run(ctx context.Context, args []string) int {
	stderr := e.stderr
	name, args := subcommand(args)
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, e, args)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		}
		fmt.Fprintf(stderr, "telecart %s: %v\n", name, err)
		return 1
	}
	fmt.Fprintf(stderr, "telecart: unknown command %q\n\n", name)
	printHelp(stderr)
	return 2
}

// errUsage reports a command line the flag package already complained about.
var errUsage = errors.New("usage")

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	return nil
}

// logLevel reads TELECART_LOG_LEVEL (debug, info, warn, error).
func logLevel() slog.Level {
	var level slog.Level
	if s := os.Getenv(config.LogLevelVariable); s != "" && level.UnmarshalText([]byte(s)) == nil {
		return level
	}
	return slog.LevelInfo
}

func runHelp(_ context.Context, e *env, _ []string) error {
	printHelp(e.stdout)
	return nil
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "Telecart streams retro games to web browsers.\n\nUsage: telecart [command] [flags]\n\nCommands:")
	for _, c := range commands() {
		if !c.hidden {
			fmt.Fprintf(w, "  %-12s %s\n", c.name, c.usage)
		}
	}
	fmt.Fprintln(w, "\nRun `telecart COMMAND -h` for a command's flags and environment variables. TELECART_LOG_LEVEL sets the log level (debug, info, warn, error).")
}

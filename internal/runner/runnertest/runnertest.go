// Package runnertest lets a test binary act as the runner, as `telecart
// runner` does in production, so tests start real runner processes. Such
// a test skips with -short (the fast tier): the core it needs comes from
// fixturetest.Core, which skips then.
//
// Its runner may also probe its own sandbox (ProbeOptions): try, from
// inside, what a core taken over might, and log what each attempt met.
// Only a test binary can: the telecart program has no such mode.
package runnertest

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/telecart/telecart/internal/runner"
)

// env marks a test binary started by Options to be a runner.
const env = "TELECART_TEST_RUNNER"

// Main serves the runner protocol and exits when this test binary was
// started by Options; otherwise it returns at once. Call it first in
// TestMain.
func Main() {
	if os.Getenv(env) != "1" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	var err error
	if targets, ok := os.LookupEnv(probeEnv); ok {
		err = runner.ChildProbe(ctx, probe(targets))
	} else {
		err = runner.Child(ctx)
	}
	stop()
	if err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

// Options starts this test binary as the runner for cfg.
func Options(cfg runner.Config) runner.Options {
	return runner.Options{
		Config:  cfg,
		Command: []string{os.Args[0]},
		Env:     []string{env + "=1"},
	}
}

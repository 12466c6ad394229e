package runner_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/runnertest"
	"github.com/telecart/telecart/internal/sandbox"
)

// BenchmarkRunnerStart measures a runner's start, from Start to its game
// running (Ready), in the whole sandbox and in none: the sandbox adds the
// runner executed a second time, and its layers.
//
//	go test -run '^$' -bench RunnerStart -benchtime 20x -count 3 ./internal/runner
func BenchmarkRunnerStart(b *testing.B) {
	for _, tt := range []struct {
		name string
		off  sandbox.Layers
	}{
		{"sandbox", 0},
		{"sandbox-without-namespaces", sandbox.Network},
		{"namespaces-only", sandbox.All &^ sandbox.Network},
		{"none", sandbox.All},
	} {
		b.Run(tt.name, func(b *testing.B) {
			opts := runnertest.Options(runner.Config{Core: fixturetest.Core(b, "nes"), Game: fixturetest.TestROM(b), Unsandboxed: tt.off})
			opts.Logger = slog.New(slog.DiscardHandler)
			for range b.N {
				p, err := runner.Start(context.Background(), opts)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := p.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

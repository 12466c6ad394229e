package cli

import (
	"context"

	"github.com/telecart/telecart/internal/runner"
)

func runRunner(ctx context.Context, _ *env, _ []string) error {
	return runner.Child(ctx)
}

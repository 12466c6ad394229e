package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/telecart/telecart/internal/config"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/workerauth"
)

// runWorkerToken prints a worker's credential: its id and a MAC of it
// made with the coordinator's secret (package workerauth). The secret is
// read from TELECART_WORKER_SECRET or the -config file, never a flag: a
// command line shows in ps to everyone on the machine. With several
// secrets (a rotation), the first makes it.
func runWorkerToken(_ context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("worker-token", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	id := fs.String("id", "", "the worker's `id` (its worker_id): the credential lets it register under this id alone")
	flags := config.NewFlags(fs, 0) // -config only
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: telecart worker-token -id ID [-config FILE]\n\n"+
			"Prints the credential of worker ID, made with the coordinator's secret: the first of worker_secret,\n"+
			"from %s or the -config file. Give it to that worker as worker_token (%s),\n"+
			"or put it in its worker_token_file.\n\nFlags:\n", "TELECART_WORKER_SECRET", "TELECART_WORKER_TOKEN")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *id == "" {
		fmt.Fprintln(fs.Output(), "worker-token wants the worker's -id")
		return errUsage
	}
	cfg, err := flags.Config(os.Getenv)
	if err != nil {
		return err
	}
	if len(cfg.WorkerSecret) == 0 {
		return errors.New("set the coordinator's worker_secret, in TELECART_WORKER_SECRET or the -config file (not a flag: a command line shows in ps)")
	}
	cred, err := workerauth.Credential(cfg.WorkerSecret[0], signal.WorkerID(*id))
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, cred)
	return nil
}

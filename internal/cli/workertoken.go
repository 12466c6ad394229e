package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

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
	out := fs.String("o", "", "write the credential to `file` (mode 0600), as the worker's worker_token_file, instead of printing it")
	flags := config.NewFlags(fs, 0) // -config only
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: telecart worker-token -id ID [-config FILE] [-o FILE]\n\n"+
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
	if *out != "" {
		return writeCredential(*out, cred)
	}
	fmt.Fprintln(e.stdout, cred)
	return nil
}

// writeCredential puts cred in path, readable by its owner alone, whole or
// not at all: a worker reads its worker_token_file at every dial, and must
// never find half a credential there. Kubernetes' worker pods make theirs
// this way in an init container (deploy/kubernetes/worker.yaml), with no
// shell to redirect the output.
func writeCredential(path, cred string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".worker-token-*")
	if err != nil {
		return fmt.Errorf("the credential's file: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails once renamed
	if _, err := tmp.WriteString(cred + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("the credential's file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("the credential's file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("the credential's file: %w", err)
	}
	return nil
}

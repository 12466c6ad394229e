// Command telecart runs the Telecart cloud-gaming service. See
// `telecart help` for its subcommands.
package main

import (
	"os"

	"github.com/telecart/telecart/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}

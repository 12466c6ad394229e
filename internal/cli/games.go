package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/telecart/telecart/internal/config"
	"github.com/telecart/telecart/internal/library"
)

// runGames prints the library a worker with these settings would offer,
// and every file in its folders it leaves out, with why: what an operator
// asks when a game is missing from the page.
func runGames(_ context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("games", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	flags := config.NewFlags(fs, config.Worker)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: telecart games [flags]\n\nLists the games a worker with these settings (-games, TELECART_GAMES, the\nconfig file) offers, and every file in its folders it leaves out, with why.\nA worker also offers the bundled test ROM.\n\nFlags (a worker's: only the games folders matter here):")
		flags.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := flags.Config(os.Getenv)
	if err != nil {
		return err
	}
	// What Scan logs, this prints.
	lib, err := library.ScanWith(slog.New(slog.DiscardHandler), library.Options{Dirs: cfg.Games, Thumbnails: cfg.Thumbnails})
	if err != nil {
		return err
	}
	for _, dir := range cfg.Games {
		if _, err := os.Stat(dir); err != nil {
			fmt.Fprintf(e.stdout, "No folder %s\n", dir)
		}
	}
	games := lib.Games()
	fmt.Fprintf(e.stdout, "%s in %s:\n", plural(len(games), "game"), strings.Join(cfg.Games, ", "))
	if len(games) > 0 {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SYSTEM\tTITLE\tFILE\tPICTURE")
		for _, g := range games {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.System, g.Title, g.Path, pictureOf(g))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if left := lib.LeftOut(); len(left) > 0 {
		fmt.Fprintf(e.stdout, "\n%s left out:\n", plural(len(left), "file"))
		for _, o := range left {
			fmt.Fprintf(e.stdout, "%s: %s\n", o.Path, o.Reason)
		}
	}
	return nil
}

// pictureOf says where a game's picture comes from: a file beside it, a
// thumbnail set, or none here; a worker captures a frame of a game
// without one the first time it is played, which only the worker's
// storage knows of.
func pictureOf(g library.Game) string {
	switch g.Art.Source {
	case library.ArtBeside:
		return "beside: " + filepath.Base(g.Art.Path)
	case library.ArtThumbnails:
		return "thumbnails: " + g.Art.Path
	}
	return "none (captured when first played)"
}

// plural counts things: "1 game", "3 games".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

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
	"time"

	"github.com/telecart/telecart/internal/config"
	"github.com/telecart/telecart/internal/library"
)

// runGames prints the library a worker with these settings would offer,
// and every file in its folders it leaves out, with why: what an operator
// asks when a game is missing from the page.
func runGames(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("games", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	flags := config.NewFlags(fs, config.Worker)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: telecart games [flags]\n\nLists the games a worker with these settings (-games, TELECART_GAMES, the\nconfig file) offers, where each one's picture comes from (beside its ROM, a\nthumbnail set, captured by a worker into the saves' storage, or none yet),\nand every file in its folders it leaves out, with why. A worker also offers\nthe bundled test ROM.\n\nFlags (a worker's: only the games folders, thumbnails and saves matter here):")
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
	captured, err := capturedPictures(ctx, cfg, games)
	if err != nil {
		fmt.Fprintf(e.stdout, "The saves' storage cannot be read for the captured pictures: %v\n", err)
	}
	fmt.Fprintf(e.stdout, "%s in %s:\n", plural(len(games), "game"), strings.Join(cfg.Games, ", "))
	if len(games) > 0 {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SYSTEM\tTITLE\tFILE\tPICTURE")
		for _, g := range games {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.System, g.Title, g.Path, pictureOf(g, captured[g.ID]))
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
// thumbnail set, a frame a worker captured (version), or none yet.
func pictureOf(g library.Game, version string) string {
	switch {
	case g.Art.Source == library.ArtBeside:
		return "beside: " + filepath.Base(g.Art.Path)
	case g.Art.Source == library.ArtThumbnails:
		return "thumbnails: " + g.Art.Path
	case version != "":
		return "captured"
	}
	return "none (captured when first played)"
}

// capturedPictures are the versions of the pictures workers captured of
// the games without art, in the saves' storage: none when it is a folder
// that does not exist yet (looking must not make it).
func capturedPictures(ctx context.Context, cfg config.Config, games []library.Game) (map[string]string, error) {
	var ids []string
	for _, g := range games {
		if g.Art.Path == "" {
			ids = append(ids, g.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	if cfg.S3.Endpoint == "" {
		if _, err := os.Stat(cfg.Saves); err != nil {
			return nil, nil
		}
	}
	store, err := openSaves(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return store.Pictures(ctx, ids)
}

// plural counts things: "1 game", "3 games".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

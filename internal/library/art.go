package library

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/telecart/telecart/internal/picture"
)

// Where a game's picture comes from (Art.Source; a captured frame is the
// worker's, not the library's: see package worker).
const (
	ArtBeside     = "beside"     // a picture file named as the ROM, beside it
	ArtThumbnails = "thumbnails" // a libretro thumbnail set
)

// MaxArtSize bounds an art file: a box scan is a few hundred KiB, and a
// file much larger is a mistake the worker should not read for every
// request.
const MaxArtSize = 2 << 20

// ThumbnailsFolder is the folder, at the top of a games folder, that
// Scan takes for a libretro thumbnail set when no other is configured.
// Scan does not look for games in it.
const ThumbnailsFolder = "thumbnails"

// Art is a game's picture file, found when the library was scanned.
type Art struct {
	Source string // ArtBeside or ArtThumbnails
	Path   string
	// Version changes when the file does (its path, size and time): the
	// browsers' cached copies are of one version.
	Version string
}

// artExts are the picture files looked for beside a ROM, in this order.
var artExts = []string{".png", ".jpg", ".jpeg", ".webp"}

// isArtFile says whether a file in a games folder is a picture: art, not
// a game, and so never listed as a file left out.
func isArtFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range artExts {
		if ext == e {
			return true
		}
	}
	return false
}

// thumbnailSystems are libretro's playlist names of each system, which
// name the folders of its thumbnail sets, by system id and then by ROM
// extension where one system here is two of libretro's.
var thumbnailSystems = map[string][]string{
	"nes":  {"Nintendo - Nintendo Entertainment System"},
	"snes": {"Nintendo - Super Nintendo Entertainment System"},
	"gb":   {"Nintendo - Game Boy", "Nintendo - Game Boy Color"},
	"gba":  {"Nintendo - Game Boy Advance"},
	"pce":  {"NEC - PC Engine - TurboGrafx 16"},
}

// thumbnailKinds are a libretro thumbnail set's folders, the box first.
var thumbnailKinds = []string{"Named_Boxarts", "Named_Titles", "Named_Snaps"}

// libretroName is a name as libretro's thumbnail sets spell it: each of
// &*/:`<>?\|" becomes _.
func libretroName(name string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune("&*/:`<>?\\|\"", r) {
			return '_'
		}
		return r
	}, name)
}

// thumbnailNames are the names a game's picture may have in a thumbnail
// set, best first: the file's whole name (a set made for that ROM set),
// without its [tags] (the set's names keep the region), without any tag,
// and the title Telecart shows.
func thumbnailNames(file string) []string {
	base := strings.TrimSuffix(file, filepath.Ext(file))
	names := []string{base}
	add := func(n string) {
		n = strings.Join(strings.Fields(n), " ")
		for _, have := range names {
			if have == n {
				return
			}
		}
		if n != "" {
			names = append(names, n)
		}
	}
	var b strings.Builder
	depth := 0
	for _, r := range base {
		switch {
		case r == '[':
			depth++
		case r == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	add(b.String())
	if i := strings.IndexAny(base, "(["); i > 0 {
		add(base[:i])
	}
	title, _ := Title(file)
	add(title)
	return names
}

// findArt looks for a game's picture: a file named as its ROM (or its
// archive) beside it, then in the thumbnail set thumbs, if any. A picture
// that is too large or not a picture is left out with why (bad), and the
// search goes on.
func findArt(g Game, thumbs string) (art Art, bad []LeftOut) {
	base := strings.TrimSuffix(g.Path, filepath.Ext(g.Path))
	var candidates []Art
	for _, ext := range artExts {
		candidates = append(candidates, Art{Source: ArtBeside, Path: base + ext})
	}
	if thumbs != "" {
		systems := thumbnailSystems[g.System]
		if strings.EqualFold(filepath.Ext(g.File()), ".gbc") && len(systems) == 2 {
			systems = []string{systems[1], systems[0]}
		}
		for _, name := range thumbnailNames(filepath.Base(g.Path)) {
			for _, system := range systems {
				for _, kind := range thumbnailKinds {
					candidates = append(candidates, Art{Source: ArtThumbnails, Path: filepath.Join(thumbs, system, kind, libretroName(name)+".png")})
				}
			}
		}
	}
	for _, c := range candidates {
		info, err := os.Stat(c.Path)
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		if err := checkArt(c.Path, info.Size()); err != nil {
			bad = append(bad, LeftOut{Path: c.Path, Reason: err.Error()})
			continue
		}
		sum := sha256.Sum256([]byte(c.Path + "\x00" + strconv.FormatInt(info.Size(), 10) + "\x00" + info.ModTime().String()))
		c.Version = hex.EncodeToString(sum[:8])
		return c, bad
	}
	return Art{}, bad
}

// checkArt says why the picture file at path, of size bytes, cannot be a
// game's picture, or nil. Only its header is read: a scan may meet
// thousands, and ReadArt decodes the whole of one when it is asked for.
func checkArt(path string, size int64) error {
	if size > MaxArtSize {
		return fmt.Errorf("the picture is %d KiB, more than the %d KiB a game's picture may be", size>>10, MaxArtSize>>10)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, _, _, err := picture.Config(f); err != nil {
		return fmt.Errorf("the picture cannot be read: %w", err)
	}
	return nil
}

// ArtWidth is the widest a game's picture is sent: the list shows it
// far smaller, and a phone's screen at twice its pixels still finds it
// sharp.
const ArtWidth = 320

// ReadArt is the game's picture, shrunk to at most ArtWidth pixels wide,
// and its content type: ErrNoArt for a game without one, and an error
// wrapping picture.ErrNotPicture for a file that stopped being one.
func ReadArt(g Game) ([]byte, string, error) {
	if g.Art.Path == "" {
		return nil, "", ErrNoArt
	}
	f, err := os.Open(g.Art.Path)
	if err != nil {
		return nil, "", fmt.Errorf("library: art of %s: %w", g.ID, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxArtSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("library: art of %s: %w", g.ID, err)
	}
	if len(b) > MaxArtSize {
		return nil, "", fmt.Errorf("library: art of %s: %w", g.ID, ErrTooLarge)
	}
	img, format, err := picture.Decode(b)
	if err != nil {
		return nil, "", fmt.Errorf("library: art of %s: %w", g.ID, err)
	}
	data, typ := picture.Thumbnail(img, format, ArtWidth)
	return data, typ, nil
}

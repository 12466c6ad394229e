package library

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/telecart/telecart/internal/picture"
)

// artPNG is a small picture of w by h pixels, not of one colour.
func artPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func artJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// webpArt is a WebP picture, from golang.org/x/image's test data.
func webpArt(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../picture/testdata/blue-purple-pink.lossy.webp")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFindArt(t *testing.T) {
	t.Parallel()
	const nes = "thumbnails/Nintendo - Nintendo Entertainment System/"
	good := artPNG(t, 40, 30)
	huge := append(artPNG(t, 8, 8), make([]byte, MaxArtSize)...) // a PNG header, then too much
	tests := []struct {
		name  string
		rom   string
		files map[string][]byte
		// thumbs is a configured thumbnail set, relative to the folder;
		// empty, the folder's own.
		thumbs   string
		want     string // the art's path, relative; "" for none
		source   string
		leftOut  string // a file left out, with why in its reason
		leftWhy  string
		wantJPEG bool
	}{
		{name: "beside png", rom: "Foo (USA).nes", files: map[string][]byte{"Foo (USA).png": good}, want: "Foo (USA).png", source: ArtBeside},
		{name: "beside jpg", rom: "Foo (USA).nes", files: map[string][]byte{"Foo (USA).jpg": artJPEG(t, 500, 700)}, want: "Foo (USA).jpg", source: ArtBeside, wantJPEG: true},
		{name: "beside webp", rom: "Foo (USA).nes", files: map[string][]byte{"Foo (USA).webp": webpArt(t)}, want: "Foo (USA).webp", source: ArtBeside},
		{name: "beside a zip", rom: "Foo (USA).zip", files: map[string][]byte{"Foo (USA).png": good}, want: "Foo (USA).png", source: ArtBeside},
		{name: "beside wins over thumbnails", rom: "Foo (USA).nes", files: map[string][]byte{"Foo (USA).png": good, nes + "Named_Boxarts/Foo (USA).png": good}, want: "Foo (USA).png", source: ArtBeside},
		{name: "thumbnails full name", rom: "Foo (USA) [!].nes", files: map[string][]byte{nes + "Named_Titles/Foo (USA) [!].png": good}, want: nes + "Named_Titles/Foo (USA) [!].png", source: ArtThumbnails},
		{name: "thumbnails without [tags]", rom: "Foo (USA) [!].nes", files: map[string][]byte{nes + "Named_Boxarts/Foo (USA).png": good}, want: nes + "Named_Boxarts/Foo (USA).png", source: ArtThumbnails},
		{name: "thumbnails without any tag", rom: "Foo (USA) (Rev 1).nes", files: map[string][]byte{nes + "Named_Snaps/Foo.png": good}, want: nes + "Named_Snaps/Foo.png", source: ArtThumbnails},
		{name: "thumbnails the box first", rom: "Foo.nes", files: map[string][]byte{nes + "Named_Snaps/Foo.png": good, nes + "Named_Boxarts/Foo.png": good}, want: nes + "Named_Boxarts/Foo.png", source: ArtThumbnails},
		{name: "thumbnails libretro's characters", rom: "Tom & Jerry - Yes_ No (USA).nes", files: map[string][]byte{nes + "Named_Boxarts/Tom _ Jerry - Yes_ No (USA).png": good}, want: nes + "Named_Boxarts/Tom _ Jerry - Yes_ No (USA).png", source: ArtThumbnails},
		{name: "thumbnails game boy color", rom: "Bar (World).gbc", files: map[string][]byte{"thumbnails/Nintendo - Game Boy Color/Named_Boxarts/Bar (World).png": good}, want: "thumbnails/Nintendo - Game Boy Color/Named_Boxarts/Bar (World).png", source: ArtThumbnails},
		{name: "thumbnails configured", rom: "Foo.nes", thumbs: "elsewhere", files: map[string][]byte{"elsewhere/Nintendo - Nintendo Entertainment System/Named_Boxarts/Foo.png": good}, want: "elsewhere/Nintendo - Nintendo Entertainment System/Named_Boxarts/Foo.png", source: ArtThumbnails},
		{name: "another system's set", rom: "Foo.nes", files: map[string][]byte{"thumbnails/Nintendo - Game Boy/Named_Boxarts/Foo.png": good}},
		{name: "none", rom: "Foo.nes", files: map[string][]byte{"Other.png": good}},
		{name: "oversized", rom: "Foo.nes", files: map[string][]byte{"Foo.png": huge}, leftOut: "Foo.png", leftWhy: "more than"},
		{name: "oversized, then thumbnails", rom: "Foo.nes", files: map[string][]byte{"Foo.png": huge, nes + "Named_Boxarts/Foo.png": good}, want: nes + "Named_Boxarts/Foo.png", source: ArtThumbnails, leftOut: "Foo.png", leftWhy: "more than"},
		{name: "not an image", rom: "Foo.nes", files: map[string][]byte{"Foo.png": []byte("not a picture at all")}, leftOut: "Foo.png", leftWhy: "cannot be read"},
		{name: "claims too many pixels", rom: "Foo.nes", files: map[string][]byte{"Foo.png": artPNG(t, 1, 1)[:0]}, leftOut: "Foo.png", leftWhy: "cannot be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tt.files[tt.rom] = []byte("rom")
			for name, b := range tt.files {
				path := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if strings.HasSuffix(name, ".zip") {
					writeZip(t, path, map[string][]byte{"Foo.nes": b})
				} else if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			o := Options{Dirs: []string{dir}}
			if tt.thumbs != "" {
				o.Thumbnails = filepath.Join(dir, tt.thumbs)
			}
			l, err := ScanWith(slog.New(slog.DiscardHandler), o)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Games()) != 1 {
				t.Fatalf("games %+v, want the one ROM (pictures and thumbnail sets are no games)", l.Games())
			}
			g := l.Games()[0]
			want := ""
			if tt.want != "" {
				want = filepath.Join(dir, tt.want)
			}
			if g.Art.Path != want || g.Art.Source != tt.source {
				t.Errorf("art %+v, want %s from %q", g.Art, want, tt.source)
			}
			if (g.GameInfo.Art != "") != (want != "") || g.GameInfo.Art != g.Art.Version {
				t.Errorf("the listed version %q for art %+v", g.GameInfo.Art, g.Art)
			}
			left := l.LeftOut()
			switch {
			case tt.leftOut == "" && len(left) > 0:
				t.Errorf("left out %+v, want nothing: pictures are art", left)
			case tt.leftOut != "" && (len(left) != 1 || left[0].Path != filepath.Join(dir, tt.leftOut) || !strings.Contains(left[0].Reason, tt.leftWhy)):
				t.Errorf("left out %+v, want %s because %q", left, tt.leftOut, tt.leftWhy)
			}
			data, typ, err := ReadArt(g)
			if want == "" {
				if !errors.Is(err, ErrNoArt) {
					t.Errorf("ReadArt of a game without art: %v, want ErrNoArt", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadArt: %v", err)
			}
			if (typ == picture.JPEG) != tt.wantJPEG {
				t.Errorf("content type %s", typ)
			}
			img, _, err := image.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("the art sent does not decode: %v", err)
			}
			if w := img.Bounds().Dx(); w == 0 || w > ArtWidth {
				t.Errorf("art %d pixels wide, want 1 to %d", w, ArtWidth)
			}
		})
	}
}

// A picture that stops being one after the scan is an error to the one
// asking for it, not a panic nor a broken picture.
func TestReadArtChanged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rom, art := filepath.Join(dir, "Foo.nes"), filepath.Join(dir, "Foo.png")
	for path, b := range map[string][]byte{rom: []byte("rom"), art: artPNG(t, 16, 16)} {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, err := Scan(slog.New(slog.DiscardHandler), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(art, artPNG(t, 16, 16)[:40], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadArt(l.Games()[0]); !errors.Is(err, picture.ErrNotPicture) {
		t.Errorf("ReadArt of a broken picture: %v, want ErrNotPicture", err)
	}
}

func TestThumbnailNames(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"Foo (USA) [!].nes":    {"Foo (USA) [!]", "Foo (USA)", "Foo"},
		"Foo.nes":              {"Foo"},
		"Super_Mario_Bros.nes": {"Super_Mario_Bros", "Super Mario Bros"},
		"[BIOS] Thing (J).pce": {"[BIOS] Thing (J)", "Thing (J)", "[BIOS] Thing"},
	}
	for file, want := range tests {
		if got := thumbnailNames(file); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("thumbnailNames(%q) = %q, want %q", file, got, want)
		}
	}
}

// BenchmarkScanArt scans a folder of 1000 ROMs, a third with art beside,
// a third in the thumbnail set, a third with none: what finding art adds
// to a worker's start.
func BenchmarkScanArt(b *testing.B) {
	for _, withArt := range []bool{false, true} {
		name := "no-art"
		if withArt {
			name = "art"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			pic := artPNG(b, 64, 64)
			set := filepath.Join(dir, ThumbnailsFolder, "Nintendo - Nintendo Entertainment System", "Named_Boxarts")
			if err := os.MkdirAll(set, 0o755); err != nil {
				b.Fatal(err)
			}
			for i := range 1000 {
				base := "Game " + strconv.Itoa(i) + " (USA)"
				if err := os.WriteFile(filepath.Join(dir, base+".nes"), []byte("rom"), 0o644); err != nil {
					b.Fatal(err)
				}
				if !withArt {
					continue
				}
				switch i % 3 {
				case 0:
					err := os.WriteFile(filepath.Join(dir, base+".png"), pic, 0o644)
					if err != nil {
						b.Fatal(err)
					}
				case 1:
					if err := os.WriteFile(filepath.Join(set, "Game "+strconv.Itoa(i)+".png"), pic, 0o644); err != nil {
						b.Fatal(err)
					}
				}
			}
			log := slog.New(slog.DiscardHandler)
			b.ResetTimer()
			for b.Loop() {
				if _, err := Scan(log, []string{dir}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/scan")
		})
	}
}

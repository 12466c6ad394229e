package testrom

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"testing"
)

func TestHeader(t *testing.T) {
	rom := ROM()
	if len(rom) != 16+16<<10+8<<10 {
		t.Fatalf("ROM is %d bytes, want a 16-byte header, 16 KiB PRG and 8 KiB CHR", len(rom))
	}
	if string(rom[:4]) != "NES\x1a" {
		t.Fatalf("magic %q", rom[:4])
	}
	if rom[4] != 1 || rom[5] != 1 {
		t.Errorf("%d PRG and %d CHR banks, want 1 and 1", rom[4], rom[5])
	}
	if mapper := rom[6]>>4 | rom[7]&0xF0; mapper != 0 {
		t.Errorf("mapper %d, want 0 (NROM)", mapper)
	}
	if rom[6]&0x02 != 0 {
		t.Error("battery flag set; the ROM has no SRAM")
	}
	// The reset vector points into PRG ($C000-$FFFF for 16 KiB NROM).
	prg := rom[16 : 16+16<<10]
	if reset := uint16(prg[0x3FFC]) | uint16(prg[0x3FFD])<<8; reset < 0xC000 {
		t.Errorf("reset vector $%04X outside PRG", reset)
	}
}

func distance(a, b color.RGBA) float64 {
	dr, dg, db := float64(a.R)-float64(b.R), float64(a.G)-float64(b.G), float64(a.B)-float64(b.B)
	return math.Sqrt(dr*dr + dg*dg + db*db)
}

// The colours must stay apart through a lossy codec.
func TestColoursDistinct(t *testing.T) {
	fills := []color.RGBA{FillColor()}
	for _, b := range Buttons() {
		fills = append(fills, FillColor(b))
	}
	for i := range fills {
		for j := range i {
			if d := distance(fills[i], fills[j]); d < 80 {
				t.Errorf("fill colours %v and %v only %.0f apart", fills[i], fills[j], d)
			}
		}
		for _, lit := range []bool{false, true} {
			if d := distance(fills[i], P2Color(lit)); d < 60 {
				t.Errorf("fill colour %v and P2 colour %v only %.0f apart", fills[i], P2Color(lit), d)
			}
		}
	}
	// The mark's colours are further apart still: a test tells them at a
	// glance from each other and from everything else.
	others := append(fills, P2Color(false), P2Color(true))
	for _, on := range []bool{false, true} {
		for _, c := range others {
			if d := distance(MarkColor(on), c); d < 100 {
				t.Errorf("mark colour %v and %v only %.0f apart", MarkColor(on), c, d)
			}
		}
	}
	if d := distance(MarkColor(false), MarkColor(true)); d < 200 {
		t.Errorf("mark colours %v and %v only %.0f apart", MarkColor(false), MarkColor(true), d)
	}
	others = append(others, MarkColor(false), MarkColor(true))
	for _, lit := range []bool{false, true} {
		for _, c := range others {
			if d := distance(LagColor(lit), c); d < 60 {
				t.Errorf("lag colour %v and %v only %.0f apart", LagColor(lit), c, d)
			}
		}
	}
	if d := distance(LagColor(false), LagColor(true)); d < 150 {
		t.Errorf("lag colours %v and %v only %.0f apart", LagColor(false), LagColor(true), d)
	}
}

func TestPriority(t *testing.T) {
	tests := []struct {
		held []Button
		want Button
	}{
		{[]Button{A, B}, A},
		{[]Button{Right, Left}, Left},
		{[]Button{Start, Select, Down}, Select},
		{[]Button{Right}, Right},
	}
	for _, tt := range tests {
		if got, want := FillColor(tt.held...), FillColor(tt.want); got != want {
			t.Errorf("FillColor(%v) = %v, want %v's colour %v", tt.held, got, tt.want, want)
		}
	}
}

func TestLayout(t *testing.T) {
	for i, a := range Buttons() {
		box := P2Box(a)
		if box.Dx() < 16 || box.Dy() < 16 {
			t.Errorf("%v box %v smaller than 16x16", a, box)
		}
		if FillPoint().In(box.Inset(-16)) {
			t.Errorf("fill point %v within 16 px of %v box %v", FillPoint(), a, box)
		}
		for _, b := range Buttons()[i+1:] {
			if box.Overlaps(P2Box(b)) {
				t.Errorf("%v and %v boxes overlap", a, b)
			}
		}
		if box.Inset(-8).Overlaps(MarkBox()) {
			t.Errorf("%v box %v within 8 px of the mark box %v", a, box, MarkBox())
		}
	}
	mark := MarkBox()
	if mark.Dx() < 16 || mark.Dy() < 16 {
		t.Errorf("mark box %v smaller than 16x16", mark)
	}
	if FillPoint().In(mark.Inset(-16)) {
		t.Errorf("fill point %v within 16 px of the mark box %v", FillPoint(), mark)
	}
	// On 8-pixel tiles, well inside the 256x224 picture.
	for _, box := range []image.Rectangle{mark, LagBox(), EchoBox()} {
		if !box.In(image.Rect(16, 16, 256-16, 224-16)) || box.Min.X%8 != 0 || box.Min.Y%8 != 0 || box.Dx()%8 != 0 || box.Dy()%8 != 0 {
			t.Errorf("box %v not on tiles well inside the picture", box)
		}
	}
	for _, box := range []image.Rectangle{LagBox(), EchoBox()} {
		if FillPoint().In(box.Inset(-16)) {
			t.Errorf("fill point %v within 16 px of the lag box %v", FillPoint(), box)
		}
		if box.Inset(-8).Overlaps(mark) {
			t.Errorf("lag box %v within 8 px of the mark box %v", box, mark)
		}
		for _, b := range Buttons() {
			if box.Inset(-8).Overlaps(P2Box(b)) {
				t.Errorf("lag box %v within 8 px of the %v box", box, b)
			}
		}
	}
	if LagBox().Overlaps(EchoBox()) || !LagPoint().In(LagBox()) || !EchoPoint().In(EchoBox()) {
		t.Errorf("lag box %v with %v, echo box %v with %v", LagBox(), LagPoint(), EchoBox(), EchoPoint())
	}
}

// The Go colours were measured for particular NES palette entries; if the
// ROM's colour table changes, they must be measured again.
func TestROMPaletteEntries(t *testing.T) {
	// fill_colors in src/testrom.s: A..Right, then nothing held.
	fill := []byte{0x28, 0x12, 0x07, 0x38, 0x02, 0x00, 0x30, 0x0F, 0x22}
	// box_color: lsr tmp; lda #P2_DARK ($04); bcc +2; lda #P2_LIT ($24).
	box := []byte{0xA9, 0x04, 0x90, 0x02, 0xA9, 0x24}
	// mark_colors: MARK_OFF ($16), MARK_ON ($2A), then start_lag's first
	// instruction (bit PPUSTATUS). Only a few bytes: TestNestopiaPicture is
	// the real check.
	mark := []byte{0x16, 0x2A, 0x2C, 0x02, 0x20}
	// lag_colors: LAG_OFF ($0B), LAG_ON ($2C), then the end of PRG's
	// contents (unused PRG is $FF).
	lag := []byte{0x0B, 0x2C, 0xFF}
	prg := ROM()[16 : 16+16<<10]
	if !bytes.Contains(prg, fill) {
		t.Errorf("PRG lacks the fill colour table % X; re-measure the colours", fill)
	}
	if !bytes.Contains(prg, box) {
		t.Errorf("PRG lacks the P2 colour code % X; re-measure the colours", box)
	}
	if !bytes.Contains(prg, mark) {
		t.Errorf("PRG lacks the mark colour table % X; re-measure the colours", mark)
	}
	if !bytes.Contains(prg, lag) {
		t.Errorf("PRG lacks the lag colour table % X; re-measure the colours", lag)
	}
}

func TestROMIsACopy(t *testing.T) {
	r := ROM()
	r[0] = 0
	if ROM()[0] != 'N' {
		t.Error("changing ROM()'s result changed the embedded ROM")
	}
}

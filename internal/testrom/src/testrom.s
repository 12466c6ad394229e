; Telecart input/picture/sound test ROM (NES, mapper 0 / NROM-128).
;
; This cartridge exists so that tests can press buttons on a remote session
; and check the streamed picture and sound without knowing anything about a
; real game. Everything it shows is a function of the buttons held in the
; current frame, except for one bit of state, the mark:
;
;   * The whole screen is filled with one colour chosen by player 1's buttons
;     (one colour per button, plus one for "nothing held"). If several buttons
;     are held, the one read first from the controller's shift register wins,
;     i.e. A, B, Select, Start, Up, Down, Left, Right.
;   * A row of eight boxes shows player 2's buttons, one box per button in the
;     same order; a box is lit while its button is held.
;   * Pulse channel 1 plays a ~440 Hz tone while player 1 holds A.
;   * The mark, one byte of RAM, is 0 after power-on and reset and flips
;     every time player 1 newly presses Select (held in this frame, not in the
;     one before). A box near the top-left corner shows it in one of two
;     colours. Being RAM, it lives in save states: save-state tests flip it
;     and check that loading a state brings the saved value back.
;   * The lag box shows whether player 1 held A two frames earlier, and the
;     echo box whether A was held four frames earlier: a game with known
;     lag frames, for run-ahead and lag measurements (see "The lag boxes").
;
; The NES palette entries below were chosen so that the colours, as nestopia
; renders them, stay far apart after a lossy video codec with 4:2:0 chroma
; subsampling. The Go side (../testrom.go) records the exact RGB values;
; if you change a colour here, re-measure and update it there.
;
; Latency matters more than anything else: a test measures "input applied
; before frame N is visible in frame N". So the controllers are read in the
; NMI handler and the results are written to the PPU palette and the APU
; straight away, inside the same vertical blank. Nothing waits for the main
; loop, which does nothing at all.
;
; The mark came later, and was added without moving a cycle of what was
; there: its code and data live in a segment of their own after all the
; rest, so every older instruction and table kept its address (and with it
; every page crossing), and the only older bytes it changed are the targets
; of two jsr instructions. See "The mark" below.

; ---------------------------------------------------------------------------
; Hardware registers
; ---------------------------------------------------------------------------
PPUCTRL   = $2000
PPUMASK   = $2001
PPUSTATUS = $2002
PPUSCROLL = $2005
PPUADDR   = $2006
PPUDATA   = $2007
SQ1_VOL   = $4000
SQ1_SWEEP = $4001
SQ1_LO    = $4002
SQ1_HI    = $4003
DMC_FREQ  = $4010
APU_STATUS = $4015
JOY1      = $4016           ; read: pad 1; write: strobe for both pads
JOY2      = $4017           ; read: pad 2
APU_FRAME = $4017           ; write: APU frame counter

; PPUCTRL while running: NMI on, background patterns and nametable at $0000/$2000.
PPUCTRL_RUN = %10000000
; PPUMASK while running: background on, including the leftmost 8 pixels (so the
; fill really covers the whole picture); sprites off, no colour emphasis (which
; would shift the measured colours).
PPUMASK_RUN = %00001010

; ---------------------------------------------------------------------------
; Colours (NES palette indices). Order = NES shift-register order.
; Black ($0F) and grey ($00) are deliberately not the "nothing held" colour:
; a blank or half-decoded video frame tends to be black or grey, and it must
; not be mistaken for a correctly rendered idle screen.
; ---------------------------------------------------------------------------
COLOR_A      = $28          ; yellow
COLOR_B      = $12          ; blue
COLOR_SELECT = $07          ; dark brown
COLOR_START  = $38          ; pale yellow
COLOR_UP     = $02          ; dark blue
COLOR_DOWN   = $00          ; grey
COLOR_LEFT   = $30          ; white
COLOR_RIGHT  = $0F          ; black ($0F, not $0D: $0D is "blacker than black")
COLOR_NONE   = $22          ; light blue-violet

P2_LIT  = $24               ; bright magenta
P2_DARK = $04               ; dark purple

; The mark's colours: red and green, as nestopia renders them over 110 apart
; (RGB distance) from every colour above, and far from each other.
MARK_OFF = $16              ; red
MARK_ON  = $2A              ; green

BUTTON_A = %00000001        ; bit layout of p1/p2 after read_pads (A = bit 0)
BUTTON_SELECT = %00000100

; ---------------------------------------------------------------------------
; Tone: pulse 1 period register t gives f = CPU / (16 * (t + 1)).
; NTSC CPU = 1789772.7 Hz, t = 253 -> 440.40 Hz (t = 254 would be 438.7 Hz).
; ---------------------------------------------------------------------------
TONE_PERIOD = 253
; $4000 values: duty 50% (bits 7-6 = 10), length counter halted (bit 5) so the
; note never runs out, constant volume (bit 4), volume in bits 3-0. Switching
; only the volume keeps the waveform running, so holding A gives a clean,
; continuous tone instead of a click every frame (a $4003 write would restart
; the phase).
SQ1_TONE_ON  = %10111111    ; volume 15
SQ1_TONE_OFF = %10110000    ; volume 0

; ---------------------------------------------------------------------------
; Screen layout (in tiles; 1 tile = 8x8 pixels, screen is 32x30 tiles).
; P2 boxes are 2 tiles wide with a 1-tile gap, 4 tiles tall, in the middle
; band of the screen: well clear of the top/bottom 16 lines that frontends
; may crop as overscan, and far below the spot tests sample for the P1 fill.
;
; Each box needs its own palette entry so it can be lit on its own. Tiles
; 1, 2, 3 are solid colour 1, 2, 3; the attribute table picks background
; palette 0, 1 or 2. Box i uses palette i/3 and colour i%3+1, i.e. palette RAM
; address $3F01 + 4*(i/3) + i%3. Because boxes are 3 tiles apart, no 16x16
; attribute quadrant holds parts of two different boxes.
; ---------------------------------------------------------------------------
BOX_LEFT_COL = 4            ; x = 32 px
BOX_TOP_ROW  = 18           ; y = 144 px
BOX_ROWS     = 4            ; 32 px tall
BOX_PITCH    = 3            ; 2 tiles of box + 1 tile of gap
BOX_ROW_LEN  = 8 * BOX_PITCH - 1

.assert BOX_TOP_ROW .mod 2 = 0, error, "boxes must start on an attribute quadrant"
.assert BOX_TOP_ROW / 4 = 4 && (BOX_TOP_ROW + BOX_ROWS - 1) / 4 = 5, error, "attribute rows below assume groups 4 and 5"

; The mark box is 4x4 tiles of tile 1 filling exactly one attribute group,
; whose byte selects background palette 3 for all four quadrants: palette 3
; is the mark's alone, and its colour 1 ($3F0D) is the mark's colour. At
; tile row 4 (y = 32; 24 in the picture nestopia crops to 224 lines) it is
; clear of the cropped lines, far from the spot tests sample for the P1 fill
; (x = 128, y = 48 cropped) and from the P2 boxes.
MARK_COL   = 4              ; x = 32 px
MARK_ROW   = 4              ; y = 32 px
MARK_SIZE  = 4              ; 32x32 px
MARK_ATTR  = $23C0 + (MARK_ROW / 4) * 8 + MARK_COL / 4
MARK_ENTRY = $3F0D          ; palette 3, colour 1

.assert MARK_COL .mod 4 = 0 && MARK_ROW .mod 4 = 0 && MARK_SIZE = 4, error, "the mark box must be one attribute group"
.assert MARK_ROW + MARK_SIZE <= BOX_TOP_ROW, error, "the mark box must lie above the P2 boxes"

; ---------------------------------------------------------------------------
; iNES header: 1 x 16 KiB PRG, 1 x 8 KiB CHR, mapper 0, no battery/trainer.
; ---------------------------------------------------------------------------
.segment "HEADER"
    .byte "NES", $1A
    .byte 1                 ; PRG-ROM size in 16 KiB units
    .byte 1                 ; CHR-ROM size in 8 KiB units
    .byte $00               ; mapper 0 low nibble, horizontal mirroring
    .byte $00               ; mapper 0 high nibble, plain iNES
    .res 8, $00

.segment "ZEROPAGE"
p1:  .res 1                 ; player 1 buttons, bit 0 = A ... bit 7 = Right
p2:  .res 1                 ; player 2 buttons, same layout
tmp: .res 1
; The mark's, after the older variables so that those kept their addresses.
p1_prev: .res 1             ; p1 as read by the previous NMI
mark:    .res 1             ; 0 or 1, flipped by each new press of P1 Select
; The lag boxes', after the mark's.
ahist:   .res 1             ; bit n: P1 held A n frames ago (bit 0: this frame)

.segment "CODE"

; ---------------------------------------------------------------------------
; Reset: the usual power-up dance. The PPU ignores writes for roughly the
; first frame and is only stable after the second vblank, so all PPU setup
; happens after two vblank waits; the RAM clear fills the time in between.
; ---------------------------------------------------------------------------
reset:
    sei
    cld
    ldx #$40
    stx APU_FRAME           ; no APU frame IRQs
    ldx #$FF
    txs
    inx                     ; X = 0
    stx PPUCTRL             ; no NMI until the screen is ready
    stx PPUMASK             ; rendering off so VRAM is freely writable
    stx DMC_FREQ            ; no DMC IRQs
    stx APU_STATUS          ; all channels off while we set them up

    bit PPUSTATUS           ; the flag may be stale from before reset
@vblank1:
    bit PPUSTATUS
    bpl @vblank1

    ; Clear all 2 KiB of RAM so the program never depends on power-up
    ; garbage (emulators and consoles disagree on what that is).
    txa
@clear_ram:
    sta $0000,x
    sta $0100,x
    sta $0200,x
    sta $0300,x
    sta $0400,x
    sta $0500,x
    sta $0600,x
    sta $0700,x
    inx
    bne @clear_ram

@vblank2:
    bit PPUSTATUS
    bpl @vblank2

    ; APU: enable pulse 1 first (a length-counter load is ignored while the
    ; channel is disabled), configure it silent, then load period and length
    ; once. From here on the NMI only changes the volume.
    lda #%00000001
    sta APU_STATUS
    lda #SQ1_TONE_OFF
    sta SQ1_VOL
    lda #%00001000          ; sweep off (negate set so it can never mute us)
    sta SQ1_SWEEP
    lda #<TONE_PERIOD
    sta SQ1_LO
    lda #(>TONE_PERIOD) | %11111000   ; longest length; halted anyway
    sta SQ1_HI

    jsr load_nametable
    jsr load_palette

    ; Turn the picture on at the start of a vblank so the first visible
    ; frame is complete. Reading PPUSTATUS clears the vblank flag, so
    ; enabling NMI here does not fire an NMI immediately.
@vblank3:
    bit PPUSTATUS
    bpl @vblank3
    jsr start_mark          ; then restore_scroll, which enables NMI
    lda #PPUMASK_RUN
    sta PPUMASK

    ; All work happens in the NMI handler.
@idle:
    jmp @idle

; ---------------------------------------------------------------------------
; Fill nametable 0 with tile 0 (transparent, shows the backdrop = P1 colour),
; then draw the P2 boxes and set their attribute bytes.
; ---------------------------------------------------------------------------
load_nametable:
    bit PPUSTATUS           ; reset the PPUADDR write latch
    lda #$20
    sta PPUADDR
    lda #$00
    sta PPUADDR
    ; 1024 bytes = 960 tiles + 64 attribute bytes (all palette 0).
    ldy #4
    ldx #0
@clear:
    sta PPUDATA
    inx
    bne @clear
    dey
    bne @clear

    ; The same tile row is written on every row of the box band.
.repeat BOX_ROWS, r
    lda #>($2000 + (BOX_TOP_ROW + r) * 32 + BOX_LEFT_COL)
    sta PPUADDR
    lda #<($2000 + (BOX_TOP_ROW + r) * 32 + BOX_LEFT_COL)
    sta PPUADDR
    ldx #0
:   lda box_row,x
    sta PPUDATA
    inx
    cpx #BOX_ROW_LEN
    bne :-
.endrepeat

    ; Attribute groups are 4x4 tiles; the boxes span group rows 4 and 5.
    lda #>($23C0 + 4 * 8)
    sta PPUADDR
    lda #<($23C0 + 4 * 8)
    sta PPUADDR
    ldx #0
:   lda box_attributes,x
    sta PPUDATA
    inx
    cpx #16
    bne :-
    rts

; ---------------------------------------------------------------------------
; Initial background palette: backdrop = "nothing held", box entries P2_DARK,
; so the first rendered frame already shows the idle picture. Only the 16
; background entries are written: $3F10 mirrors $3F00, so filling all 32
; would overwrite the backdrop. Sprite palettes are unused.
; ---------------------------------------------------------------------------
load_palette:
    bit PPUSTATUS
    lda #$3F
    sta PPUADDR
    lda #$00
    sta PPUADDR
    lda #COLOR_NONE
    sta PPUDATA
    lda #P2_DARK
    ldx #15
:   sta PPUDATA
    dex
    bne :-
    ; Point VRAM away from the palette: while rendering is off the PPU shows
    ; the colour at the VRAM address if it lies in palette RAM.
    lda #$20
    sta PPUADDR
    lda #$00
    sta PPUADDR
    rts

; ---------------------------------------------------------------------------
; Writing PPUADDR overwrites the PPU's internal scroll register, so after any
; VRAM access the scroll must be set again or the picture would jump. These
; three writes set every bit of it (nametable, coarse/fine X and Y).
; ---------------------------------------------------------------------------
restore_scroll:
    lda #0
    sta PPUSCROLL
    sta PPUSCROLL
    lda #PPUCTRL_RUN
    sta PPUCTRL
    rts

; ---------------------------------------------------------------------------
; NMI = start of vblank. Read the pads, then immediately show the result.
; Roughly 550 CPU cycles; vblank lasts about 2270, so palette writes can
; never spill into the visible picture.
; ---------------------------------------------------------------------------
nmi:
    pha
    txa
    pha

    ; Strobe both controllers, then shift out 8 bits each. The first bit is
    ; A; rotating right eight times leaves it in bit 0 and Right in bit 7.
    lda #1
    sta JOY1
    lda #0
    sta JOY1
    ldx #8
@read:
    lda JOY1
    and #%00000011          ; bit 0: NES pad, bit 1: Famicom expansion pad
    cmp #1                  ; carry = button held
    ror p1
    lda JOY2
    and #%00000011
    cmp #1
    ror p2
    dex
    bne @read

    ; Palette RAM, starting at the backdrop ($3F00).
    bit PPUSTATUS
    lda #$3F
    sta PPUADDR
    lda #$00
    sta PPUADDR

    ; Backdrop = colour of the lowest set bit of p1 (first in read order);
    ; X ends at 8 ("nothing held") when p1 is 0.
    lda p1
    ldx #0
@find:
    lsr a
    bcs @found
    inx
    cpx #8
    bne @find
@found:
    lda fill_colors,x
    sta PPUDATA             ; $3F00

    ; $3F01-$3F0A: one entry per P2 box (see the layout notes above), with
    ; the unused index-0 entries of palettes 1 and 2 written in between.
    lda p2
    sta tmp
.macro box_color
    lsr tmp                 ; next P2 button, A first
    lda #P2_DARK
    bcc :+
    lda #P2_LIT
:   sta PPUDATA
.endmacro
    box_color               ; $3F01 A
    box_color               ; $3F02 B
    box_color               ; $3F03 Select
    lda #P2_DARK
    sta PPUDATA             ; $3F04 never displayed
    box_color               ; $3F05 Start
    box_color               ; $3F06 Up
    box_color               ; $3F07 Down
    lda #P2_DARK
    sta PPUDATA             ; $3F08 never displayed
    box_color               ; $3F09 Left
    box_color               ; $3F0A Right

    ; Tone on while P1 holds A (see SQ1_TONE_ON).
    lda p1
    and #BUTTON_A
    beq @quiet
    lda #SQ1_TONE_ON
    bne @set_volume         ; always taken
@quiet:
    lda #SQ1_TONE_OFF
@set_volume:
    sta SQ1_VOL

    jsr update_mark         ; then restore_scroll

    pla
    tax
    pla
irq:
    rti

.segment "RODATA"

; Backdrop colour for the first held P1 button; entry 8 = nothing held.
fill_colors:
    .byte COLOR_A, COLOR_B, COLOR_SELECT, COLOR_START
    .byte COLOR_UP, COLOR_DOWN, COLOR_LEFT, COLOR_RIGHT
    .byte COLOR_NONE

; One nametable row of the box band: box i is tile (i mod 3) + 1, twice,
; followed by a transparent gap tile.
box_row:
.repeat 8, i
    .byte (i .mod 3) + 1, (i .mod 3) + 1
  .if i < 7
    .byte 0
  .endif
.endrepeat

; Attribute bytes for group rows 4 and 5 (tile rows 16-23). Each byte covers
; 4x4 tiles; its 2-bit fields pick the palette for the top-left, top-right,
; bottom-left and bottom-right 2x2 quadrants. With boxes at tile columns
; 4-5, 7-8, 10-11, ..., 25-26 the quadrant columns map to palettes:
;   cols  0-11: boxes 0-2 -> palette 0
;   cols 12-21: boxes 3-5 -> palette 1  (cols 12 and 21 are gap tiles)
;   cols 22-27: boxes 6-7 -> palette 2
; All four quadrants of a byte get the same left/right palettes; quadrants
; without box tiles show only the backdrop, so their palette is irrelevant.
.define ATTR(left, right) (left) | ((right) << 2) | ((left) << 4) | ((right) << 6)
box_attributes:
.repeat 2
    .byte ATTR(0, 0), ATTR(0, 0), ATTR(0, 0), ATTR(1, 1)
    .byte ATTR(1, 1), ATTR(1, 2), ATTR(2, 2), ATTR(0, 0)
.endrepeat

; ---------------------------------------------------------------------------
; The mark. Its own segment, linked after RODATA (see nrom.cfg), so that
; nothing older moved.
;
; Both routines are called in place of restore_scroll and end by jumping to
; it; each adds a multiple of 3 CPU cycles. The main loop is a 3-cycle jmp,
; so it is at the same point of its loop as before when the next NMI
; arrives, the NMI is taken on the same cycle, and every older write,
; the tone's volume included, lands on exactly the same cycle as before.
; The cycle counts are in the comments. Compared in nestopia with the ROM
; before the mark, over 600 frames of input, picture (outside the mark box)
; and sound were the same to the sample; one nop less, and they were not.
; ---------------------------------------------------------------------------
.segment "MARK"

; Reset, at the start of the vblank that turns the picture on (rendering is
; still off and the PPUADDR latch was reset by the vblank wait): draw the
; mark box, then show the mark (0: RAM is clear) before the first frame.
; 4 + 4 * 30 + 18 + 2 + 3 + 30 = 177 cycles, 59 * 3.
start_mark:
    bit PPUSTATUS           ; 4
.repeat MARK_SIZE, r
    lda #>($2000 + (MARK_ROW + r) * 32 + MARK_COL)      ; 2
    sta PPUADDR                                         ; 4
    lda #<($2000 + (MARK_ROW + r) * 32 + MARK_COL)      ; 2
    sta PPUADDR                                         ; 4
    lda #1                                              ; 2
  .repeat MARK_SIZE
    sta PPUDATA                                         ; 4 each
  .endrepeat
.endrepeat
    lda #>MARK_ATTR         ; 2
    sta PPUADDR             ; 4
    lda #<MARK_ATTR         ; 2
    sta PPUADDR             ; 4
    lda #%11111111          ; 2: palette 3 in all four quadrants
    sta PPUDATA             ; 4
    nop                     ; 2: padding to a multiple of 3
    jmp start_lag           ; 3: draws the lag boxes, then show_mark

; NMI, after the fill, the P2 boxes and the tone: flip the mark if P1
; Select is held now and was not in the previous NMI, then show it.
; Branchless, so always 26 + 4 + 30 = 60 cycles, 20 * 3.
update_mark:
    lda p1_prev             ; 3
    eor #$FF                ; 2
    and p1                  ; 3: buttons newly pressed
    and #BUTTON_SELECT      ; 2
    lsr a                   ; 2
    lsr a                   ; 2: 1 on a new press of Select, else 0
    eor mark                ; 3
    sta mark                ; 3
    lda p1                  ; 3
    sta p1_prev             ; 3
    nop                     ; 2: padding to a multiple of 3
    nop                     ; 2
    ; fall through

; The mark's colour into palette 3; then restore_scroll. 30 cycles.
show_mark:
    bit PPUSTATUS           ; 4
    lda #>MARK_ENTRY        ; 2
    sta PPUADDR             ; 4
    lda #<MARK_ENTRY        ; 2
    sta PPUADDR             ; 4
    ldx mark                ; 3
    lda mark_colors,x       ; 4: the table never crosses a page (asserted)
    sta PPUDATA             ; 4
    jmp update_lag          ; 3: then restore_scroll

mark_colors:
    .byte MARK_OFF, MARK_ON
.assert >mark_colors = >(mark_colors + 1), lderror, "mark_colors crosses a page: lda mark_colors,x would take a cycle more"
.assert BUTTON_SELECT = %00000100, error, "update_mark shifts the Select bit down by 2"

.segment "VECTORS"
    .word nmi, reset, irq

; ---------------------------------------------------------------------------
; CHR-ROM: tile 0 blank, tiles 1-3 solid in colour 1, 2, 3. Each tile is two
; 8-byte bit planes; colour = plane0 bit + 2 * plane1 bit.
; ---------------------------------------------------------------------------
.segment "CHARS"
    .res 16, $00                        ; tile 0
    .res 8, $FF                         ; tile 1: plane 0
    .res 8, $00                         ;         plane 1
    .res 8, $00                         ; tile 2
    .res 8, $FF
    .res 8, $FF                         ; tile 3
    .res 8, $FF

; ---------------------------------------------------------------------------
; The lag boxes. Their own segment, linked after MARK, so that nothing older
; moved; added like the mark, in multiples of 3 cycles and without
; branches, so every older write keeps its cycle.
;
; Two 32x32 boxes, each one attribute group of palette 3 (the mark's), to
; the right of the mark box in the same group row: the lag box of tile 2
; (colour 2, $3F0E) and the echo box of tile 3 (colour 3, $3F0F). Their
; colour is LAG_ON while A was held LAG_FRAMES (echo: ECHO_FRAMES) frames
; before the current one, LAG_OFF otherwise: a game whose response to a
; button lags by a known number of frames, which run-ahead must hide
; exactly and `telecart lag` must measure.
; ---------------------------------------------------------------------------
LAG_COL     = 20            ; x = 160 px; the echo box follows at x = 192
LAG_ROW     = MARK_ROW      ; y = 32 px (24 in nestopia's cropped picture)
LAG_ATTR    = $23C0 + (LAG_ROW / 4) * 8 + LAG_COL / 4
LAG_ENTRY   = $3F0E         ; palette 3, colour 2; the echo box's follows
LAG_FRAMES  = 2
ECHO_FRAMES = 4
; Dark green and cyan, as nestopia renders them far from each other and
; from every colour above.
LAG_OFF = $0B
LAG_ON  = $2C

.assert LAG_COL .mod 4 = 0 && LAG_ROW .mod 4 = 0, error, "each lag box must be one attribute group"
.assert LAG_COL >= MARK_COL + 2 * MARK_SIZE, error, "the lag boxes must stay clear of the mark box"

.segment "LAG"

; Reset, after start_mark drew the mark box: draw both boxes (one row of
; each per nametable row) and give their groups palette 3.
; 4 + 4 * 48 + 22 + 4 + 3 = 225 cycles, 75 * 3.
start_lag:
    bit PPUSTATUS                                       ; 4
.repeat 4, r
    lda #>($2000 + (LAG_ROW + r) * 32 + LAG_COL)        ; 2
    sta PPUADDR                                         ; 4
    lda #<($2000 + (LAG_ROW + r) * 32 + LAG_COL)        ; 2
    sta PPUADDR                                         ; 4
    lda #2                                              ; 2: the lag box
  .repeat 4
    sta PPUDATA                                         ; 4 each
  .endrepeat
    lda #3                                              ; 2: the echo box
  .repeat 4
    sta PPUDATA                                         ; 4 each
  .endrepeat
.endrepeat
    lda #>LAG_ATTR          ; 2
    sta PPUADDR             ; 4
    lda #<LAG_ATTR          ; 2
    sta PPUADDR             ; 4
    lda #%11111111          ; 2: palette 3 in all four quadrants
    sta PPUDATA             ; 4: the lag box's group
    sta PPUDATA             ; 4: the echo box's, next to it
    nop                     ; 2: padding to a multiple of 3
    nop                     ; 2
    jmp show_mark           ; 3

; After show_mark, at reset and in every NMI: push this frame's A into the
; history, then show A of LAG_FRAMES and ECHO_FRAMES frames ago. At reset
; p1 and the history are 0, so the boxes start off.
; 64 + 2 + 3 = 69 cycles, 23 * 3.
update_lag:
    lda p1                  ; 3
    lsr a                   ; 2: carry = A held now
    rol ahist               ; 5
    lda #>LAG_ENTRY         ; 2
    sta PPUADDR             ; 4
    lda #<LAG_ENTRY         ; 2
    sta PPUADDR             ; 4
    lda ahist               ; 3
.repeat LAG_FRAMES
    lsr a                   ; 2 each
.endrepeat
    and #1                  ; 2
    tax                     ; 2
    lda lag_colors,x        ; 4: the table never crosses a page (asserted)
    sta PPUDATA             ; 4: $3F0E, the lag box
    lda ahist               ; 3
.repeat ECHO_FRAMES
    lsr a                   ; 2 each
.endrepeat
    and #1                  ; 2
    tax                     ; 2
    lda lag_colors,x        ; 4
    sta PPUDATA             ; 4: $3F0F, the echo box
    nop                     ; 2: padding to a multiple of 3
    jmp restore_scroll      ; 3

lag_colors:
    .byte LAG_OFF, LAG_ON
.assert >lag_colors = >(lag_colors + 1), lderror, "lag_colors crosses a page: lda lag_colors,x would take a cycle more"
.assert LAG_FRAMES = 2 && ECHO_FRAMES = 4, error, "update_lag's cycle count assumes 2 and 4 frames"

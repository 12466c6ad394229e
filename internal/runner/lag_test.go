package runner

import (
	"context"
	"errors"
	"image"
	"testing"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/testrom"
)

// TestMeasureLag measures the test ROM's known lags: the fill answers A in
// the frame that reads it, the lag box LagFrames later, the echo box
// EchoFrames later; player 2's boxes never answer player 1, and the
// suggested run-ahead is capped at MaxRunAhead.
func TestMeasureLag(t *testing.T) {
	core, rom := fixturetest.Core(t, "nes"), fixturetest.TestROM(t)
	fill := testrom.FillPoint()
	for _, tc := range []struct {
		name     string
		region   image.Rectangle
		played   int // the run-ahead played with
		want     int
		runAhead int // the run-ahead suggested
		err      error
	}{
		{"fill", image.Rectangle{Min: fill, Max: fill.Add(image.Pt(8, 8))}, 0, 0, 0, nil},
		{"whole picture", image.Rectangle{}, 0, 0, 0, nil},
		{"lag box", testrom.LagBox(), 0, testrom.LagFrames, testrom.LagFrames, nil},
		{"echo box", testrom.EchoBox(), 0, testrom.EchoFrames, MaxRunAhead, nil},
		{"player 2's box", testrom.P2Box(testrom.A), 0, -1, 0, ErrNoAnswer},
		{"outside the picture", image.Rect(250, 0, 260, 10), 0, -1, 0, ErrInvalidConfig},
		// Played with run-ahead: the lag a player sees, N frames less.
		{"lag box, run-ahead 1", testrom.LagBox(), 1, testrom.LagFrames - 1, testrom.LagFrames - 1, nil},
		{"lag box, run-ahead 2", testrom.LagBox(), 2, 0, 0, nil},
		{"echo box, run-ahead 3", testrom.EchoBox(), 3, testrom.EchoFrames - 3, testrom.EchoFrames - 3, nil},
		{"fill, run-ahead 3", image.Rectangle{Min: fill, Max: fill.Add(image.Pt(8, 8))}, 3, 0, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := MeasureLag(context.Background(), LagOptions{Core: core, Game: rom, Button: libretro.ButtonA, Region: tc.region, Window: 10, RunAhead: tc.played})
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("%v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Frames != tc.want || res.RunAhead() != tc.runAhead {
				t.Errorf("lag %d frames (trials %v), run-ahead %d; want %d and %d", res.Frames, res.Trials, res.RunAhead(), tc.want, tc.runAhead)
			}
			for _, lag := range res.Trials {
				if lag != tc.want {
					t.Errorf("trials %v, want %d in each: the ROM's lag does not depend on the frame", res.Trials, tc.want)
				}
			}
		})
	}
}

func TestMeasureLagOptions(t *testing.T) {
	for _, o := range []LagOptions{
		{Game: "x.nes"},
		{Core: "x.so", Game: "x.nes", Button: 16},
		{Core: "x.so", Game: "x.nes", Window: -1},
		{Core: "x.so", Game: "x.nes", Trials: 1000},
		{Core: "x.so", Game: "x.nes", RunAhead: 4},
	} {
		if _, err := MeasureLag(context.Background(), o); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", o, err)
		}
	}
}

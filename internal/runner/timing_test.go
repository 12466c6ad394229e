package runner

import (
	"math"
	"testing"

	"github.com/telecart/telecart/internal/libretro"
)

// A core's timing that is no number, as a crafted state can make one
// report, ends the game with an error rather than a loop without pacing.
func TestSetTimingRefusesNonsense(t *testing.T) {
	for _, av := range []libretro.AVInfo{
		{FPS: math.NaN(), SampleRate: 48000},
		{FPS: math.Inf(1), SampleRate: 48000},
		{FPS: 0, SampleRate: 48000},
		{FPS: 60, SampleRate: math.NaN()},
		{FPS: 60, SampleRate: math.Inf(1)},
		{FPS: 60, SampleRate: -1},
	} {
		g := &game{}
		if err := g.setTiming(av); err == nil {
			t.Errorf("%v fps, %v Hz: taken", av.FPS, av.SampleRate)
		}
	}
}

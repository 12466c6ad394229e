package libretro

import (
	"math"
	"testing"
)

func TestDisplayAspect(t *testing.T) {
	for _, tt := range []struct {
		aspect        float64
		width, height int
		want          float64
	}{
		{4.0 / 3, 256, 224, 4.0 / 3},
		{0, 256, 224, 256.0 / 224},
		{-1, 240, 160, 1.5},
		{math.Inf(1), 256, 224, 256.0 / 224},
		{math.NaN(), 256, 224, 256.0 / 224},
		{math.NaN(), 256, 0, 0},
		{0, 0, 0, 0},
	} {
		if got := displayAspect(tt.aspect, tt.width, tt.height); got != tt.want {
			t.Errorf("displayAspect(%v, %d, %d) = %v, want %v", tt.aspect, tt.width, tt.height, got, tt.want)
		}
	}
}

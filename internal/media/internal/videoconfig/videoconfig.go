// Package videoconfig checks the settings both video encoders (vpx and
// h264) take, so that they accept and refuse the same: a worker may use
// either, and must not find one stricter than the other.
package videoconfig

import (
	"fmt"

	"github.com/telecart/telecart/internal/media/yuv"
)

// Limits of the settings.
const (
	MaxBitrateKbps = 100_000
	MaxFrameRate   = 1000
)

// Check refuses a picture size, frame rate or bitrate out of range. The
// error says which; the encoder wraps it in its ErrInvalidConfig.
func Check(width, height int, frameRate float64, bitrateKbps int) error {
	switch {
	case width <= 0 || height <= 0 || width > yuv.MaxDimension || height > yuv.MaxDimension:
		return fmt.Errorf("size %dx%d", width, height)
	case !(frameRate >= 1 && frameRate <= MaxFrameRate): // also rejects NaN
		return fmt.Errorf("frame rate %v", frameRate)
	}
	return CheckBitrate(bitrateKbps)
}

// CheckBitrate refuses a bitrate out of range.
func CheckBitrate(kbps int) error {
	if kbps <= 0 || kbps > MaxBitrateKbps {
		return fmt.Errorf("bitrate %d kbps", kbps)
	}
	return nil
}

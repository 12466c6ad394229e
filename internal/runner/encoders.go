package runner

import (
	"fmt"

	"github.com/telecart/telecart/internal/media/h264"
	"github.com/telecart/telecart/internal/media/vpx"
	"github.com/telecart/telecart/internal/media/yuv"
)

// videoEncoder is what the frame loop needs of a video codec.
type videoEncoder interface {
	encode(img *yuv.I420, keyframe bool) (data []byte, isKeyframe bool, err error)
	SetBitrate(kbps int) error
	Close() error
}

type vp8Encoder struct{ *vpx.Encoder }

func (e vp8Encoder) encode(img *yuv.I420, keyframe bool) ([]byte, bool, error) {
	p, err := e.Encode(img, keyframe)
	return p.Data, p.Keyframe, err
}

type h264Encoder struct{ *h264.Encoder }

func (e h264Encoder) encode(img *yuv.I420, keyframe bool) ([]byte, bool, error) {
	p, err := e.Encode(img, keyframe)
	return p.Data, p.Keyframe, err
}

var (
	_ videoEncoder = vp8Encoder{}
	_ videoEncoder = h264Encoder{}
)

func newVideoEncoder(codec Codec, width, height int, fps float64, kbps int) (videoEncoder, error) {
	switch codec {
	case CodecVP8:
		e, err := vpx.NewEncoder(vpx.EncoderConfig{Width: width, Height: height, FrameRate: fps, BitrateKbps: kbps})
		if err != nil {
			return nil, err
		}
		return vp8Encoder{e}, nil
	case CodecH264:
		e, err := h264.NewEncoder(h264.EncoderConfig{Width: width, Height: height, FrameRate: fps, BitrateKbps: kbps})
		if err != nil {
			return nil, err
		}
		return h264Encoder{e}, nil
	}
	return nil, fmt.Errorf("%w: codec %q", ErrInvalidConfig, codec)
}

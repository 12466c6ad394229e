package peer

import (
	"errors"
	"math"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/flexfec"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Forward error correction, per frame: after a frame's last packet go
// FlexFEC-03 packets that let the browser rebuild any of its packets
// lost, without waiting a round trip for a retransmission. A game's frame
// is often one packet, which a NACK repairs only once the next frame has
// shown the gap: a stall of two frames or more, where FEC costs none.
// How much FEC follows the loss the browser reports in its receiver
// reports: none on a clean link.

// fecPayloadType is FlexFEC-03's payload type, beside the video codecs'.
const fecPayloadType = 98

// fecCodec is FlexFEC-03 as negotiated with browsers.
func fecCodec() webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeFlexFEC03, ClockRate: 90000, SDPFmtpLine: "repair-window=10000000"},
		PayloadType:        fecPayloadType,
	}
}

const (
	// fecMinLoss is the loss below which no FEC is sent: NACK repairs a
	// rare loss for less.
	fecMinLoss = 0.01
	// fecMargin is how many FEC packets per packet lost on average: loss
	// comes in clumps, and a frame's FEC must cover its unlucky ones.
	fecMargin = 2.0
	// fecMaxGroup is the most packets one set of FEC packets covers
	// (FlexFEC-03's masks reach 110): a keyframe is protected in groups.
	fecMaxGroup = 48
	// lossSmoothing is the weight of a new report in the loss estimate.
	lossSmoothing = 0.5
)

// fecPackets is how many FEC packets protect a group of n media packets
// when the receiver loses a share loss of them: 0 on a clean link, at
// least one once there is loss, never more than the group.
func fecPackets(n int, loss float64) int {
	if n <= 0 || !(loss >= fecMinLoss) {
		return 0
	}
	k := int(math.Ceil(float64(n) * min(loss, 1) * fecMargin))
	return min(max(k, 1), n)
}

type fecFactory struct{}

func (fecFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &fec{streams: make(map[uint32]*fecStream)}, nil
}

// fec is one connection's FEC: a stream for each video track that
// negotiated FlexFEC.
type fec struct {
	interceptor.NoOp
	mu      sync.Mutex
	streams map[uint32]*fecStream // by media SSRC
}

// fecStream is one video stream's FEC state.
type fecStream struct {
	mu    sync.Mutex
	enc   flexfec.FlexEncoder
	group []rtp.Packet // the frame so far
	loss  float64      // the receiver's smoothed share of packets lost
	sent  int          // FEC packets sent, for tests
}

// BindRTCPReader follows the loss the receiver reports for each stream.
func (f *fec) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := reader.Read(b, a)
		if err != nil {
			return n, attr, err
		}
		if attr == nil {
			attr = make(interceptor.Attributes)
		}
		pkts, err := attr.GetRTCPPackets(b[:n])
		if err != nil {
			return n, attr, nil // not ours to refuse
		}
		for _, p := range pkts {
			if rr, ok := p.(*rtcp.ReceiverReport); ok {
				f.reported(rr.Reports)
			}
		}
		return n, attr, nil
	})
}

func (f *fec) reported(reports []rtcp.ReceptionReport) {
	for _, r := range reports {
		f.mu.Lock()
		s := f.streams[r.SSRC]
		f.mu.Unlock()
		if s == nil {
			continue
		}
		s.mu.Lock()
		s.loss += lossSmoothing * (float64(r.FractionLost)/256 - s.loss)
		s.mu.Unlock()
	}
}

// BindLocalStream sends FEC packets after each frame of a video stream
// that negotiated FlexFEC.
func (f *fec) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	if info.PayloadTypeForwardErrorCorrection == 0 || info.SSRCForwardErrorCorrection == 0 {
		return writer
	}
	s := &fecStream{enc: flexfec.NewFlexEncoder03(info.PayloadTypeForwardErrorCorrection, info.SSRCForwardErrorCorrection)}
	f.mu.Lock()
	f.streams[info.SSRC] = s
	f.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, attrs interceptor.Attributes) (int, error) {
		n, err := writer.Write(h, payload, attrs)
		if h.SSRC != info.SSRC {
			return n, err // a retransmission
		}
		for _, p := range s.add(h, payload) {
			if _, ferr := writer.Write(&p.Header, p.Payload, attrs); ferr != nil {
				err = errors.Join(err, ferr)
			}
		}
		return n, err
	})
}

// UnbindLocalStream forgets a stream.
func (f *fec) UnbindLocalStream(info *interceptor.StreamInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.streams, info.SSRC)
}

// add takes a media packet sent, and returns the FEC packets to send
// after it: at the frame's end (the marker bit), or when the group is
// full.
func (s *fecStream) add(h *rtp.Header, payload []byte) []rtp.Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loss < fecMinLoss {
		s.group = s.group[:0]
		return nil // nothing to protect against: keep no copies
	}
	// The caller may reuse its buffers once Write returns.
	s.group = append(s.group, rtp.Packet{Header: h.Clone(), Payload: append([]byte(nil), payload...)})
	if !h.Marker && len(s.group) < fecMaxGroup {
		return nil
	}
	group := s.group
	s.group = nil
	out := s.enc.EncodeFec(group, uint32(fecPackets(len(group), s.loss)))
	s.sent += len(out)
	return out
}

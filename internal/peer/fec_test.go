package peer

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

func TestFECPackets(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    int
		loss float64
		want int
	}{
		{"clean link: none", 5, 0, 0},
		{"loss under the threshold: none", 5, 0.005, 0},
		{"one-packet frame at 10 %: one", 1, 0.10, 1},
		{"ten packets at 10 %: two", 10, 0.10, 2},
		{"ten packets at 20 %: four", 10, 0.20, 4},
		{"never more than the frame", 3, 0.9, 3},
		{"a report past 100 %", 4, 7, 4},
		{"no packets", 0, 0.5, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := fecPackets(tt.n, tt.loss); got != tt.want {
				t.Errorf("fecPackets(%d, %v) = %d, want %d", tt.n, tt.loss, got, tt.want)
			}
		})
	}
}

// TestFECFollowsReports: on a clean link a frame goes out alone; once the
// browser reports loss, FEC packets of the negotiated type and SSRC
// follow each frame's last packet; the loss gone, they stop.
func TestFECFollowsReports(t *testing.T) {
	const media, repair = 1111, 2222
	f := &fec{streams: make(map[uint32]*fecStream)}
	var out []rtp.Header
	w := f.BindLocalStream(&interceptor.StreamInfo{SSRC: media, SSRCForwardErrorCorrection: repair, PayloadTypeForwardErrorCorrection: fecPayloadType},
		interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
			out = append(out, *h)
			return 0, nil
		}))
	seq := uint16(100)
	frame := func(packets int) (fec int) {
		out = out[:0]
		for i := range packets {
			seq++
			h := &rtp.Header{Version: 2, SSRC: media, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq), Marker: i == packets-1}
			if _, err := w.Write(h, []byte{1, 2, 3, byte(i)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		for _, h := range out {
			if h.SSRC == repair {
				if h.PayloadType != fecPayloadType {
					t.Fatalf("FEC packet of payload type %d, want %d", h.PayloadType, fecPayloadType)
				}
				fec++
			}
		}
		if media := len(out) - fec; media != packets {
			t.Fatalf("%d media packets went out, want %d", media, packets)
		}
		return fec
	}
	report := func(fractionLost uint8) {
		for range 10 { // smoothed: a few reports settle it
			f.reported([]rtcp.ReceptionReport{{SSRC: media, FractionLost: fractionLost}})
		}
	}

	if n := frame(3); n != 0 {
		t.Errorf("clean link: %d FEC packets after a frame, want 0", n)
	}
	report(25) // just under 10 %
	if n := frame(1); n != 1 {
		t.Errorf("10 %% loss: %d FEC packets after a one-packet frame, want 1", n)
	}
	if n := frame(10); n != 2 {
		t.Errorf("10 %% loss: %d FEC packets after a ten-packet frame, want 2", n)
	}
	report(0)
	if n := frame(3); n != 0 {
		t.Errorf("loss gone: %d FEC packets after a frame, want 0", n)
	}
}

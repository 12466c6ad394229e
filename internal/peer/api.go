// Package peer is one browser's WebRTC connection to a room: the Pion API
// every connection of a worker shares (codecs, NACK with RTX, FlexFEC
// per frame, RTCP reports, the playout delay, the send times the browser's bandwidth
// estimate needs, ICE settings), the room's tracks sent to the browser, its
// pad on the "input" data channel, and its save files on "saves".
package peer

import (
	"fmt"
	"net"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/runner"
)

// PlayoutDelayURI is the RTP header extension that tells the browser how
// long to buffer video. Sent with min = max = 0 it switches Chromium to its
// low-latency renderer: median input-to-picture fell from 56-109 ms to
// 15-25 ms when measured.
const PlayoutDelayURI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

// AbsSendTimeURI is the RTP header extension that carries when a packet
// left, for the browser's bandwidth estimate.
const AbsSendTimeURI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

// ICEConfig is how peers reach the worker.
type ICEConfig struct {
	// PublicIPs are the worker's public addresses behind a 1:1 NAT,
	// announced instead of its own.
	PublicIPs []string
	// UDPPort, when not 0, carries every peer over this one UDP port
	// (ICE UDP mux) instead of a port per peer.
	UDPPort int
	// Loopback offers 127.0.0.1 candidates: for a browser on the same
	// machine, and tests in a network namespace with only lo.
	Loopback bool
}

// relayAcceptanceWait is how long the worker, which controls ICE, waits
// before it nominates a relayed pair: a direct pair usually succeeds
// within that, and a relayed one is only worth its detour if no direct one
// did. Pion's default is 2 s.
const relayAcceptanceWait = 200 * time.Millisecond

// NewAPI builds the WebRTC API every peer connection of a worker uses.
// closeICEPort closes the one UDP port of ICEConfig.UDPPort (a no-op
// without it): the port belongs to the API's owner, who closes it once
// the last peer connection made with the API is closed.
func NewAPI(codec runner.Codec, ice ICEConfig) (api *webrtc.API, closeICEPort func() error, err error) {
	noPort := func() error { return nil }
	m := &webrtc.MediaEngine{}
	video, err := VideoCodec(codec)
	if err != nil {
		return nil, nil, err
	}
	if err := m.RegisterCodec(video, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, nil, fmt.Errorf("peer: register video codec: %w", err)
	}
	if err := m.RegisterCodec(AudioCodec(), webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, fmt.Errorf("peer: register audio codec: %w", err)
	}
	// A lost packet comes again on its own SSRC (RTX), so that the
	// browser tells repairs from the stream and its jitter buffer and
	// loss statistics stay true.
	if err := m.RegisterCodec(rtxCodec(video), webrtc.RTPCodecTypeVideo); err != nil {
		return nil, nil, fmt.Errorf("peer: register rtx: %w", err)
	}
	for _, uri := range []string{PlayoutDelayURI, AbsSendTimeURI} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, nil, fmt.Errorf("peer: register %s: %w", uri, err)
		}
	}

	if err := m.RegisterCodec(fecCodec(), webrtc.RTPCodecTypeVideo); err != nil {
		return nil, nil, fmt.Errorf("peer: register flexfec: %w", err)
	}

	// The first interceptor added is the last to see a packet on its way
	// out. FEC must protect the packet as it goes on the wire, header
	// extensions and all; abs-send-time is stamped just before, so that
	// retransmissions carry their own send time too: the browser's
	// delay-based estimate (REMB) reads it.
	ir := &interceptor.Registry{}
	ir.Add(fecFactory{})
	ir.Add(absSendTimeFactory{})
	// The responder keeps the last packets of each video and audio stream
	// to answer NACKs: 1024 packets are 6 s of video at the default
	// 1.5 Mbit/s and still a second at 9.8 Mbit/s, far past the few round
	// trips a repair may take, for about 1.2 MB a peer.
	if err := webrtc.ConfigureNackWithOptions(m, ir, nil, nack.ResponderSize(nackBuffer)); err != nil {
		return nil, nil, fmt.Errorf("peer: nack: %w", err)
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, nil, fmt.Errorf("peer: rtcp reports: %w", err)
	}
	ir.Add(playoutDelayFactory{})

	s := webrtc.SettingEngine{}
	// The worker offers, so its agent is the controlling one, and Pion's
	// controlling agent waits before it nominates a pair whose candidates
	// are not host ones: 500 ms for server-reflexive, 1 s for
	// peer-reflexive, 2 s for relayed. Chromium hides its host candidates
	// behind mDNS names, so it reaches us through a peer-reflexive pair;
	// behind a NAT, or with one UDP port for every peer (the ICE mux), its
	// pairs are reflexive too: connecting took 450-700 ms there against
	// 11-14 ms with a port per peer. A direct pair is nominated as soon as
	// it works; a relayed one after relayAcceptanceWait.
	s.SetHostAcceptanceMinWait(0)
	s.SetSrflxAcceptanceMinWait(0)
	s.SetPrflxAcceptanceMinWait(0)
	s.SetRelayAcceptanceMinWait(relayAcceptanceWait)
	s.SetIncludeLoopbackCandidate(ice.Loopback)
	// A closed tab or a lost network frees its place in the room within
	// seconds, not the 25 s Pion waits by default.
	s.SetICETimeouts(iceDisconnected, iceFailed, iceKeepalive)
	network := "udp"
	if len(ice.PublicIPs) > 0 {
		// Announce the public addresses and nothing else: a private
		// address of another family (an fd00:: IPv6 beside a public IPv4)
		// would only leak the network's layout and cost checks that fail.
		types, family := publicNetworks(ice.PublicIPs)
		s.SetNetworkTypes(types)
		network = family
		if err := s.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        ice.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return nil, nil, fmt.Errorf("peer: public IPs: %w", err)
		}
	}
	closeICEPort = noPort
	if ice.UDPPort != 0 {
		conn, err := net.ListenUDP(network, &net.UDPAddr{Port: ice.UDPPort})
		if err != nil {
			return nil, nil, fmt.Errorf("peer: ICE UDP port %d: %w", ice.UDPPort, err)
		}
		mux := webrtc.NewICEUDPMux(nil, conn)
		s.SetICEUDPMux(mux)
		// Closing the mux (once or more) closes its port and ends its
		// reading goroutine.
		closeICEPort = mux.Close
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(s)), closeICEPort, nil
}

// publicNetworks are the ICE network types, and the UDP network to listen
// on, of the families the public IPs belong to.
func publicNetworks(ips []string) (types []webrtc.NetworkType, network string) {
	var v4, v6 bool
	for _, ip := range ips {
		if parsed := net.ParseIP(ip); parsed != nil {
			v4 = v4 || parsed.To4() != nil
			v6 = v6 || parsed.To4() == nil
		}
	}
	switch {
	case v4 && v6:
		return []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}, "udp"
	case v6:
		return []webrtc.NetworkType{webrtc.NetworkTypeUDP6}, "udp6"
	}
	return []webrtc.NetworkType{webrtc.NetworkTypeUDP4}, "udp4"
}

// playoutDelayFactory adds the playout-delay extension, min = max = 0, to
// every video packet of a connection that negotiated it.
type playoutDelayFactory struct{}

func (playoutDelayFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &playoutDelay{}, nil
}

type playoutDelay struct{ interceptor.NoOp }

func (*playoutDelay) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	id := extensionID(info, PlayoutDelayURI)
	if id == 0 {
		return writer
	}
	payload, err := rtp.PlayoutDelayExtension{}.Marshal()
	if err != nil {
		return writer
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, body []byte, attrs interceptor.Attributes) (int, error) {
		if err := h.SetExtension(id, payload); err != nil {
			return 0, err
		}
		return writer.Write(h, body, attrs)
	})
}

// extensionID is the id the connection negotiated for the header
// extension uri on a stream, 0 if none.
func extensionID(info *interceptor.StreamInfo, uri string) uint8 {
	for _, ext := range info.RTPHeaderExtensions {
		if ext.URI == uri {
			return uint8(ext.ID)
		}
	}
	return 0
}

// nackBuffer is how many sent packets a stream keeps for retransmission.
const nackBuffer = 1024

// absSendTimeFactory stamps every video packet of a connection that
// negotiated abs-send-time with the time it leaves: with goog-remb,
// Chromium then estimates the path's bandwidth from how the packets'
// spacing grows on the way, and reports it in REMB.
type absSendTimeFactory struct{}

func (absSendTimeFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &absSendTime{}, nil
}

type absSendTime struct{ interceptor.NoOp }

func (*absSendTime) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	id := extensionID(info, AbsSendTimeURI)
	if id == 0 {
		return writer
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, body []byte, attrs interceptor.Attributes) (int, error) {
		payload, err := rtp.NewAbsSendTimeExtension(time.Now()).Marshal()
		if err != nil {
			return 0, err
		}
		if err := h.SetExtension(id, payload); err != nil {
			return 0, err
		}
		return writer.Write(h, body, attrs)
	})
}

// How long a peer may go without ICE traffic before its connection counts
// as disconnected, then failed; and how often we send keepalives.
const (
	iceDisconnected = 3 * time.Second
	iceFailed       = 6 * time.Second
	iceKeepalive    = time.Second
)

// VideoCodec is the RTP codec of a runner codec, as negotiated with browsers.
func VideoCodec(c runner.Codec) (webrtc.RTPCodecParameters, error) {
	// goog-remb asks the browser for its estimate of the path's bandwidth,
	// which the room's bitrate follows.
	feedback := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}, {Type: "goog-remb"}}
	switch c {
	case runner.CodecVP8:
		return webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: feedback},
			PayloadType:        96,
		}, nil
	case runner.CodecH264:
		return webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType:     webrtc.MimeTypeH264,
				ClockRate:    90000,
				SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
				RTCPFeedback: feedback,
			},
			PayloadType: 102,
		}, nil
	}
	return webrtc.RTPCodecParameters{}, fmt.Errorf("peer: no RTP codec for %q", c)
}

// rtxCodec is the retransmission format of a video codec: its payload
// type the next one up.
func rtxCodec(video webrtc.RTPCodecParameters) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", video.PayloadType)},
		PayloadType:        video.PayloadType + 1,
	}
}

// AudioCodec is Opus as negotiated with browsers.
func AudioCodec() webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1"},
		PayloadType:        111,
	}
}

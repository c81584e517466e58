package main

// The client's media: audio, video and bundle-av-data (renegotiation adds audio the same
// way). Each media kind is a leg: a sendrecv transceiver sending a file made at build
// time (media.go), and a count of the echoed RTP packets with the negotiated payload
// type. Pion does not decode: frames=-.

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

const (
	minEchoPackets = 50
	recentEchoes   = 5 * time.Second // MEDIA_DURATION: echoes must still arrive this late
)

var opus = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
	PayloadType: 111,
}

var vp8 = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"},
			{Type: "nack"}, {Type: "nack", Parameter: "pli"}}},
	PayloadType: 96,
}

// Offer exactly the codecs under test, so the negotiation cannot drift elsewhere.
func registerOpus(m *webrtc.MediaEngine) error {
	return m.RegisterCodec(opus, webrtc.RTPCodecTypeAudio)
}
func registerVP8(m *webrtc.MediaEngine) error { return m.RegisterCodec(vp8, webrtc.RTPCodecTypeVideo) }
func registerOpusAndVP8(m *webrtc.MediaEngine) error {
	if err := registerOpus(m); err != nil {
		return err
	}
	return registerVP8(m)
}

// mediaSpec is what one kind of media offers and sends.
type mediaSpec struct {
	kind  webrtc.RTPCodecType
	codec webrtc.RTPCodecParameters
	send  func(ctx context.Context, track *webrtc.TrackLocalStaticSample) error
}

var (
	audioSpec = mediaSpec{kind: webrtc.RTPCodecTypeAudio, codec: opus, send: sendOgg}
	videoSpec = mediaSpec{kind: webrtc.RTPCodecTypeVideo, codec: vp8, send: sendIVF}
)

// mediaLeg is one sendrecv transceiver and what came back on it.
type mediaLeg struct {
	spec         mediaSpec
	label        string // "kind=audio " where a test has several kinds, else ""
	track        *webrtc.TrackLocalStaticSample
	transceiver  *webrtc.RTPTransceiver
	negotiatedPT atomic.Int32 // -1 until the answer is applied
	matching     atomic.Int64
	others       atomic.Int64
	lastEcho     atomic.Int64 // UnixNano of the last matching echo
}

// addMediaLeg adds a sendrecv transceiver with a sample track of the spec's codec.
func (c *client) addMediaLeg(spec mediaSpec, labelled bool) (*mediaLeg, error) {
	track, err := webrtc.NewTrackLocalStaticSample(spec.codec.RTPCodecCapability, spec.kind.String(), "pion-interop-"+spec.kind.String())
	if err != nil {
		return nil, fmt.Errorf("NewTrackLocalStaticSample: %w", err)
	}
	transceiver, err := c.pc.AddTransceiverFromTrack(track,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		return nil, fmt.Errorf("AddTransceiverFromTrack: %w", err)
	}
	go func() { // Pion's interceptors (NACK responder, reports) need someone to read RTCP
		buf := make([]byte, 1500)
		for {
			if _, _, err := transceiver.Sender().Read(buf); err != nil {
				return
			}
		}
	}()
	leg := &mediaLeg{spec: spec, track: track, transceiver: transceiver}
	if labelled {
		leg.label = "kind=" + spec.kind.String() + " "
	}
	leg.negotiatedPT.Store(-1)
	return leg, nil
}

// routeTracks counts every echoed track's packets on the leg of its kind.
func (c *client) routeTracks(legs ...*mediaLeg) {
	c.pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		codec := remote.Codec()
		c.out.logf("echoed %s track arrived (ssrc %d, %s, pt %d)", remote.Kind(), remote.SSRC(), codec.MimeType, codec.PayloadType)
		var leg *mediaLeg
		for _, candidate := range legs {
			if candidate.spec.kind == remote.Kind() && strings.EqualFold(codec.MimeType, candidate.spec.codec.MimeType) {
				leg = candidate
			}
		}
		for {
			packet, _, err := remote.ReadRTP()
			if err != nil {
				return
			}
			if leg != nil && int32(packet.PayloadType) == leg.negotiatedPT.Load() {
				leg.lastEcho.Store(time.Now().UnixNano())
				if n := leg.matching.Add(1); n == 1 || n == minEchoPackets {
					c.out.logf("%d echoed %s RTP packet(s) with payload type %d", n, remote.Kind(), packet.PayloadType)
				}
			} else if leg == nil || leg.others.Add(1) == 1 {
				c.out.logf("ignoring echoed %s packet with payload type %d (%s)", remote.Kind(), packet.PayloadType, codec.MimeType)
			}
		}
	})
}

// bind reads the codec the answer negotiated for the leg, prints NEGOTIATED: and
// refuses an answer that will not echo.
func (c *client) bind(leg *mediaLeg) error {
	var negotiated *webrtc.RTPCodecParameters
	for _, codec := range leg.transceiver.Sender().GetParameters().Codecs {
		if strings.EqualFold(codec.MimeType, leg.spec.codec.MimeType) {
			codec := codec
			negotiated = &codec
			break
		}
	}
	if negotiated == nil {
		return fmt.Errorf("the answer accepted no %s for the %s transceiver", leg.spec.codec.MimeType, leg.spec.kind)
	}
	leg.negotiatedPT.Store(int32(negotiated.PayloadType))
	c.out.line("NEGOTIATED: " + leg.label + describeCodec(*negotiated))
	if direction := mediaDirections(c.pc.RemoteDescription())[leg.transceiver.Mid()]; direction != "sendrecv" {
		c.received(leg)
		return fmt.Errorf("server answered %s for the %s m-line: it will not echo", direction, leg.spec.kind)
	}
	return nil
}

func (c *client) received(legs ...*mediaLeg) {
	for _, leg := range legs {
		c.out.line(fmt.Sprintf("RECEIVED: %spackets=%d frames=-", leg.label, leg.matching.Load()))
	}
}

// startSending sends every leg's file in real time until the test's context ends.
func (c *client) startSending(legs ...*mediaLeg) (time.Time, <-chan error) {
	errs := make(chan error, len(legs))
	for _, leg := range legs {
		go func(leg *mediaLeg) {
			if err := leg.spec.send(c.ctx, leg.track); err != nil {
				errs <- fmt.Errorf("sending %s stopped: %w", leg.spec.kind, err)
			}
		}(leg)
	}
	return time.Now(), errs
}

// enoughMedia: every leg has 50 echoed packets and, with MEDIA_DURATION, media was sent
// that long and echoes still arrived within the last 5 s.
func (c *client) enoughMedia(started time.Time, legs []*mediaLeg) bool {
	if time.Since(started) < c.env.mediaDuration {
		return false
	}
	for _, leg := range legs {
		if leg.matching.Load() < minEchoPackets {
			return false
		}
		if c.env.mediaDuration > 0 && time.Since(time.Unix(0, leg.lastEcho.Load())) > recentEchoes {
			return false
		}
	}
	return true
}

// awaitMedia waits until enoughMedia holds, then prints RECEIVED: for every leg.
func (c *client) awaitMedia(started time.Time, sendErrs <-chan error, legs ...*mediaLeg) error {
	defer c.received(legs...)
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	for !c.enoughMedia(started, legs) {
		select {
		case <-ticker.C:
		case err := <-sendErrs:
			return err
		case <-c.state.failed:
			return c.state.failure
		case <-c.ctx.Done():
			counts := make([]string, 0, len(legs))
			for _, leg := range legs {
				counts = append(counts, fmt.Sprintf("%d of %d echoed %s packets (%d others)",
					leg.matching.Load(), minEchoPackets, leg.spec.codec.MimeType, leg.others.Load()))
			}
			what := strings.Join(counts, ", ")
			if c.env.mediaDuration > 0 {
				what += fmt.Sprintf(", MEDIA_DURATION %.0fs", c.env.mediaDuration.Seconds())
			}
			return c.timedOut("not enough echoed media: " + what)
		}
	}
	return nil
}

// mediaTest is audio and video: one leg, connect, send, count the echo.
func (c *client) mediaTest(spec mediaSpec) (string, error) {
	leg, err := c.addMediaLeg(spec, false)
	if err != nil {
		return "", err
	}
	c.routeTracks(leg)
	if err := c.connect(); err != nil {
		return "", err
	}
	if err := c.bind(leg); err != nil {
		return "", err
	}
	if err := c.waitConnected(); err != nil {
		c.received(leg)
		return "", err
	}
	started, sendErrs := c.startSending(leg)
	if err := c.awaitMedia(started, sendErrs, leg); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d RTP packets echoed back (%s) over %.1fs", leg.matching.Load(),
		describeCodec(mustCodec(leg)), time.Since(started).Seconds()), nil
}

func audioTest(c *client) (string, error) { return c.mediaTest(audioSpec) }
func videoTest(c *client) (string, error) { return c.mediaTest(videoSpec) }

// bundleTest: audio, video and channel interop in one BUNDLE; P and both media echo.
func bundleTest(c *client) (string, error) {
	w, err := c.createChannel("interop", nil)
	if err != nil {
		return "", err
	}
	legs := make([]*mediaLeg, 0, 2)
	for _, spec := range []mediaSpec{audioSpec, videoSpec} {
		leg, err := c.addMediaLeg(spec, true)
		if err != nil {
			return "", err
		}
		legs = append(legs, leg)
	}
	c.routeTracks(legs...)
	if err := c.connect(); err != nil {
		return "", err
	}
	if groups := bundleGroup(c.pc.RemoteDescription()); groups != 3 {
		return "", fmt.Errorf("the answer bundles %d media sections, not all 3", groups)
	}
	for _, leg := range legs {
		if err := c.bind(leg); err != nil {
			return "", err
		}
	}
	if err := c.waitConnected(); err != nil {
		c.received(legs...)
		return "", err
	}
	started, sendErrs := c.startSending(legs...)
	if err := c.waitOpen(w); err == nil {
		err = c.echoOnce(w, c.env.payload, true, "P")
	}
	if err != nil {
		c.received(legs...)
		return "", err
	}
	if err := c.awaitMedia(started, sendErrs, legs...); err != nil {
		return "", err
	}
	return fmt.Sprintf("one BUNDLE: P echoed on the channel, %d audio and %d video packets echoed",
		legs[0].matching.Load(), legs[1].matching.Load()), nil
}

// bundleGroup counts the mids of the description's a=group:BUNDLE line.
func bundleGroup(desc *webrtc.SessionDescription) int {
	if desc == nil {
		return 0
	}
	for _, line := range sdpLines(desc.SDP) {
		if strings.HasPrefix(line, "a=group:BUNDLE") {
			return len(strings.Fields(line)) - 1
		}
	}
	return 0
}

func mustCodec(leg *mediaLeg) webrtc.RTPCodecParameters {
	codec := leg.spec.codec
	codec.PayloadType = webrtc.PayloadType(leg.negotiatedPT.Load())
	return codec
}

// describeCodec formats a codec as in the contract: codec=opus/48000/2 payload_type=111.
func describeCodec(codec webrtc.RTPCodecParameters) string {
	name := codec.MimeType[strings.Index(codec.MimeType, "/")+1:]
	text := fmt.Sprintf("codec=%s/%d", name, codec.ClockRate)
	if codec.Channels > 0 {
		text += fmt.Sprintf("/%d", codec.Channels)
	}
	return fmt.Sprintf("%s payload_type=%d", text, codec.PayloadType)
}

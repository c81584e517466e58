package main

// What a server peer connection does: echo every data channel message on its channel
// (with flow control), the negotiated channel of datachannel-negotiated, the
// server-opened channel of datachannel-server-open, and every received RTP stream back
// on the sending track of the same transceiver.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

const (
	lowWaterMark  = 256 * 1024  // bufferedAmountLowThreshold of the bulk test
	highWaterMark = 1024 * 1024 // stop sending above this until bufferedamountlow
	negotiatedID  = 7
)

// echo is one m-line's way back: the local track that resends what the receiver gets.
type echo struct {
	local      *webrtc.TrackLocalStaticRTP
	remoteSSRC atomic.Uint32 // the client's stream, once OnTrack saw it (for keyframe requests)
}

// wire installs the session's handlers, once, before the first offer is applied.
func (sess *serverSession) wire() {
	out, test := sess.s.out, sess.s.env.test
	var serverOpen sync.Once
	sess.pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		out.logf("%s: connection state %s", sess.id, state)
		switch state {
		case webrtc.PeerConnectionStateConnected:
			if test == "datachannel-server-open" {
				serverOpen.Do(func() { go sess.openServerChannel() })
			}
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			go sess.release("connection " + state.String())
		}
	})
	sess.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		out.logf("%s: data channel %q opened by the client", sess.id, dc.Label())
		sess.echoChannel(dc)
	})
	sess.pc.OnTrack(func(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
		sess.echoMu.Lock()
		e := sess.echoes[receiver]
		sess.echoMu.Unlock()
		sess.echoTrack(remote, e)
	})
}

// prepareChannels creates the channels this test case needs before the answer:
// datachannel-negotiated's channel id 7 (no DCEP), once per peer connection.
func (sess *serverSession) prepareChannels() error {
	if sess.s.env.test != "datachannel-negotiated" || sess.hasNegotiated {
		return nil
	}
	negotiated, id := true, uint16(negotiatedID)
	dc, err := sess.pc.CreateDataChannel("interop-negotiated", &webrtc.DataChannelInit{Negotiated: &negotiated, ID: &id})
	if err != nil {
		return fmt.Errorf("CreateDataChannel(negotiated, id %d): %w", id, err)
	}
	sess.hasNegotiated = true
	sess.s.out.logf("%s: negotiated channel %q id %d ready", sess.id, dc.Label(), id)
	sess.echoChannel(dc)
	return nil
}

// echoChannel sends every message back on its channel with its type. It applies the
// bulk test's flow control: above 1 MiB buffered it waits for bufferedamountlow. The
// wait happens inside Pion's read loop, so reading pauses too and SCTP's receive
// window slows the sender down instead of our buffer growing.
func (sess *serverSession) echoChannel(dc *webrtc.DataChannel) {
	low := make(chan struct{}, 1)
	dc.SetBufferedAmountLowThreshold(lowWaterMark)
	dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	dc.OnError(func(err error) { sess.s.out.logf("%s: data channel %q error: %v", sess.id, dc.Label(), err) })
	dc.OnClose(func() { sess.s.out.logf("%s: data channel %q closed", sess.id, dc.Label()) })
	var count int
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		count++
		if count <= 3 || count%256 == 0 {
			sess.s.out.logf("%s: echoing message %d (%d-byte %s) on %q", sess.id, count, len(msg.Data), messageKind(msg), dc.Label())
		}
		var err error
		if msg.IsString {
			err = dc.SendText(string(msg.Data))
		} else {
			err = dc.Send(msg.Data)
		}
		if err != nil {
			sess.s.out.logf("%s: echo on %q failed: %v", sess.id, dc.Label(), err)
			return
		}
		for dc.BufferedAmount() > highWaterMark && dc.ReadyState() == webrtc.DataChannelStateOpen {
			select {
			case <-low:
			case <-time.After(time.Second):
			}
		}
	})
}

// openServerChannel is datachannel-server-open's server side: open interop-server,
// send P, and answer the first message (the client's echo) with CONFIRMED:/MISMATCH:
// and the echo's SHA-256. Later messages (the client may echo our verdict) are ignored.
// P is the session's own (section 1.1: a reused server serves each cell's payload).
func (sess *serverSession) openServerChannel() {
	out, payload := sess.s.out, sess.payload
	dc, err := sess.pc.CreateDataChannel("interop-server", nil)
	if err != nil {
		out.logf("%s: cannot open interop-server: %v", sess.id, err)
		return
	}
	dc.OnOpen(func() {
		out.logf("%s: interop-server open, sending P (%d bytes)", sess.id, len(payload))
		if err := dc.SendText(string(payload)); err != nil {
			out.logf("%s: sending P failed: %v", sess.id, err)
		}
	})
	var answered atomic.Bool
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		if answered.Swap(true) {
			out.logf("%s: ignoring further %d-byte message on interop-server", sess.id, len(msg.Data))
			return
		}
		sum := sha256.Sum256(msg.Data)
		verdict := "MISMATCH:"
		if msg.IsString && bytes.Equal(msg.Data, payload) {
			verdict = "CONFIRMED:"
		}
		out.logf("%s: echo of P came back as %d-byte %s: %s", sess.id, len(msg.Data), messageKind(msg), verdict)
		if err := dc.SendText(verdict + hex.EncodeToString(sum[:])); err != nil {
			out.logf("%s: sending the verdict failed: %v", sess.id, err)
		}
	})
}

// addEchoTracks gives every audio/video transceiver the client sends and receives on a
// local track, so that the answer says sendrecv. It must happen before the answer:
// Pion's OnTrack only fires once RTP flows, long after the answer was sent.
func (sess *serverSession) addEchoTracks(directions map[string]string) error {
	for _, transceiver := range sess.pc.GetTransceivers() {
		kind := transceiver.Kind()
		if kind != webrtc.RTPCodecTypeAudio && kind != webrtc.RTPCodecTypeVideo || transceiver.Sender() != nil {
			continue
		}
		mid := transceiver.Mid()
		if direction := directions[mid]; direction != "sendrecv" {
			sess.s.out.logf("%s: %s m-line mid=%s is %s: nothing to echo on it", sess.id, kind, mid, direction)
			continue
		}
		codec, ok := echoCodec(transceiver.Receiver().GetParameters().Codecs)
		if !ok {
			sess.s.out.logf("%s: %s m-line mid=%s has no codec in common: not echoing", sess.id, kind, mid)
			continue
		}
		local, err := webrtc.NewTrackLocalStaticRTP(codec.RTPCodecCapability, kind.String(), "pion-echo-"+mid)
		if err != nil {
			return fmt.Errorf("NewTrackLocalStaticRTP: %w", err)
		}
		// AddTrack reuses the first transceiver of that kind that has no sender yet (the
		// one Pion created for this m-line) and turns its direction into sendrecv.
		sender, err := sess.pc.AddTrack(local)
		if err != nil {
			return fmt.Errorf("AddTrack(%s): %w", kind, err)
		}
		e := &echo{local: local}
		for _, owner := range sess.pc.GetTransceivers() {
			if owner.Sender() == sender {
				sess.echoMu.Lock()
				sess.echoes[owner.Receiver()] = e
				sess.echoMu.Unlock()
				mid = owner.Mid()
			}
		}
		sess.s.out.logf("%s: will echo %s mid=%s as %s", sess.id, kind, mid, codec.MimeType)
		go sess.forwardKeyframeRequests(sender, e)
	}
	return nil
}

// echoCodec picks what the client will send: the first negotiated codec that is media
// rather than a repair/redundancy format.
func echoCodec(codecs []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	for _, codec := range codecs {
		switch strings.ToLower(codec.MimeType[strings.Index(codec.MimeType, "/")+1:]) {
		case "rtx", "red", "ulpfec", "flexfec-03", "cn", "telephone-event":
			continue
		}
		return codec, true
	}
	return webrtc.RTPCodecParameters{}, false
}

// echoTrack forwards every packet of the remote track to the local track;
// TrackLocalStaticRTP rewrites SSRC and payload type to our sending side's binding.
func (sess *serverSession) echoTrack(remote *webrtc.TrackRemote, e *echo) {
	out, codec := sess.s.out, remote.Codec()
	out.logf("%s: %s track received (ssrc %d, %s, pt %d)", sess.id, remote.Kind(), remote.SSRC(), codec.MimeType, codec.PayloadType)
	if e == nil || !strings.EqualFold(e.local.Codec().MimeType, codec.MimeType) {
		out.logf("%s: no sending track for this %s stream: receiving without echo", sess.id, codec.MimeType)
		for {
			if _, _, err := remote.ReadRTP(); err != nil {
				return
			}
		}
	}
	e.remoteSSRC.Store(uint32(remote.SSRC()))
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		sess.requestKeyframe(e) // start the echo on a keyframe where the encoder listens to PLI
	}
	echoed := 0
	for {
		packet, _, err := remote.ReadRTP()
		if err != nil {
			out.logf("%s: %s track ended after %d packets echoed (%v)", sess.id, remote.Kind(), echoed, err)
			return
		}
		if packet.Header.Padding {
			if len(packet.Payload) == 0 {
				continue // padding-only probe: nothing to echo
			}
			packet.Header.Padding = false
		}
		// The client's header extensions (TWCC sequence numbers, abs-send-time, mid)
		// describe its own stream, not ours: do not hand them back.
		packet.Header.Extension = false
		packet.Header.Extensions = nil
		if err := e.local.WriteRTP(packet); err != nil {
			if errors.Is(err, io.ErrClosedPipe) {
				return
			}
			out.logf("%s: echo write failed: %v", sess.id, err)
			continue
		}
		if echoed++; echoed == 1 || echoed%500 == 0 {
			out.logf("%s: %d %s packets echoed", sess.id, echoed, remote.Kind())
		}
	}
}

// forwardKeyframeRequests reads the RTCP the client sends about our echo (Pion's
// interceptors need someone to read it) and passes its keyframe requests (PLI, FIR) on
// to the client's own stream: only its encoder can make the keyframe a decoder waits for.
func (sess *serverSession) forwardKeyframeRequests(sender *webrtc.RTPSender, e *echo) {
	for {
		packets, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, packet := range packets {
			switch packet.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				sess.requestKeyframe(e)
			}
		}
	}
}

func (sess *serverSession) requestKeyframe(e *echo) {
	if ssrc := e.remoteSSRC.Load(); ssrc != 0 {
		_ = sess.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
}

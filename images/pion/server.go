package main

// Echo server of the peer contract. POST /offer takes an RTCSessionDescriptionInit and
// returns the answer once ICE gathering is complete (no trickle). Every data channel
// echoes each message back on itself; every received RTP stream is sent back on the
// sending track of the same transceiver.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
)

const maxPeerLifetime = 300 * time.Second

type server struct {
	out   *output
	api   *webrtc.API
	mu    sync.Mutex
	peers map[*webrtc.PeerConnection]string
	count int
}

// peer is what one offer's handlers share: which echo belongs to which receiver.
type peer struct {
	id     string
	mu     sync.Mutex
	echoes map[*webrtc.RTPReceiver]*echo
}

// echo is one m-line's way back: the local track that resends what the receiver gets.
type echo struct {
	local      *webrtc.TrackLocalStaticRTP
	remoteSSRC atomic.Uint32 // the client's stream, once OnTrack saw it (for keyframe requests)
}

func runServer() int {
	out := &output{name: "server"}
	// Pion's default codec set (Opus, G722, PCMU, PCMA, VP8, VP9, H264, ...): the server
	// answers whatever the client offers that Pion knows.
	api, err := newAPI(out, func(m *webrtc.MediaEngine) error { return m.RegisterDefaultCodecs() })
	if err != nil {
		out.logf("cannot set up Pion: %v", err)
		return exitFailed
	}
	s := &server{out: out, api: api, peers: map[*webrtc.PeerConnection]string{}}

	mux := http.NewServeMux()
	mux.HandleFunc("/offer", s.handleOffer)
	listener, err := net.Listen("tcp", listenAddr)
	if err != nil {
		out.logf("cannot listen on %s: %v", listenAddr, err)
		return exitFailed
	}
	httpServer := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-signals
		out.logf("%s: closing %d peer(s) and exiting", sig, s.closeAll())
		os.Exit(0)
	}()

	out.logf("pion-peer server (pion/webrtc %s, %s) listening on %s", pionVersion, runtime.Version(), listenAddr)
	if err := httpServer.Serve(listener); err != nil {
		out.logf("HTTP server stopped: %v", err)
	}
	return exitFailed
}

func (s *server) handleOffer(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "POST an offer here"})
		return
	}
	var init sessionDescriptionInit
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &init)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest,
			map[string]string{"error": fmt.Sprintf("not an RTCSessionDescriptionInit: %v", err)})
		return
	}
	if init.Type != "offer" || init.SDP == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{
			"error": fmt.Sprintf("expected type 'offer' with an sdp, got type %q and %d bytes of SDP",
				init.Type, len(init.SDP))})
		return
	}

	s.mu.Lock()
	s.count++
	p := &peer{id: fmt.Sprintf("peer%d", s.count), echoes: map[*webrtc.RTPReceiver]*echo{}}
	s.mu.Unlock()
	s.out.logf("%s: offer from %s (%d bytes of SDP)", p.id, r.RemoteAddr, len(init.SDP))

	pc, err := s.api.NewPeerConnection(noICEServers)
	if err != nil {
		s.out.logf("%s: cannot create a peer connection: %v", p.id, err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	answer, err := s.answer(p, pc, webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: init.SDP})
	if err != nil { // a bad offer must never take the server down
		s.out.logf("%s: rejected offer: %v", p.id, err)
		go pc.Close()
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("cannot answer this offer: %v", err)})
		return
	}
	s.mu.Lock()
	s.peers[pc] = p.id
	s.mu.Unlock()
	time.AfterFunc(maxPeerLifetime, func() { s.close(pc, "lifetime over") })
	s.out.logf("%s: answered", p.id)
	writeJSON(w, http.StatusOK, sessionDescriptionInit{Type: answer.Type.String(), SDP: answer.SDP})
}

// answer wires the echo handlers, applies the offer and returns the gathered answer.
func (s *server) answer(p *peer, pc *webrtc.PeerConnection, offer webrtc.SessionDescription) (answer *webrtc.SessionDescription, err error) {
	defer func() { // Pion should return errors, but a panic on odd SDP must not kill the server
		if recovered := recover(); recovered != nil {
			err = fmt.Errorf("panic while answering: %v", recovered)
		}
	}()

	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		s.out.logf("%s: connection state %s", p.id, state)
		if state == webrtc.PeerConnectionStateFailed || state == webrtc.PeerConnectionStateClosed {
			go s.close(pc, "connection "+state.String())
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		s.out.logf("%s: data channel %q opened by the client", p.id, dc.Label())
		dc.OnMessage(func(msg webrtc.DataChannelMessage) {
			s.out.logf("%s: echoing %d-byte %s message on %q", p.id, len(msg.Data), messageKind(msg), dc.Label())
			var sendErr error
			if msg.IsString {
				sendErr = dc.SendText(string(msg.Data))
			} else {
				sendErr = dc.Send(msg.Data)
			}
			if sendErr != nil {
				s.out.logf("%s: echo on %q failed: %v", p.id, dc.Label(), sendErr)
			}
		})
	})
	pc.OnTrack(func(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
		p.mu.Lock()
		e := p.echoes[receiver]
		p.mu.Unlock()
		s.echo(p, pc, remote, e)
	})

	if err := pc.SetRemoteDescription(offer); err != nil {
		return nil, fmt.Errorf("SetRemoteDescription: %w", err)
	}
	if err := s.addEchoTracks(p, pc, mediaDirections(&offer)); err != nil {
		return nil, err
	}
	description, err := pc.CreateAnswer(nil)
	if err != nil {
		return nil, fmt.Errorf("CreateAnswer: %w", err)
	}
	return setLocalAndGather(pc, description)
}

// addEchoTracks gives every audio/video transceiver the client sends and receives on a
// local track, so that the answer says sendrecv. It must happen before the answer:
// Pion's OnTrack only fires once RTP flows, long after the answer was sent.
func (s *server) addEchoTracks(p *peer, pc *webrtc.PeerConnection, directions map[string]string) error {
	for _, transceiver := range pc.GetTransceivers() {
		kind := transceiver.Kind()
		if kind != webrtc.RTPCodecTypeAudio && kind != webrtc.RTPCodecTypeVideo || transceiver.Sender() != nil {
			continue
		}
		mid := transceiver.Mid()
		if direction := directions[mid]; direction != "sendrecv" {
			s.out.logf("%s: %s m-line mid=%s is %s: nothing to echo on it", p.id, kind, mid, direction)
			continue
		}
		codec, ok := echoCodec(transceiver.Receiver().GetParameters().Codecs)
		if !ok {
			s.out.logf("%s: %s m-line mid=%s has no codec in common: not echoing", p.id, kind, mid)
			continue
		}
		local, err := webrtc.NewTrackLocalStaticRTP(codec.RTPCodecCapability, kind.String(), "pion-echo-"+mid)
		if err != nil {
			return fmt.Errorf("NewTrackLocalStaticRTP: %w", err)
		}
		// AddTrack reuses the first transceiver of that kind that has no sender yet (the
		// one Pion created for this m-line) and turns its direction into sendrecv.
		sender, err := pc.AddTrack(local)
		if err != nil {
			return fmt.Errorf("AddTrack(%s): %w", kind, err)
		}
		e := &echo{local: local}
		for _, owner := range pc.GetTransceivers() {
			if owner.Sender() == sender {
				p.mu.Lock()
				p.echoes[owner.Receiver()] = e
				p.mu.Unlock()
				s.out.logf("%s: will echo %s mid=%s as %s", p.id, kind, owner.Mid(), codec.MimeType)
			}
		}
		go forwardKeyframeRequests(pc, sender, e)
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

// echo forwards every packet of the remote track to the local track; TrackLocalStaticRTP
// rewrites SSRC and payload type to what was negotiated for our sending side.
func (s *server) echo(p *peer, pc *webrtc.PeerConnection, remote *webrtc.TrackRemote, e *echo) {
	codec := remote.Codec()
	s.out.logf("%s: %s track received (ssrc %d, %s, pt %d)", p.id, remote.Kind(), remote.SSRC(), codec.MimeType, codec.PayloadType)
	if e == nil || !strings.EqualFold(e.local.Codec().MimeType, codec.MimeType) {
		s.out.logf("%s: no sending track for this %s stream: receiving without echo", p.id, codec.MimeType)
		for {
			if _, _, err := remote.ReadRTP(); err != nil {
				return
			}
		}
	}
	local := e.local
	e.remoteSSRC.Store(uint32(remote.SSRC()))
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		// Start the echo on a keyframe where the client's encoder listens to PLI.
		requestKeyframe(pc, e)
	}
	echoed := 0
	for {
		packet, _, err := remote.ReadRTP()
		if err != nil {
			s.out.logf("%s: %s track ended after %d packets echoed (%v)", p.id, remote.Kind(), echoed, err)
			return
		}
		if packet.Header.Padding {
			if len(packet.Payload) == 0 {
				continue // padding-only probe: nothing to echo
			}
			packet.Header.Padding = false
		}
		// The client's header extensions (TWCC sequence numbers, abs-send-time, mid) describe
		// its own stream, not ours: do not hand them back.
		packet.Header.Extension = false
		packet.Header.Extensions = nil
		if err := local.WriteRTP(packet); err != nil {
			if errors.Is(err, io.ErrClosedPipe) {
				return
			}
			s.out.logf("%s: echo write failed: %v", p.id, err)
			continue
		}
		echoed++
		if echoed == 1 || echoed%500 == 0 {
			s.out.logf("%s: %d %s packets echoed", p.id, echoed, remote.Kind())
		}
	}
}

// forwardKeyframeRequests reads the RTCP the client sends about our echo (Pion's
// interceptors need someone to read it) and passes its keyframe requests (PLI, FIR) on to
// the client's own stream: only its encoder can make the keyframe a decoder waits for.
func forwardKeyframeRequests(pc *webrtc.PeerConnection, sender *webrtc.RTPSender, e *echo) {
	for {
		packets, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, packet := range packets {
			switch packet.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				requestKeyframe(pc, e)
			}
		}
	}
}

func requestKeyframe(pc *webrtc.PeerConnection, e *echo) {
	if ssrc := e.remoteSSRC.Load(); ssrc != 0 {
		_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
}

func (s *server) close(pc *webrtc.PeerConnection, why string) {
	s.mu.Lock()
	id, known := s.peers[pc]
	delete(s.peers, pc)
	s.mu.Unlock()
	if known {
		s.out.logf("%s: closing (%s)", id, why)
		if err := pc.Close(); err != nil {
			s.out.logf("%s: close: %v", id, err)
		}
	}
}

func (s *server) closeAll() int {
	s.mu.Lock()
	pcs := make([]*webrtc.PeerConnection, 0, len(s.peers))
	for pc := range s.peers {
		pcs = append(pcs, pc)
	}
	s.mu.Unlock()
	for _, pc := range pcs {
		s.close(pc, "shutting down")
	}
	return len(pcs)
}

func messageKind(msg webrtc.DataChannelMessage) string {
	if msg.IsString {
		return "text"
	}
	return "binary"
}

func writeJSON(w http.ResponseWriter, status int, body interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

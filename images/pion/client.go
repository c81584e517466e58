package main

// Client of the peer contract: pion-peer client <server offer URL>; the test case comes
// from $TEST_CASE. Exit 0 only when the test's condition was observed, 1 on failure or
// timeout, 127 for a test case this client does not know.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"
)

const (
	postRetry       = 10 * time.Second
	minEchoPackets  = 50
	defaultTimeoutS = 25.0
)

type session struct {
	out       *output
	url       string
	pc        *webrtc.PeerConnection
	ctx       context.Context
	budget    time.Duration
	connected chan struct{} // closed once the connection state reaches connected
	broken    chan error    // receives the first failed/closed state
}

type testFunc func(*session) (string, error)

// mediaTest describes one media test: which codec to offer and which file to send.
type mediaTest struct {
	codec webrtc.RTPCodecParameters
	kind  webrtc.RTPCodecType
	send  func(ctx context.Context, track *webrtc.TrackLocalStaticSample) error
}

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

var mediaTests = map[string]mediaTest{
	"audio": {codec: opus, kind: webrtc.RTPCodecTypeAudio, send: sendOgg},
	"video": {codec: vp8, kind: webrtc.RTPCodecTypeVideo, send: sendIVF},
}

func runClient(args []string) int {
	out := &output{name: "client"}
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: pion-peer client <server offer URL>")
		return exitFailed
	}
	test := os.Getenv("TEST_CASE")
	if test == "" {
		test = "datachannel"
	}
	tests := map[string]testFunc{"peerconnection": peerconnectionTest, "datachannel": datachannelTest}
	codecs := func(m *webrtc.MediaEngine) error { return nil } // data only: no codecs offered
	if media, ok := mediaTests[test]; ok {
		tests[test] = media.run
		// Offer exactly the codec under test, so the negotiation cannot drift elsewhere.
		codecs = func(m *webrtc.MediaEngine) error { return m.RegisterCodec(media.codec, media.kind) }
	}
	run, ok := tests[test]
	if !ok {
		names := make([]string, 0, len(tests)+len(mediaTests))
		for name := range tests {
			names = append(names, name)
		}
		for name := range mediaTests {
			names = append(names, name)
		}
		sort.Strings(names)
		out.verdict("UNSUPPORTED: test case %q (known: %s)", test, strings.Join(names, ", "))
		return exitUnsupported
	}

	// Finish, with a verdict, well before the orchestrator's own kill deadline.
	timeout, err := strconv.ParseFloat(os.Getenv("TEST_TIMEOUT"), 64)
	if err != nil || timeout <= 0 {
		timeout = defaultTimeoutS
	}
	budget := time.Duration(0.8 * timeout * float64(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()

	api, err := newAPI(out, codecs)
	if err != nil {
		out.verdict("FAIL: %s: cannot set up Pion: %v", test, err)
		return exitFailed
	}
	pc, err := api.NewPeerConnection(noICEServers)
	if err != nil {
		out.verdict("FAIL: %s: cannot create a peer connection: %v", test, err)
		return exitFailed
	}
	s := &session{out: out, url: args[0], pc: pc, ctx: ctx, budget: budget,
		connected: make(chan struct{}), broken: make(chan error, 1)}
	var once sync.Once
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		out.logf("connection state %s", state)
		switch state {
		case webrtc.PeerConnectionStateConnected:
			once.Do(func() { close(s.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			select {
			case s.broken <- fmt.Errorf("connection %s", state):
			default:
			}
		}
	})

	out.logf("pion/webrtc %s: test %s against %s, budget %.1fs", pionVersion, test, s.url, budget.Seconds())
	detail, testErr := run(s)
	cancel()
	// Verdict first: from here on the output is silent, so Pion's teardown warnings
	// ("stream is already closed") cannot end up below it.
	code := exitPassed
	if testErr != nil {
		out.verdict("FAIL: %s: %v", test, testErr)
		code = exitFailed
	} else {
		out.verdict("PASS: %s: %s", test, detail)
	}
	closePeer(out, pc)
	return code
}

// closePeer closes the connection but never lets a stuck close delay the verdict.
func closePeer(out *output, pc *webrtc.PeerConnection) {
	done := make(chan struct{})
	go func() {
		if err := pc.Close(); err != nil {
			out.logf("close: %v", err)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		out.logf("close still running after 1s, not waiting for it")
	}
}

// timedOut describes a budget overrun with the connection state, so a FAIL says where it stuck.
func (s *session) timedOut(what string) error {
	return fmt.Errorf("%s within %.0fs (connection state %s)", what, s.budget.Seconds(), s.pc.ConnectionState())
}

// connect makes the offer (after gathering), POSTs it and applies the answer.
func (s *session) connect() error {
	offer, err := s.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("CreateOffer: %w", err)
	}
	local, err := setLocalAndGather(s.pc, offer)
	if err != nil {
		return err
	}
	answer, err := s.postOffer(local)
	if err != nil {
		return err
	}
	s.out.logf("got answer (%d bytes of SDP)", len(answer.SDP))
	if err := s.pc.SetRemoteDescription(answer); err != nil {
		return fmt.Errorf("cannot apply the answer: %w", err)
	}
	return nil
}

// postOffer POSTs the offer, retrying connection errors while the server is still starting.
func (s *session) postOffer(offer *webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	payload, _ := json.Marshal(sessionDescriptionInit{Type: "offer", SDP: offer.SDP})
	giveUp := time.Now().Add(postRetry)
	for {
		request, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.url, bytes.NewReader(payload))
		if err != nil {
			return webrtc.SessionDescription{}, fmt.Errorf("bad server URL %q: %w", s.url, err)
		}
		request.Header.Set("Content-Type", "application/json")
		response, err := http.DefaultClient.Do(request)
		if err != nil {
			if s.ctx.Err() != nil {
				return webrtc.SessionDescription{}, s.timedOut("no answer to the offer")
			}
			if time.Now().After(giveUp) {
				return webrtc.SessionDescription{}, fmt.Errorf("cannot reach %s: %w", s.url, err)
			}
			time.Sleep(250 * time.Millisecond)
			continue
		}
		body, err := io.ReadAll(io.LimitReader(response.Body, 1<<20))
		response.Body.Close()
		if err != nil {
			return webrtc.SessionDescription{}, fmt.Errorf("reading the answer: %w", err)
		}
		if response.StatusCode != http.StatusOK {
			text := string(body)
			if len(text) > 200 {
				text = text[:200]
			}
			return webrtc.SessionDescription{}, fmt.Errorf("server answered HTTP %d: %s",
				response.StatusCode, strings.TrimSpace(text))
		}
		var answer sessionDescriptionInit
		if err := json.Unmarshal(body, &answer); err != nil || answer.Type != "answer" || answer.SDP == "" {
			return webrtc.SessionDescription{}, fmt.Errorf("server's reply is not an answer: %.200s", body)
		}
		return webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP}, nil
	}
}

// waitConnected blocks until connected, failed/closed or the budget is over.
func (s *session) waitConnected() error {
	select {
	case <-s.connected:
		return nil
	case err := <-s.broken:
		return err
	case <-s.ctx.Done():
		return s.timedOut("not connected")
	}
}

func peerconnectionTest(s *session) (string, error) {
	// A data channel gives the offer an m=application line, so there is a transport
	// to connect; nothing is sent on it.
	if _, err := s.pc.CreateDataChannel("interop", nil); err != nil {
		return "", fmt.Errorf("CreateDataChannel: %w", err)
	}
	if err := s.connect(); err != nil {
		return "", err
	}
	if err := s.waitConnected(); err != nil {
		return "", err
	}
	return "peer connection reached connected (ICE and DTLS done)", nil
}

func datachannelTest(s *session) (string, error) {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := hex.EncodeToString(raw)
	channel, err := s.pc.CreateDataChannel("interop", nil) // reliable and ordered by default
	if err != nil {
		return "", fmt.Errorf("CreateDataChannel: %w", err)
	}
	echoed := make(chan webrtc.DataChannelMessage, 1)
	problems := make(chan error, 1)
	report := func(err error) {
		select {
		case problems <- err:
		default:
		}
	}
	channel.OnOpen(func() {
		s.out.logf("data channel open, sending %s", token)
		if err := channel.SendText(token); err != nil {
			report(fmt.Errorf("send failed: %w", err))
		}
	})
	channel.OnMessage(func(msg webrtc.DataChannelMessage) {
		s.out.logf("received %s message %q", messageKind(msg), msg.Data)
		select {
		case echoed <- msg:
		default:
		}
	})
	channel.OnClose(func() { report(errors.New("data channel closed before the echo came back")) })

	if err := s.connect(); err != nil {
		return "", err
	}
	if err := s.waitConnected(); err != nil {
		return "", err
	}
	select {
	case msg := <-echoed:
		if !msg.IsString || string(msg.Data) != token {
			return "", fmt.Errorf("echo mismatch: sent text %q, got %s %q", token, messageKind(msg), msg.Data)
		}
		return fmt.Sprintf("data channel echoed %q unchanged", token), nil
	case err := <-problems:
		return "", err
	case err := <-s.broken:
		return "", err
	case <-s.ctx.Done():
		return "", s.timedOut(fmt.Sprintf("no echo of %q (data channel %s)", token, channel.ReadyState()))
	}
}

// run sends the media file on a sendrecv transceiver and counts the RTP packets that
// come back with the negotiated payload type. Pion does not decode: frames=-.
func (m mediaTest) run(s *session) (string, error) {
	track, err := webrtc.NewTrackLocalStaticSample(m.codec.RTPCodecCapability, m.kind.String(), "pion-interop")
	if err != nil {
		return "", fmt.Errorf("NewTrackLocalStaticSample: %w", err)
	}
	transceiver, err := s.pc.AddTransceiverFromTrack(track,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		return "", fmt.Errorf("AddTransceiverFromTrack: %w", err)
	}
	go func() { // Pion's interceptors (NACK responder, reports) need someone to read RTCP
		buf := make([]byte, 1500)
		for {
			if _, _, err := transceiver.Sender().Read(buf); err != nil {
				return
			}
		}
	}()

	var negotiatedPT atomic.Int32 // -1 until the answer is applied
	negotiatedPT.Store(-1)
	var matching, others atomic.Int64
	enough := make(chan struct{})
	var enoughOnce sync.Once
	s.pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		codec := remote.Codec()
		s.out.logf("echoed %s track arrived (ssrc %d, %s, pt %d)", remote.Kind(), remote.SSRC(), codec.MimeType, codec.PayloadType)
		sameCodec := strings.EqualFold(codec.MimeType, m.codec.MimeType)
		for {
			packet, _, err := remote.ReadRTP()
			if err != nil {
				return
			}
			if sameCodec && int32(packet.PayloadType) == negotiatedPT.Load() {
				if n := matching.Add(1); n == 1 || n == minEchoPackets {
					s.out.logf("%d echoed RTP packet(s) with payload type %d", n, packet.PayloadType)
				}
				if matching.Load() >= minEchoPackets {
					enoughOnce.Do(func() { close(enough) })
				}
			} else if others.Add(1) == 1 {
				s.out.logf("ignoring echoed packet with payload type %d (%s)", packet.PayloadType, codec.MimeType)
			}
		}
	})

	if err := s.connect(); err != nil {
		return "", err
	}
	// The codec our track was bound to: the negotiated one with our mime type.
	var negotiated *webrtc.RTPCodecParameters
	for _, codec := range transceiver.Sender().GetParameters().Codecs {
		if strings.EqualFold(codec.MimeType, m.codec.MimeType) {
			codec := codec
			negotiated = &codec
			break
		}
	}
	if negotiated == nil {
		return "", fmt.Errorf("the answer accepted no %s for the %s transceiver", m.codec.MimeType, m.kind)
	}
	negotiatedPT.Store(int32(negotiated.PayloadType))
	fmt.Fprintln(s.out, "NEGOTIATED: "+describeCodec(*negotiated))
	received := func() {
		fmt.Fprintf(s.out, "RECEIVED: packets=%d frames=-\n", matching.Load())
	}
	if direction := mediaDirections(s.pc.RemoteDescription())[transceiver.Mid()]; direction != "sendrecv" {
		received()
		return "", fmt.Errorf("server answered %s for the %s m-line: it will not echo", direction, m.kind)
	}

	if err := s.waitConnected(); err != nil {
		received()
		return "", err
	}
	sendErr := make(chan error, 1)
	go func() { sendErr <- m.send(s.ctx, track) }()

	select {
	case <-enough:
		received()
		return fmt.Sprintf("%d RTP packets echoed back (%s)", matching.Load(), describeCodec(*negotiated)), nil
	case err := <-sendErr:
		received()
		return "", fmt.Errorf("sending %s stopped: %v", m.kind, err)
	case err := <-s.broken:
		received()
		return "", err
	case <-s.ctx.Done():
		received()
		return "", s.timedOut(fmt.Sprintf("only %d of %d echoed %s packets (%d others)",
			matching.Load(), minEchoPackets, m.codec.MimeType, others.Load()))
	}
}

// describeCodec formats a codec as in the contract: opus/48000/2, VP8/90000.
func describeCodec(codec webrtc.RTPCodecParameters) string {
	name := codec.MimeType[strings.Index(codec.MimeType, "/")+1:]
	text := fmt.Sprintf("codec=%s/%d", name, codec.ClockRate)
	if codec.Channels > 0 {
		text += fmt.Sprintf("/%d", codec.Channels)
	}
	return fmt.Sprintf("%s payload_type=%d", text, codec.PayloadType)
}

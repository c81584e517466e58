package main

// Client of the peer contract: pion-peer client <server offer URL>; the test case comes
// from $TEST_CASE. Exit 0 only when the test's condition was observed, 1 on failure or
// timeout, 127 for a test case this client cannot run. The tests themselves are in
// client_datachannel.go, client_media.go and client_session.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

const postRetry = 10 * time.Second

// unsupportedError ends a test with exit 127 (UNSUPPORTED:) instead of a failure.
type unsupportedError struct{ reason string }

func (e unsupportedError) Error() string { return e.reason }

// clientTest is one test case: what it runs and which codecs its offer carries.
type clientTest struct {
	run    func(*client) (string, error)
	codecs func(*webrtc.MediaEngine) error // nil: data only, no codecs offered
}

// client is one run of a test case; pc and its state channels are replaced by newPeer
// (reconnect makes a second peer connection).
type client struct {
	out     *output
	env     *peerEnv
	api     *webrtc.API
	url     string
	ctx     context.Context
	budget  time.Duration
	pc      *webrtc.PeerConnection
	state   *peerState
	session string // absolute session URL from Location; "" without one
	etag    string
}

// peerState is what the state callbacks of one peer connection report. failed is
// closed (a broadcast: every waiting goroutine sees it) once the connection is failed or
// closed, after failure is set.
type peerState struct {
	connected chan struct{}
	failed    chan struct{}
	failure   error
	iceEvents chan webrtc.ICEConnectionState // ICE connection state changes (ICE restart waits on them)
}

func runClient(args []string) int {
	out := &output{name: "client"}
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: pion-peer client <server offer URL>")
		return exitFailed
	}
	env, err := loadEnv()
	if err == nil {
		var note string
		if note, err = trustICECA(os.Getenv("ICE_CA_PEM")); note != "" {
			out.logf("%s", note)
		}
	}
	if err != nil {
		out.verdict("FAIL: bad environment: %v", err)
		return exitFailed
	}
	test, ok := clientTests()[env.test]
	if !ok {
		out.verdict("UNSUPPORTED: test case %q (known: %s)", env.test, knownTests())
		return exitUnsupported
	}
	// Finish, with a verdict, well before the orchestrator's own kill deadline.
	budget := time.Duration(0.8 * env.timeoutSeconds * float64(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	codecs := test.codecs
	if codecs == nil {
		codecs = func(*webrtc.MediaEngine) error { return nil }
	}
	api, err := newAPI(out, codecs)
	if err != nil {
		out.verdict("FAIL: %s: cannot set up Pion: %v", env.test, err)
		return exitFailed
	}
	c := &client{out: out, env: env, api: api, url: args[0], ctx: ctx, budget: budget}
	out.logf("pion/webrtc %s: test %s against %s, budget %.1fs, payload %d bytes (%s), ICE servers %s, policy %s, key log %t",
		pionVersion, env.test, c.url, budget.Seconds(), len(env.payload),
		map[bool]string{true: "TEST_PAYLOAD", false: "made up"}[env.payloadGiven],
		describeICEServers(env.iceServers), env.policy, keyLogSupported)
	detail, testErr := func() (string, error) {
		if err := c.newPeer(); err != nil {
			return "", err
		}
		return test.run(c)
	}()
	cancel()
	return c.finish(detail, testErr)
}

// finish prints the verdict first: from then on the output is silent, so Pion's
// teardown warnings ("stream is already closed") cannot end up below it.
func (c *client) finish(detail string, err error) int {
	var unsupported unsupportedError
	code := exitPassed
	switch {
	case errors.As(err, &unsupported):
		c.out.verdict("UNSUPPORTED: %s: %s", c.env.test, unsupported.reason)
		code = exitUnsupported
	case err != nil:
		c.out.verdict("FAIL: %s: %v", c.env.test, err)
		code = exitFailed
	default:
		c.out.verdict("PASS: %s: %s", c.env.test, detail)
	}
	if c.pc != nil {
		closePeer(c.out, c.pc)
	}
	return code
}

func knownTests() string {
	names := make([]string, 0)
	for name := range clientTests() {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// newPeer creates a peer connection with the cell's ICE configuration and state watchers.
func (c *client) newPeer() error {
	pc, err := c.api.NewPeerConnection(peerConfig(c.env))
	if err != nil {
		return fmt.Errorf("cannot create a peer connection: %w", err)
	}
	state := &peerState{connected: make(chan struct{}), failed: make(chan struct{}),
		iceEvents: make(chan webrtc.ICEConnectionState, 32)}
	var connectedOnce, failedOnce sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.out.logf("connection state %s", s)
		switch s {
		case webrtc.PeerConnectionStateConnected:
			connectedOnce.Do(func() { close(state.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			failedOnce.Do(func() {
				state.failure = fmt.Errorf("connection %s", s)
				close(state.failed)
			})
		}
	})
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		c.out.logf("ICE connection state %s", s)
		select {
		case state.iceEvents <- s:
		default:
		}
	})
	c.pc, c.state = pc, state
	return nil
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
func (c *client) timedOut(what string) error {
	return fmt.Errorf("%s within %.0fs (connection state %s)", what, c.budget.Seconds(), c.pc.ConnectionState())
}

// connect makes the offer (after gathering), POSTs it and applies the answer.
func (c *client) connect() error {
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("CreateOffer: %w", err)
	}
	local, err := setLocalAndGather(c.pc, offer)
	if err != nil {
		return err
	}
	c.out.logf("offer gathered: %s", candidateSummary(local.SDP))
	return c.offerAndApply(local.SDP)
}

// offerAndApply POSTs an offer to SERVER_URL and applies the answer.
func (c *client) offerAndApply(offer string) error {
	answer, err := c.postOffer(offer)
	if err != nil {
		return err
	}
	c.out.logf("got answer (%d bytes of SDP); session %q, ETag %s", len(answer.SDP), c.session, c.etag)
	if err := c.pc.SetRemoteDescription(answer); err != nil {
		return fmt.Errorf("cannot apply the answer: %w", err)
	}
	return nil
}

// postOffer POSTs the offer, retrying connection errors while the server is still
// starting, and remembers the session resource's Location and ETag if there are any.
func (c *client) postOffer(offer string) (webrtc.SessionDescription, error) {
	payload, _ := json.Marshal(sessionDescriptionInit{Type: "offer", SDP: offer})
	giveUp := time.Now().Add(postRetry)
	for {
		status, header, body, err := c.request(http.MethodPost, c.url, "application/json", string(payload), nil)
		if err != nil {
			if c.ctx.Err() != nil {
				return webrtc.SessionDescription{}, c.timedOut("no answer to the offer")
			}
			if time.Now().After(giveUp) {
				return webrtc.SessionDescription{}, fmt.Errorf("cannot reach %s: %w", shownURL(c.url), unwrapURL(err))
			}
			time.Sleep(250 * time.Millisecond)
			continue
		}
		if status != http.StatusOK {
			return webrtc.SessionDescription{}, httpError("the offer", status, body)
		}
		var answer sessionDescriptionInit
		if err := json.Unmarshal([]byte(body), &answer); err != nil || answer.Type != "answer" || answer.SDP == "" {
			return webrtc.SessionDescription{}, fmt.Errorf("server's reply is not an answer: %.200s", body)
		}
		c.session, c.etag = "", header.Get("ETag")
		if location := header.Get("Location"); location != "" {
			if c.session, err = resolveURL(c.url, location); err != nil {
				return webrtc.SessionDescription{}, fmt.Errorf("bad Location %q: %w", location, err)
			}
		}
		return webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP}, nil
	}
}

// request sends one HTTP request and reads the whole reply.
func (c *client) request(method, target, contentType, body string, headers map[string]string) (int, http.Header, string, error) {
	request, err := http.NewRequestWithContext(c.ctx, method, target, bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, nil, "", fmt.Errorf("bad URL %q: %w", target, err)
	}
	if contentType != "" {
		request.Header.Set("Content-Type", contentType)
	}
	for name, value := range headers {
		request.Header.Set(name, value)
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return 0, nil, "", err
	}
	defer response.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(response.Body, maxBodyBytes))
	if err != nil {
		return 0, nil, "", fmt.Errorf("reading the reply to %s %s: %w", method, target, err)
	}
	return response.StatusCode, response.Header, string(reply), nil
}

func httpError(what string, status int, body string) error {
	text := strings.TrimSpace(body)
	if len(text) > 200 {
		text = text[:200]
	}
	return fmt.Errorf("server answered HTTP %d to %s: %s", status, what, text)
}

func resolveURL(base, reference string) (string, error) {
	baseURL, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	ref, err := url.Parse(reference)
	if err != nil {
		return "", err
	}
	return baseURL.ResolveReference(ref).String(), nil
}

// waitConnected blocks until connected, failed/closed or the budget is over.
func (c *client) waitConnected() error {
	select {
	case <-c.state.connected:
		return nil
	case <-c.state.failed:
		return c.state.failure
	case <-c.ctx.Done():
		return c.timedOut("not connected")
	}
}

// requireSession is the check of every test that needs the session resource.
func (c *client) requireSession() error {
	if c.session == "" {
		return unsupportedError{"server has no session resource (no Location in its answer)"}
	}
	return nil
}

// clientTests lists the test cases this client runs.
func clientTests() map[string]clientTest {
	return map[string]clientTest{
		"peerconnection":          {run: peerconnectionTest},
		"datachannel":             {run: datachannelTest},
		"datachannel-large":       {run: largeTest},
		"datachannel-binary":      {run: binaryTest},
		"datachannel-unordered":   {run: unorderedTest},
		"datachannel-negotiated":  {run: negotiatedTest},
		"datachannel-many":        {run: manyTest},
		"datachannel-server-open": {run: serverOpenTest},
		"datachannel-bulk":        {run: bulkTest},
		"audio":                   {run: audioTest, codecs: registerOpus},
		"video":                   {run: videoTest, codecs: registerVP8},
		"bundle-av-data":          {run: bundleTest, codecs: registerOpusAndVP8},
		"trickle":                 {run: trickleTest},
		"ice-restart":             {run: iceRestartTest},
		"renegotiation":           {run: renegotiationTest, codecs: registerOpus},
		"reconnect":               {run: reconnectTest},
	}
}

// shownURL is a URL for a failure line, without its query: a reused server's offer URL
// carries the cell's payload (contract 1.1), 1200-2000 hex digits that would crowd out
// why.
func shownURL(target string) string {
	return strings.SplitN(target, "?", 2)[0]
}

// unwrapURL drops net/http's "Post <url>:" wrapper, which repeats the whole URL.
func unwrapURL(err error) error {
	var wrapped *url.Error
	if errors.As(err, &wrapped) {
		return wrapped.Err
	}
	return err
}

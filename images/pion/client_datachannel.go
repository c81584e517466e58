package main

// The client's data channel test cases (contract section 8): peerconnection,
// datachannel, -large, -binary, -unordered, -negotiated, -many, -server-open.
// datachannel-bulk is in client_bulk.go.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

const (
	unorderedCount = 100
	unorderedWait  = 5 * time.Second
	manyChannels   = 32
	largeSize      = 65536
	largerSize     = 262144
)

// channelWatch turns one data channel's callbacks into channels a test can wait on.
type channelWatch struct {
	dc       *webrtc.DataChannel
	opened   chan struct{}
	closed   chan struct{}
	messages chan webrtc.DataChannelMessage
}

func (c *client) watchChannel(dc *webrtc.DataChannel) *channelWatch {
	w := &channelWatch{dc: dc, opened: make(chan struct{}), closed: make(chan struct{}),
		messages: make(chan webrtc.DataChannelMessage, 4096)}
	var openOnce, closeOnce sync.Once
	dc.OnOpen(func() { openOnce.Do(func() { close(w.opened) }) })
	dc.OnClose(func() {
		c.out.logf("data channel %q closed", dc.Label())
		closeOnce.Do(func() { close(w.closed) })
	})
	dc.OnError(func(err error) { c.out.logf("data channel %q error: %v", dc.Label(), err) })
	dc.OnMessage(func(msg webrtc.DataChannelMessage) { w.messages <- msg })
	return w
}

// createChannel opens a channel on the current peer connection and watches it.
func (c *client) createChannel(label string, init *webrtc.DataChannelInit) (*channelWatch, error) {
	dc, err := c.pc.CreateDataChannel(label, init)
	if err != nil {
		return nil, fmt.Errorf("CreateDataChannel(%q): %w", label, err)
	}
	return c.watchChannel(dc), nil
}

// waitOpen blocks until the channel is open, the connection or channel ends, or time is up.
func (c *client) waitOpen(w *channelWatch) error {
	select {
	case <-w.opened:
		return nil
	case <-w.closed:
		return fmt.Errorf("data channel %q closed before it opened", w.dc.Label())
	case <-c.state.failed:
		return c.state.failure
	case <-c.ctx.Done():
		return c.timedOut(fmt.Sprintf("data channel %q not open", w.dc.Label()))
	}
}

// next waits for the channel's next message; what names it for the failure message.
func (c *client) next(w *channelWatch, what string) (webrtc.DataChannelMessage, error) {
	select {
	case msg := <-w.messages:
		return msg, nil
	case <-w.closed:
		return webrtc.DataChannelMessage{}, fmt.Errorf("data channel %q closed before %s came back", w.dc.Label(), what)
	case <-c.state.failed:
		return webrtc.DataChannelMessage{}, fmt.Errorf("%v before %s came back", c.state.failure, what)
	case <-c.ctx.Done():
		return webrtc.DataChannelMessage{}, c.timedOut(fmt.Sprintf("no echo of %s on %q (channel %s)", what, w.dc.Label(), w.dc.ReadyState()))
	}
}

// send sends one message as text or binary.
func send(dc *webrtc.DataChannel, data []byte, isString bool) error {
	if isString {
		return dc.SendText(string(data))
	}
	return dc.Send(data)
}

// echoOnce sends one message and requires the next message on the channel to be its
// byte-exact echo of the same type.
func (c *client) echoOnce(w *channelWatch, data []byte, isString bool, what string) error {
	if err := send(w.dc, data, isString); err != nil {
		return fmt.Errorf("sending %s (%d bytes) failed: %w", what, len(data), err)
	}
	msg, err := c.next(w, what)
	if err != nil {
		return err
	}
	return sameMessage(what, data, isString, msg)
}

// sameMessage compares an echo with what was sent and says precisely how it differs.
func sameMessage(what string, sent []byte, isString bool, got webrtc.DataChannelMessage) error {
	kind := map[bool]string{true: "text", false: "binary"}
	if got.IsString != isString {
		return fmt.Errorf("echo of %s came back as %s, sent as %s", what, kind[got.IsString], kind[isString])
	}
	if !bytes.Equal(got.Data, sent) {
		offset := 0
		for offset < len(sent) && offset < len(got.Data) && sent[offset] == got.Data[offset] {
			offset++
		}
		return fmt.Errorf("echo of %s differs: sent %d bytes, got %d, first difference at byte %d",
			what, len(sent), len(got.Data), offset)
	}
	return nil
}

// openEcho is the common start of the single-channel tests: channel, connect, open.
func (c *client) openEcho(label string, init *webrtc.DataChannelInit) (*channelWatch, error) {
	w, err := c.createChannel(label, init)
	if err != nil {
		return nil, err
	}
	if err := c.connect(); err != nil {
		return nil, err
	}
	if err := c.waitConnected(); err != nil {
		return nil, err
	}
	return w, c.waitOpen(w)
}

func peerconnectionTest(c *client) (string, error) {
	// A data channel gives the offer an m=application line, so there is a transport
	// to connect; nothing is sent on it.
	if _, err := c.createChannel("interop", nil); err != nil {
		return "", err
	}
	if err := c.connect(); err != nil {
		return "", err
	}
	if err := c.waitConnected(); err != nil {
		return "", err
	}
	return "peer connection reached connected (ICE and DTLS done)", nil
}

func datachannelTest(c *client) (string, error) {
	w, err := c.openEcho("interop", nil)
	if err != nil {
		return "", err
	}
	if err := c.echoOnce(w, c.env.payload, true, "P"); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d-byte P echoed unchanged on %q", len(c.env.payload), w.dc.Label()), nil
}

func negotiatedTest(c *client) (string, error) {
	negotiated, id := true, uint16(negotiatedID)
	w, err := c.openEcho("interop-negotiated", &webrtc.DataChannelInit{Negotiated: &negotiated, ID: &id})
	if err != nil {
		return "", err
	}
	if err := c.echoOnce(w, c.env.payload, true, "P"); err != nil {
		return "", err
	}
	return fmt.Sprintf("P echoed on the negotiated channel id %d (no DCEP)", id), nil
}

func binaryTest(c *client) (string, error) {
	w, err := c.openEcho("interop", nil)
	if err != nil {
		return "", err
	}
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	messages := []struct {
		what string
		data []byte
	}{{"P as binary", c.env.payload}, {"the empty binary message", []byte{}}, {"bytes 00..ff", allBytes}}
	for _, m := range messages {
		if err := send(w.dc, m.data, false); err != nil {
			return "", fmt.Errorf("sending %s failed: %w", m.what, err)
		}
	}
	for _, m := range messages {
		msg, err := c.next(w, m.what)
		if err != nil {
			return "", err
		}
		if err := sameMessage(m.what, m.data, false, msg); err != nil {
			return "", err
		}
	}
	return "three binary messages (P, empty, 00..ff) echoed in order, byte-exact", nil
}

// maxMessageSize reads a=max-message-size of a description's m=application section:
// absent means 65536, 0 means no limit (returned as 0).
func maxMessageSize(desc *webrtc.SessionDescription) (uint64, error) {
	if desc == nil {
		return 0, errors.New("no description")
	}
	inApplication := false
	for _, line := range sdpLines(desc.SDP) {
		if strings.HasPrefix(line, "m=") {
			inApplication = strings.HasPrefix(line, "m=application")
		} else if inApplication && strings.HasPrefix(line, "a=max-message-size:") {
			return strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(line, "a=max-message-size:")), 10, 64)
		}
	}
	return largeSize, nil
}

func allows(limit uint64, size int) bool { return limit == 0 || limit >= uint64(size) }

func largeTest(c *client) (string, error) {
	w, err := c.openEcho("interop", nil)
	if err != nil {
		return "", err
	}
	remote, err := maxMessageSize(c.pc.RemoteDescription())
	if err != nil {
		return "", fmt.Errorf("server's a=max-message-size: %w", err)
	}
	local, err := maxMessageSize(c.pc.LocalDescription())
	if err != nil {
		return "", fmt.Errorf("our a=max-message-size: %w", err)
	}
	c.out.logf("max-message-size: server %d, ours %d (0: no limit)", remote, local)
	if !allows(remote, largeSize) {
		return "", fmt.Errorf("server's max-message-size %d is below %d", remote, largeSize)
	}
	sizes := []int{largeSize}
	if allows(remote, largerSize) && allows(local, largerSize) {
		sizes = append(sizes, largerSize)
	}
	tested := []string{}
	defer func() { c.out.line("SIZES: " + strings.Join(tested, ",")) }()
	for _, size := range sizes {
		tested = append(tested, strconv.Itoa(size))
		if err := c.echoOnce(w, repeatPayload(c.env.payload, size), true, fmt.Sprintf("repeat(P, %d)", size)); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("string messages of %s bytes echoed intact", strings.Join(tested, " and ")), nil
}

func unorderedTest(c *client) (string, error) {
	ordered, retransmits := false, uint16(0)
	w, err := c.openEcho("interop-unordered", &webrtc.DataChannelInit{Ordered: &ordered, MaxRetransmits: &retransmits})
	if err != nil {
		return "", err
	}
	sent := map[string]bool{}
	for i := 0; i < unorderedCount; i++ {
		message := fmt.Sprintf("%03d:", i) + string(c.env.payload)
		sent[message] = true
		if err := w.dc.SendText(message); err != nil {
			return "", fmt.Errorf("sending message %d failed: %w", i, err)
		}
	}
	echoed, err := c.collectUnordered(w, sent, time.After(unorderedWait))
	c.out.line(fmt.Sprintf("ECHOED: %d of %d", len(echoed), unorderedCount))
	if err != nil {
		return "", err
	}
	if len(echoed) < c.env.minEchoes {
		return "", fmt.Errorf("only %d of %d messages came back on the unordered channel (MIN_ECHOES %d)",
			len(echoed), unorderedCount, c.env.minEchoes)
	}
	return fmt.Sprintf("%d of %d unordered messages echoed intact (MIN_ECHOES %d)", len(echoed), unorderedCount, c.env.minEchoes), nil
}

// collectUnordered gathers distinct echoes until all came back or the wait after the
// last send is over; an echo that is not one of the messages sent is an error.
func (c *client) collectUnordered(w *channelWatch, sent map[string]bool, deadline <-chan time.Time) (map[string]bool, error) {
	echoed := map[string]bool{}
	for len(echoed) < len(sent) {
		select {
		case msg := <-w.messages:
			if !msg.IsString || !sent[string(msg.Data)] {
				return echoed, fmt.Errorf("an echo is not a message we sent (%d-byte %s starting %.8q)",
					len(msg.Data), messageKind(msg), msg.Data)
			}
			echoed[string(msg.Data)] = true
		case <-deadline:
			return echoed, nil
		case <-w.closed:
			return echoed, fmt.Errorf("data channel closed after %d echoes", len(echoed))
		case <-c.state.failed:
			return echoed, c.state.failure
		case <-c.ctx.Done():
			return echoed, nil
		}
	}
	return echoed, nil
}

func manyTest(c *client) (string, error) {
	watches := make([]*channelWatch, manyChannels)
	for k := range watches {
		w, err := c.createChannel(fmt.Sprintf("interop-%d", k), nil)
		if err != nil {
			return "", err
		}
		watches[k] = w
	}
	if err := c.connect(); err != nil {
		return "", err
	}
	if err := c.waitConnected(); err != nil {
		return "", err
	}
	results := make(chan error, manyChannels)
	for k, w := range watches {
		go func(k int, w *channelWatch) {
			if err := c.waitOpen(w); err != nil {
				results <- err
				return
			}
			message := fmt.Sprintf("interop-%d:", k) + string(c.env.payload)
			results <- c.echoOnce(w, []byte(message), true, fmt.Sprintf("interop-%d's message", k))
		}(k, w)
	}
	for range watches {
		if err := <-results; err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("all %d channels echoed their own message on themselves", manyChannels), nil
}

// serverOpenTest: the server opens interop-server and sends P; we echo every message
// on it and pass on CONFIRMED:<sha256 of what we echoed>.
func serverOpenTest(c *client) (string, error) {
	if _, err := c.createChannel("interop-client", nil); err != nil {
		return "", err
	}
	serverChannel := make(chan *channelWatch, 1)
	c.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		c.out.logf("server opened data channel %q", dc.Label())
		if dc.Label() == "interop-server" {
			serverChannel <- c.watchChannel(dc)
		}
	})
	if err := c.connect(); err != nil {
		return "", err
	}
	var w *channelWatch
	select {
	case w = <-serverChannel:
	case <-c.state.failed:
		return "", c.state.failure
	case <-c.ctx.Done():
		return "", c.timedOut("the server did not open interop-server")
	}
	first, err := c.next(w, "the server's P")
	if err != nil {
		return "", err
	}
	if c.env.payloadGiven && (!first.IsString || !bytes.Equal(first.Data, c.env.payload)) {
		return "", fmt.Errorf("the server sent a %d-byte %s message, not P (TEST_PAYLOAD)", len(first.Data), messageKind(first))
	}
	if err := send(w.dc, first.Data, first.IsString); err != nil {
		return "", fmt.Errorf("echoing the server's message failed: %w", err)
	}
	sum := sha256.Sum256(first.Data)
	want := "CONFIRMED:" + hex.EncodeToString(sum[:])
	for {
		msg, err := c.next(w, "the server's confirmation")
		if err != nil {
			return "", err
		}
		_ = send(w.dc, msg.Data, msg.IsString) // we echo every message on this channel
		text := string(msg.Data)
		if strings.HasPrefix(text, "CONFIRMED:") || strings.HasPrefix(text, "MISMATCH:") {
			if text != want {
				return "", fmt.Errorf("server answered %q, expected %q", text, want)
			}
			return fmt.Sprintf("server-opened channel: echoed its %d-byte P, server confirmed the SHA-256", len(first.Data)), nil
		}
	}
}

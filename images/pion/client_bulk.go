package main

// datachannel-bulk: 16 MiB as 1024 binary messages of 16384 bytes with the contract's
// flow control, every echo checked in order, SHA-256 of all of it compared.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

const (
	bulkMessages    = 1024
	bulkMessageSize = 16384
)

// bulkReceiver checks echoes as they arrive (in order, right size, binary) and hashes them.
type bulkReceiver struct {
	mu       sync.Mutex
	hash     hash.Hash
	count    int
	bytes    int
	lastEcho time.Time
	done     chan struct{}
	problem  chan error
}

func (r *bulkReceiver) onMessage(msg webrtc.DataChannelMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.count >= bulkMessages {
		return
	}
	var err error
	switch {
	case msg.IsString:
		err = fmt.Errorf("echo %d came back as text", r.count)
	case len(msg.Data) != bulkMessageSize:
		err = fmt.Errorf("echo %d has %d bytes, not %d", r.count, len(msg.Data), bulkMessageSize)
	case binary.BigEndian.Uint32(msg.Data) != uint32(r.count):
		err = fmt.Errorf("echo %d carries index %d: out of order or lost", r.count, binary.BigEndian.Uint32(msg.Data))
	}
	if err != nil {
		select {
		case r.problem <- err:
		default:
		}
		return
	}
	r.hash.Write(msg.Data)
	r.count++
	r.bytes += len(msg.Data)
	r.lastEcho = time.Now()
	if r.count == bulkMessages {
		close(r.done)
	}
}

// snapshot returns what came back so far: bytes, messages, SHA-256, time of the last echo.
func (r *bulkReceiver) snapshot() (int, int, []byte, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bytes, r.count, r.hash.Sum(nil), r.lastEcho
}

func bulkTest(c *client) (string, error) {
	dc, err := c.pc.CreateDataChannel("interop-bulk", nil)
	if err != nil {
		return "", fmt.Errorf("CreateDataChannel: %w", err)
	}
	receiver := &bulkReceiver{hash: sha256.New(), done: make(chan struct{}), problem: make(chan error, 1)}
	low := make(chan struct{}, 1)
	dc.SetBufferedAmountLowThreshold(lowWaterMark)
	dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	w := c.watchChannel(dc)
	dc.OnMessage(receiver.onMessage) // replaces the watch's queue: the receiver checks each echo
	if err := c.connect(); err != nil {
		return "", err
	}
	if err := c.waitConnected(); err != nil {
		return "", err
	}
	if err := c.waitOpen(w); err != nil {
		return "", err
	}
	started := time.Now()
	sentSum, err := c.sendBulk(w, low)
	if err == nil {
		err = c.waitBulkEchoes(w, receiver)
	}
	echoedBytes, echoed, got, lastEcho := receiver.snapshot()
	seconds := 0.0
	if !lastEcho.IsZero() {
		seconds = lastEcho.Sub(started).Seconds()
	}
	c.out.line(fmt.Sprintf("BULK: bytes=%d messages=%d sha256=%s seconds=%.3f",
		echoedBytes, echoed, hex.EncodeToString(got), seconds))
	if err != nil {
		return "", err
	}
	if !bytes.Equal(got, sentSum) {
		return "", fmt.Errorf("SHA-256 of the echoes %x differs from what was sent %x", got, sentSum)
	}
	return fmt.Sprintf("%d bytes in %d messages echoed in order, SHA-256 equal, %.2f s (%.1f Mbit/s each way)",
		echoedBytes, echoed, seconds, float64(echoedBytes)*8/seconds/1e6), nil
}

// sendBulk sends the 1024 messages, pausing above 1 MiB buffered until bufferedamountlow,
// and returns the SHA-256 of everything it sent.
func (c *client) sendBulk(w *channelWatch, low chan struct{}) ([]byte, error) {
	sum := sha256.New()
	message := make([]byte, bulkMessageSize)
	copy(message[4:], repeatPayload(c.env.payload, bulkMessageSize-4))
	for i := 0; i < bulkMessages; i++ {
		binary.BigEndian.PutUint32(message, uint32(i))
		sum.Write(message)
		if err := w.dc.Send(message); err != nil {
			return nil, fmt.Errorf("sending message %d failed: %w", i, err)
		}
		for w.dc.BufferedAmount() > highWaterMark {
			select {
			case <-low:
			case <-time.After(time.Second): // re-check: the event may have fired before we waited
			case <-w.closed:
				return nil, fmt.Errorf("data channel closed after %d messages sent", i+1)
			case <-c.state.failed:
				return nil, c.state.failure
			case <-c.ctx.Done():
				return nil, c.timedOut(fmt.Sprintf("sending stalled at message %d (%d bytes buffered)", i+1, w.dc.BufferedAmount()))
			}
		}
	}
	return sum.Sum(nil), nil
}

func (c *client) waitBulkEchoes(w *channelWatch, receiver *bulkReceiver) error {
	select {
	case <-receiver.done:
		return nil
	case err := <-receiver.problem:
		return err
	case <-w.closed:
		_, echoed, _, _ := receiver.snapshot()
		return fmt.Errorf("data channel closed after %d echoes", echoed)
	case <-c.state.failed:
		return c.state.failure
	case <-c.ctx.Done():
		_, echoed, _, _ := receiver.snapshot()
		return c.timedOut(fmt.Sprintf("only %d of %d echoes", echoed, bulkMessages))
	}
}

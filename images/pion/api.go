package main

// Pion set-up shared by both roles: the API (codecs, interceptors, logging, DTLS key
// log), the peer connection configuration, and non-trickle gathering.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// newAPI builds a Pion API with the given codecs, the default interceptors (NACK,
// RTCP reports, TWCC), Pion's warnings routed into our log and, where this Pion can,
// the DTLS secrets printed as KEYLOG: lines.
// PEER_DEBUG=1 turns on Pion's debug logging (PION_LOG_<LEVEL>=<scopes> also works).
func newAPI(out *output, registerCodecs func(*webrtc.MediaEngine) error) (*webrtc.API, error) {
	media := &webrtc.MediaEngine{}
	if err := registerCodecs(media); err != nil {
		return nil, fmt.Errorf("registering codecs: %w", err)
	}
	registry := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(media, registry); err != nil {
		return nil, fmt.Errorf("registering interceptors: %w", err)
	}
	loggers := logging.NewDefaultLoggerFactory()
	loggers.Writer = out
	if loggers.DefaultLogLevel < logging.LogLevelWarn {
		loggers.DefaultLogLevel = logging.LogLevelWarn
	}
	if os.Getenv("PEER_DEBUG") != "" {
		loggers.DefaultLogLevel = logging.LogLevelDebug
	}
	settings := webrtc.SettingEngine{LoggerFactory: loggers}
	setKeyLogWriter(&settings, &keyLogWriter{out: out})
	return webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithInterceptorRegistry(registry),
		webrtc.WithSettingEngine(settings)), nil
}

// peerConfig is the peer connection configuration: exactly the cell's ICE servers and
// policy. Pion has no default STUN server, so an empty list means host candidates only.
func peerConfig(env *peerEnv) webrtc.Configuration {
	return webrtc.Configuration{ICEServers: env.iceServers, ICETransportPolicy: env.policy}
}

// keyLogWriter receives Pion's NSS key log ("CLIENT_RANDOM <random> <secret>\n", one
// line per DTLS session, written when the master secret exists) and prints each line
// with the contract's KEYLOG: prefix.
type keyLogWriter struct {
	mu      sync.Mutex
	out     *output
	partial []byte
}

func (k *keyLogWriter) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.partial = append(k.partial, p...)
	for {
		end := bytes.IndexByte(k.partial, '\n')
		if end < 0 {
			return len(p), nil
		}
		if line := strings.TrimSpace(string(k.partial[:end])); line != "" {
			k.out.line("KEYLOG: " + line)
		}
		k.partial = k.partial[end+1:]
	}
}

// setLocalAndGather applies a local description and waits for ICE gathering to finish:
// non-trickle signalling must carry every candidate in the SDP it hands over.
func setLocalAndGather(pc *webrtc.PeerConnection, desc webrtc.SessionDescription) (*webrtc.SessionDescription, error) {
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return nil, fmt.Errorf("SetLocalDescription: %w", err)
	}
	select {
	case <-gathered:
	case <-time.After(gatherTimeout):
		return nil, errors.New("ICE gathering did not complete")
	}
	return pc.LocalDescription(), nil
}

// candidateSummary describes the candidates of a description for the log, e.g.
// "2 candidate(s): host udp 172.20.0.3:41234, relay udp 172.21.0.5:50000": which of the
// cell's ICE servers and policy took effect is visible there.
func candidateSummary(sdp string) string {
	seen := map[string]bool{}
	var parts []string
	for _, candidate := range parseSDPLines(sdp).candidates {
		// candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
		fields := strings.Fields(candidate.value)
		if len(fields) < 8 {
			continue
		}
		part := fmt.Sprintf("%s %s %s:%s", fields[7], strings.ToLower(fields[2]), fields[4], fields[5])
		if !seen[part] {
			seen[part] = true
			parts = append(parts, part)
		}
	}
	return fmt.Sprintf("%d candidate(s): %s", len(parts), strings.Join(parts, ", "))
}

// mediaDirections maps each m-line's mid to its direction attribute (sendrecv when absent).
func mediaDirections(desc *webrtc.SessionDescription) map[string]string {
	directions := map[string]string{}
	if desc == nil {
		return directions
	}
	parsed, err := desc.Unmarshal()
	if err != nil {
		return directions
	}
	for _, media := range parsed.MediaDescriptions {
		mid, _ := media.Attribute("mid")
		direction := "sendrecv"
		for _, candidate := range []string{"sendrecv", "sendonly", "recvonly", "inactive"} {
			if _, ok := media.Attribute(candidate); ok {
				direction = candidate
			}
		}
		directions[mid] = direction
	}
	return directions
}

func messageKind(msg webrtc.DataChannelMessage) string {
	if msg.IsString {
		return "text"
	}
	return "binary"
}

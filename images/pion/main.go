// Command pion-peer is Pion's side of the interop matrix peer contract (docs/contract.md).
//
//	pion-peer server          answers offers on 0.0.0.0:8080 (POST /offer)
//	pion-peer client <url>    offers, runs $TEST_CASE and prints PASS:/FAIL:/UNSUPPORTED:
//
// One binary for both roles keeps the image small and the shared setup in one place.
// The Dockerfile rewrites the webrtc import path (v3 -> v4) when it builds against Pion v4.
package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

const (
	exitPassed      = 0
	exitFailed      = 1
	exitUnsupported = 127
	listenAddr      = "0.0.0.0:8080"
	gatherTimeout   = 10 * time.Second
)

// sessionDescriptionInit is the JSON RTCSessionDescriptionInit of the signalling.
type sessionDescriptionInit struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

// pionVersion is set by build.sh (-ldflags -X): GOPATH builds carry no module versions.
var pionVersion = "unknown"

// noICEServers: host candidates on the cell network are all a pair needs (no STUN/TURN).
var noICEServers = webrtc.Configuration{ICEServers: []webrtc.ICEServer{}}

// output serialises our log lines and Pion's own, and falls silent once the verdict is
// printed, so that the verdict really is the last line even if callbacks still fire.
type output struct {
	mu       sync.Mutex
	name     string
	finished bool
}

func (o *output) logf(format string, args ...interface{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.finished {
		fmt.Fprintf(os.Stdout, "%s %s %s\n", time.Now().Format("2006-01-02 15:04:05.000"),
			o.name, fmt.Sprintf(format, args...))
	}
}

// Write lets Pion's logger share the same stream and the same silence after the verdict.
func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.finished {
		return os.Stdout.Write(p)
	}
	return len(p), nil
}

// verdict prints the final PASS:/FAIL:/UNSUPPORTED: line; nothing is printed after it.
func (o *output) verdict(format string, args ...interface{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.finished {
		fmt.Fprintf(os.Stdout, format+"\n", args...)
		o.finished = true
	}
}

// newAPI builds a Pion API with the given codecs, the default interceptors (NACK,
// RTCP reports, TWCC) and Pion's warnings routed into our log.
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
	return webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithInterceptorRegistry(registry),
		webrtc.WithSettingEngine(settings)), nil
}

// setLocalAndGather applies a local description and waits for ICE gathering to finish:
// the contract is non-trickle, every candidate must be in the SDP we hand over.
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

// mediaDirections maps each m-line's mid to its direction attribute (sendrecv when absent).
func mediaDirections(desc *webrtc.SessionDescription) map[string]string {
	directions := map[string]string{}
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

func main() {
	if len(os.Args) >= 2 {
		switch os.Args[1] {
		case "server":
			os.Exit(runServer())
		case "client":
			os.Exit(runClient(os.Args[2:]))
		}
	}
	fmt.Fprintln(os.Stderr, "usage: pion-peer server | pion-peer client <server offer URL>")
	os.Exit(exitFailed)
}

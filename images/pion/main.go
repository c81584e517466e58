// Command pion-peer is Pion's side of the interop matrix peer contract (docs/contract.md).
//
//	pion-peer server          answers offers on 0.0.0.0:8080 (POST /offer, /session/<id>)
//	pion-peer client <url>    offers, runs $TEST_CASE and prints PASS:/FAIL:/UNSUPPORTED:
//
// One binary for both roles keeps the image small and the shared setup in one place.
// The source is written against Pion v4; build.sh compiles it against Pion v3 by
// rewriting the webrtc import path and adding the build tag pionv3 (compat_v3.go holds
// the few v3/v4 differences).
package main

import (
	"fmt"
	"os"
	"sync"
	"time"
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

// output serialises our log lines and Pion's own, and falls silent once the verdict is
// printed, so that the verdict really is the last line even if callbacks still fire.
type output struct {
	mu       sync.Mutex
	name     string
	finished bool
}

// logf prints a timestamped log line of this role.
func (o *output) logf(format string, args ...interface{}) {
	o.line(fmt.Sprintf("%s %s %s", time.Now().Format("2006-01-02 15:04:05.000"), o.name,
		fmt.Sprintf(format, args...)))
}

// line prints one line as it is: the contract's NEGOTIATED:, KEYLOG: ... lines must start
// at the beginning of a line.
func (o *output) line(text string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.finished {
		fmt.Fprintln(os.Stdout, text)
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

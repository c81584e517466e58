package main

// Echo server of the peer contract. POST /offer takes an RTCSessionDescriptionInit and
// returns the answer once ICE gathering is complete, with the session resource's
// Location and ETag (server_session.go). What the peer connections echo is in
// server_echo.go. For a reused server (contract 1.1) the offer URL may carry the
// session's payload, and DELETE /sessions ends every session between cells.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/webrtc/v4"
)

const (
	maxPeerLifetime = 300 * time.Second
	maxBodyBytes    = 1 << 20
	sessionPath     = "/session/"
	sessionsPath    = "/sessions"
	// closeAllLimit bounds DELETE /sessions below the contract's 5 s, leaving room for
	// the HTTP round trip; a server slower than that is not reused.
	closeAllLimit = 4500 * time.Millisecond
)

type server struct {
	out      *output
	env      *peerEnv
	api      *webrtc.API
	mu       sync.Mutex
	sessions map[string]*serverSession
	count    int
}

func runServer() int {
	out := &output{name: "server"}
	env, err := loadEnv()
	if err != nil {
		out.logf("bad environment: %v", err)
		return exitFailed
	}
	if note, err := trustICECA(os.Getenv("ICE_CA_PEM")); err != nil {
		out.logf("bad environment: %v", err)
		return exitFailed
	} else if note != "" {
		out.logf("%s", note)
	}
	// Pion's default codec set (Opus, G722, PCMU, PCMA, VP8, VP9, H264, ...): the server
	// answers whatever the client offers that Pion knows.
	api, err := newAPI(out, func(m *webrtc.MediaEngine) error { return m.RegisterDefaultCodecs() })
	if err != nil {
		out.logf("cannot set up Pion: %v", err)
		return exitFailed
	}
	s := &server{out: out, env: env, api: api, sessions: map[string]*serverSession{}}

	mux := http.NewServeMux()
	mux.HandleFunc("/offer", s.handleOffer)
	mux.HandleFunc(sessionPath, s.handleSession)
	mux.HandleFunc(sessionsPath, s.handleSessions)
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
		closed, _ := s.closeAll("shutting down", closeAllLimit)
		out.logf("%s: closed %d peer(s), exiting", sig, closed)
		os.Exit(0)
	}()

	out.logf("pion-peer server (pion/webrtc %s, %s) listening on %s; test %s, ICE servers %s, policy %s, key log %t",
		pionVersion, runtime.Version(), listenAddr, env.test, describeICEServers(env.iceServers), env.policy, keyLogSupported)
	if err := httpServer.Serve(listener); err != nil {
		out.logf("HTTP server stopped: %v", err)
	}
	return exitFailed
}

// handleOffer answers POST /offer: a new peer connection and session per offer.
func (s *server) handleOffer(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "POST an offer here")
		return
	}
	payload, source, err := s.offerPayload(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var init sessionDescriptionInit
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err == nil {
		err = json.Unmarshal(body, &init)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("not an RTCSessionDescriptionInit: %v", err))
		return
	}
	if init.Type != "offer" || init.SDP == "" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(
			"expected type 'offer' with an sdp, got type %q and %d bytes of SDP", init.Type, len(init.SDP)))
		return
	}
	sess, err := s.newSession(payload)
	if err != nil {
		s.out.logf("cannot create a peer connection: %v", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.out.logf("%s: offer from %s (%d bytes of SDP; P: %d bytes %s)", sess.id, r.RemoteAddr, len(init.SDP), len(payload), source)
	answer, err := sess.answer(init.SDP)
	if err != nil { // a bad offer must never take the server down
		s.out.logf("%s: rejected offer: %v", sess.id, err)
		s.forget(sess, "offer rejected")
		writeError(w, http.StatusBadRequest, fmt.Sprintf("cannot answer this offer: %v", err))
		return
	}
	time.AfterFunc(maxPeerLifetime, func() { s.forget(sess, "lifetime over") })
	s.out.logf("%s: answered", sess.id)
	w.Header().Set("Location", sessionPath+sess.id)
	w.Header().Set("ETag", sess.currentETag())
	writeJSON(w, http.StatusOK, sessionDescriptionInit{Type: answer.Type.String(), SDP: answer.SDP})
}

// offerPayload is the new session's P and where it came from: the offer URL's payload
// parameter if it has one (contract 1.1: a reused server serves one cell per session,
// each with its own P), else the server's TEST_PAYLOAD. Other query parameters are
// ignored.
func (s *server) offerPayload(r *http.Request) ([]byte, string, error) {
	values, given := r.URL.Query()["payload"]
	if !given {
		if !s.env.payloadGiven {
			return s.env.payload, "made up (no TEST_PAYLOAD)", nil
		}
		return s.env.payload, "from TEST_PAYLOAD", nil
	}
	payload, err := parsePayload(values[0])
	if err != nil {
		return nil, "", fmt.Errorf("payload query parameter %w", err)
	}
	return payload, "from the payload parameter", nil
}

// newSession creates a peer connection with the cell's ICE configuration and registers it.
func (s *server) newSession(payload []byte) (*serverSession, error) {
	pc, err := s.api.NewPeerConnection(peerConfig(s.env))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	sess := &serverSession{id: fmt.Sprintf("peer%d-%s", s.count, randomHex(4)), s: s, pc: pc,
		payload: payload, etag: newETag(), echoes: map[*webrtc.RTPReceiver]*echo{}}
	s.sessions[sess.id] = sess
	return sess, nil
}

func (s *server) lookup(id string) *serverSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

// forget removes a session (later requests get 404) and closes its peer connection.
func (s *server) forget(sess *serverSession, why string) {
	s.mu.Lock()
	delete(s.sessions, sess.id)
	s.mu.Unlock()
	sess.release(why)
}

// handleSessions answers DELETE /sessions (contract 1.1): between two cells on a reused
// server, every session ends. 200 only once every peer connection is closed, so that the
// cell's capture holds its sessions' last packets; 500 if closing takes too long (the
// orchestrator then starts a fresh server).
func (s *server) handleSessions(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodDelete {
		w.Header().Set("Allow", http.MethodDelete)
		writeError(w, http.StatusMethodNotAllowed, "DELETE /sessions ends every session; nothing else is served here")
		return
	}
	closed, pending := s.closeAll("DELETE /sessions", closeAllLimit)
	if pending > 0 {
		message := fmt.Sprintf("%d of %d peer connection(s) not closed within %s", pending, closed, closeAllLimit)
		s.out.logf("DELETE /sessions: %s", message)
		writeError(w, http.StatusInternalServerError, message)
		return
	}
	s.out.logf("DELETE /sessions: closed %d peer connection(s)", closed)
	writeJSON(w, http.StatusOK, map[string]int{"closed": closed})
}

// closeAll forgets every session at once (later requests to them get 404) and closes
// their peer connections in parallel, waiting at most limit. It returns how many
// sessions there were and how many of their peer connections were still closing. A
// connection that was already closed (the client left first) counts as closed:
// release waits for a close in progress elsewhere and does not repeat one.
func (s *server) closeAll(why string, limit time.Duration) (int, int) {
	s.mu.Lock()
	all := make([]*serverSession, 0, len(s.sessions))
	for id, sess := range s.sessions {
		all = append(all, sess)
		delete(s.sessions, id)
	}
	s.mu.Unlock()
	var pending atomic.Int64
	pending.Store(int64(len(all)))
	finished := make(chan struct{}, len(all))
	for _, sess := range all {
		go func(sess *serverSession) {
			sess.release(why)
			pending.Add(-1)
			finished <- struct{}{}
		}(sess)
	}
	deadline := time.After(limit)
	for range all {
		select {
		case <-finished:
		case <-deadline:
			return len(all), int(pending.Load())
		}
	}
	return len(all), 0
}

func randomHex(n int) string {
	raw := make([]byte, n)
	_, _ = rand.Read(raw)
	return hex.EncodeToString(raw)
}

// newETag is an opaque strong entity tag, quoted as HTTP wants it.
func newETag() string {
	return `"` + randomHex(8) + `"`
}

func writeJSON(w http.ResponseWriter, status int, body interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"error": message})
}

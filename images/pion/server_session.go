package main

// The session resource (contract 3.2): /session/<id> with PATCH (trickle when If-Match
// names the current ETag, ICE restart with If-Match: *), POST (renegotiation with a
// complete application/sdp offer) and DELETE.

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/pion/webrtc/v4"
)

// serverSession is one peer connection made by POST /offer and its signalling state.
type serverSession struct {
	id     string
	s      *server
	pc     *webrtc.PeerConnection
	mu     sync.Mutex // serialises signalling on this session
	etag   string
	offer  string // the remote offer in force: an ICE restart rebuilds it with new credentials
	echoMu sync.Mutex
	echoes map[*webrtc.RTPReceiver]*echo
	// hasNegotiated: datachannel-negotiated's channel exists (made once per connection)
	hasNegotiated bool
	closeOnce     sync.Once
	// payload is this session's P: the payload parameter of its offer URL, else the
	// server's TEST_PAYLOAD (contract 1.1)
	payload []byte
}

// release closes the peer connection, once. The session itself stays until DELETE or
// the end of its lifetime: a client closes its connection before it sends DELETE
// (reconnect), and that DELETE must still find the session.
func (sess *serverSession) release(why string) {
	sess.closeOnce.Do(func() {
		sess.s.out.logf("%s: closing the peer connection (%s)", sess.id, why)
		if err := sess.pc.Close(); err != nil {
			sess.s.out.logf("%s: close: %v", sess.id, err)
		}
	})
}

func (sess *serverSession) currentETag() string {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.etag
}

// answer wires the echo handlers and answers the first offer.
func (sess *serverSession) answer(offer string) (*webrtc.SessionDescription, error) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sess.wire()
	return sess.applyOffer(offer)
}

// applyOffer applies an offer, adds echo tracks for new media sections and returns the
// gathered answer. Pion should return errors, but a panic on odd SDP must not kill the
// server: it becomes an error. The caller holds sess.mu.
func (sess *serverSession) applyOffer(offer string) (answer *webrtc.SessionDescription, err error) {
	defer func() {
		if recovered := recover(); recovered != nil {
			err = fmt.Errorf("panic while answering: %v", recovered)
		}
	}()
	description := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}
	if err := sess.pc.SetRemoteDescription(description); err != nil {
		return nil, fmt.Errorf("SetRemoteDescription: %w", err)
	}
	if err := sess.prepareChannels(); err != nil {
		return nil, err
	}
	if err := sess.addEchoTracks(mediaDirections(&description)); err != nil {
		return nil, err
	}
	created, err := sess.pc.CreateAnswer(nil)
	if err != nil {
		return nil, fmt.Errorf("CreateAnswer: %w", err)
	}
	if answer, err = setLocalAndGather(sess.pc, created); err != nil {
		return nil, err
	}
	sess.offer = offer
	sess.s.out.logf("%s: answer gathered: %s", sess.id, candidateSummary(answer.SDP))
	return answer, nil
}

// handleSession routes /session/<id> requests to the session's methods.
func (s *server) handleSession(w http.ResponseWriter, r *http.Request) {
	sess := s.lookup(strings.TrimPrefix(r.URL.Path, sessionPath))
	if sess == nil {
		writeError(w, http.StatusNotFound, "no such session (unknown or deleted)")
		return
	}
	switch r.Method {
	case http.MethodPatch:
		sess.patch(w, r)
	case http.MethodPost:
		sess.renegotiate(w, r)
	case http.MethodDelete:
		s.out.logf("%s: DELETE", sess.id)
		s.forget(sess, "session deleted")
		w.WriteHeader(http.StatusOK)
	default:
		w.Header().Set("Allow", "PATCH, POST, DELETE")
		writeError(w, http.StatusMethodNotAllowed, "a session takes PATCH, POST or DELETE")
	}
}

// readBody checks the content type and reads the body; it answers the error itself.
func readBody(w http.ResponseWriter, r *http.Request, wantType string) (string, bool) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != wantType {
		writeError(w, http.StatusUnsupportedMediaType,
			fmt.Sprintf("expected Content-Type %s, got %q", wantType, r.Header.Get("Content-Type")))
		return "", false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("reading the body: %v", err))
		return "", false
	}
	return string(body), true
}

// patch handles trickle (If-Match: the current ETag) and ICE restart (If-Match: *).
func (sess *serverSession) patch(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, sdpfragType)
	if !ok {
		return
	}
	fragment, err := parseFragment(body)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	ifMatch := strings.TrimSpace(r.Header.Get("If-Match"))
	switch ifMatch {
	case "*":
		sess.restart(w, fragment)
	case sess.etag:
		sess.trickle(w, fragment)
	default:
		writeError(w, http.StatusPreconditionFailed,
			fmt.Sprintf("If-Match %q is not the session's entity tag %s", ifMatch, sess.etag))
	}
}

// trickle adds the client's candidates. All of our own candidates were in the answer
// (it is sent after gathering), so there is nothing to trickle back: 204.
func (sess *serverSession) trickle(w http.ResponseWriter, fragment sdpFragment) {
	if current := parseSDPLines(sess.offer).ufrag; fragment.ufrag != "" && fragment.ufrag != current {
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf(
			"fragment's ice-ufrag %q is not the session's %q (an ICE restart needs If-Match: *)", fragment.ufrag, current))
		return
	}
	for _, candidate := range fragment.candidates {
		mid := candidate.mid
		if err := sess.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: candidate.value, SDPMid: &mid}); err != nil {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("cannot add %q: %v", candidate.value, err))
			return
		}
	}
	sess.s.out.logf("%s: trickle: added %d candidate(s)%s", sess.id, len(fragment.candidates),
		map[bool]string{true: ", end of candidates", false: ""}[fragment.complete])
	w.WriteHeader(http.StatusNoContent)
}

// restart rebuilds the remote offer with the fragment's new credentials and candidates
// and applies it: Pion restarts ICE when a new offer changes the remote credentials
// (PeerConnection.SetRemoteDescription). The reply carries our new credentials, all our
// candidates and end-of-candidates, and the session gets a new ETag.
func (sess *serverSession) restart(w http.ResponseWriter, fragment sdpFragment) {
	if fragment.ufrag == "" || fragment.ufrag == parseSDPLines(sess.offer).ufrag {
		writeError(w, http.StatusUnprocessableEntity, "an ICE restart fragment needs new a=ice-ufrag/a=ice-pwd")
		return
	}
	offer, err := withICE(sess.offer, fragment)
	if err == nil {
		var answer *webrtc.SessionDescription
		if answer, err = sess.applyOffer(offer); err == nil {
			sess.etag = newETag()
			reply := fragmentFromSDP(answer.SDP, true)
			sess.s.out.logf("%s: ICE restart: remote ufrag %s, ours now %s, %d candidate(s)",
				sess.id, fragment.ufrag, reply.ufrag, len(reply.candidates))
			w.Header().Set("Content-Type", sdpfragType)
			w.Header().Set("ETag", sess.etag)
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, reply.String())
			return
		}
	}
	sess.s.out.logf("%s: ICE restart failed: %v", sess.id, err)
	writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("cannot restart ICE: %v", err))
}

// renegotiate applies a complete new offer (POST <session>, application/sdp) and
// answers with the complete answer and a new ETag.
func (sess *serverSession) renegotiate(w http.ResponseWriter, r *http.Request) {
	offer, ok := readBody(w, r, "application/sdp")
	if !ok {
		return
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	answer, err := sess.applyOffer(offer)
	if err != nil {
		sess.s.out.logf("%s: renegotiation failed: %v", sess.id, err)
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("cannot apply this offer: %v", err))
		return
	}
	sess.etag = newETag()
	sess.s.out.logf("%s: renegotiated (%d media sections)", sess.id, len(mediaDirections(answer)))
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("ETag", sess.etag)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, answer.SDP)
}

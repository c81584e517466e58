package main

// The client's session test cases (contract 3.2 and 8): trickle, ice-restart,
// renegotiation and reconnect.

import (
	"fmt"
	"mime"
	"net/http"
	"time"

	"github.com/pion/webrtc/v4"
)

// patch sends an sdpfrag to the session with the given If-Match.
func (c *client) patch(fragment sdpFragment, ifMatch string) (int, http.Header, string, error) {
	return c.request(http.MethodPatch, c.session, sdpfragType, fragment.String(), map[string]string{"If-Match": ifMatch})
}

// trickleTest posts the offer right after setLocalDescription (no candidates yet) and
// sends every candidate by PATCH as Pion gathers it, then end-of-candidates.
func trickleTest(c *client) (string, error) {
	w, err := c.createChannel("interop", nil)
	if err != nil {
		return "", err
	}
	candidates := make(chan *webrtc.ICECandidate, 64)
	c.pc.OnICECandidate(func(candidate *webrtc.ICECandidate) { candidates <- candidate }) // nil: gathering done
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("CreateOffer: %w", err)
	}
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return "", fmt.Errorf("SetLocalDescription: %w", err)
	}
	if err := c.offerAndApply(offer.SDP); err != nil {
		return "", err
	}
	if err := c.requireSession(); err != nil {
		return "", err
	}
	sent, requests, err := c.trickleCandidates(fragmentFromSDP(offer.SDP, false), candidates)
	if err != nil {
		return "", err
	}
	if err := c.waitConnected(); err != nil {
		return "", err
	}
	if err := c.waitOpen(w); err != nil {
		return "", err
	}
	if err := c.echoOnce(w, c.env.payload, true, "P"); err != nil {
		return "", err
	}
	return fmt.Sprintf("offer sent before gathering, %d candidate(s) trickled in %d PATCH request(s), P echoed", sent, requests), nil
}

// trickleCandidates PATCHes the gathered candidates (whatever is queued goes in one
// request) until Pion reports the end of gathering, which goes as a=end-of-candidates.
// Candidates in a 200 reply are the server's own: they are added.
func (c *client) trickleCandidates(base sdpFragment, candidates <-chan *webrtc.ICECandidate) (int, int, error) {
	sent, requests := 0, 0
	for complete := false; !complete; {
		fragment := base
		fragment.candidates = nil
		for first := true; first || len(candidates) > 0; first = false {
			var candidate *webrtc.ICECandidate
			select {
			case candidate = <-candidates:
			case <-c.ctx.Done():
				return sent, requests, c.timedOut("ICE gathering did not complete")
			}
			if candidate == nil {
				complete = true
				break
			}
			fragment.candidates = append(fragment.candidates, fragCandidate{mid: base.mid, value: candidate.ToJSON().Candidate})
		}
		fragment.complete = complete
		status, _, body, err := c.patch(fragment, c.etag)
		if err != nil {
			return sent, requests, fmt.Errorf("trickle PATCH failed: %w", err)
		}
		requests++
		sent += len(fragment.candidates)
		c.out.logf("trickle PATCH with %d candidate(s)%s: HTTP %d", len(fragment.candidates),
			map[bool]string{true: " and end-of-candidates", false: ""}[complete], status)
		switch status {
		case http.StatusNoContent:
		case http.StatusOK:
			if err := c.addRemoteCandidates(body); err != nil {
				return sent, requests, err
			}
		default:
			return sent, requests, httpError("a trickle PATCH", status, body)
		}
	}
	return sent, requests, nil
}

// addRemoteCandidates applies the candidates of a server's sdpfrag (a 200 to a PATCH).
func (c *client) addRemoteCandidates(body string) error {
	fragment, err := parseFragment(body)
	if err != nil {
		return fmt.Errorf("server's sdpfrag: %w", err)
	}
	for _, candidate := range fragment.candidates {
		mid := candidate.mid
		if err := c.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: candidate.value, SDPMid: &mid}); err != nil {
			return fmt.Errorf("cannot add the server's candidate %q: %w", candidate.value, err)
		}
	}
	c.out.logf("added %d candidate(s) the server trickled back", len(fragment.candidates))
	return nil
}

func iceRestartTest(c *client) (string, error) {
	w, err := c.openEcho("interop", nil)
	if err != nil {
		return "", err
	}
	if err := c.requireSession(); err != nil {
		return "", err
	}
	if err := c.echoOnce(w, c.env.payload, true, "P"); err != nil {
		return "", err
	}
	oldUfrag, newUfrag, err := c.restartICE()
	if err != nil {
		return "", err
	}
	if err := c.echoOnce(w, append([]byte("restart:"), c.env.payload...), true, `"restart:" + P`); err != nil {
		return "", err
	}
	return fmt.Sprintf("P echoed, ICE restarted (ufrag %s -> %s), \"restart:\" + P echoed on the same channel", oldUfrag, newUfrag), nil
}

// restartICE restarts ICE through PATCH If-Match: * and waits until ICE is connected
// again on the new credentials. It returns our old and new ufrag.
func (c *client) restartICE() (string, string, error) {
	for len(c.state.iceEvents) > 0 { // only states from here on count
		<-c.state.iceEvents
	}
	oldUfrag := parseSDPLines(c.pc.LocalDescription().SDP).ufrag
	offer, err := c.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return "", "", fmt.Errorf("CreateOffer(ICERestart): %w", err)
	}
	local, err := setLocalAndGather(c.pc, offer)
	if err != nil {
		return "", "", err
	}
	fragment := fragmentFromSDP(local.SDP, true)
	if fragment.ufrag == oldUfrag {
		return "", "", fmt.Errorf("the ICE restart offer kept the ufrag %s", oldUfrag)
	}
	status, header, body, err := c.patch(fragment, "*")
	if err != nil {
		return "", "", fmt.Errorf("ICE restart PATCH failed: %w", err)
	}
	if status != http.StatusOK {
		return "", "", httpError("the ICE restart PATCH", status, body)
	}
	reply, err := parseFragment(body)
	if err != nil {
		return "", "", fmt.Errorf("server's ICE restart sdpfrag: %w", err)
	}
	answer, err := withICE(c.pc.CurrentRemoteDescription().SDP, reply)
	if err != nil {
		return "", "", err
	}
	c.etag = header.Get("ETag")
	c.out.logf("ICE restart: our ufrag %s -> %s, server's now %s with %d candidate(s)",
		oldUfrag, fragment.ufrag, reply.ufrag, len(reply.candidates))
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return "", "", fmt.Errorf("cannot apply the restarted answer: %w", err)
	}
	return oldUfrag, fragment.ufrag, c.waitICEConnected()
}

// waitICEConnected waits for the next ICE connected (or completed) state, then for the
// peer connection to be connected.
func (c *client) waitICEConnected() error {
	for {
		select {
		case state := <-c.state.iceEvents:
			switch state {
			case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
				return c.waitState(webrtc.PeerConnectionStateConnected)
			case webrtc.ICEConnectionStateFailed, webrtc.ICEConnectionStateClosed:
				return fmt.Errorf("ICE %s after the restart", state)
			}
		case <-c.state.failed:
			return c.state.failure
		case <-c.ctx.Done():
			return c.timedOut("ICE not connected again after the restart")
		}
	}
}

// waitState polls the peer connection state (its change events may have passed).
func (c *client) waitState(want webrtc.PeerConnectionState) error {
	for c.pc.ConnectionState() != want {
		select {
		case <-time.After(20 * time.Millisecond):
		case <-c.state.failed:
			return c.state.failure
		case <-c.ctx.Done():
			return c.timedOut(fmt.Sprintf("connection not %s", want))
		}
	}
	return nil
}

func renegotiationTest(c *client) (string, error) {
	w, err := c.openEcho("interop", nil)
	if err != nil {
		return "", err
	}
	if err := c.requireSession(); err != nil {
		return "", err
	}
	if err := c.echoOnce(w, c.env.payload, true, "P"); err != nil {
		return "", err
	}
	leg, err := c.addMediaLeg(audioSpec, false)
	if err != nil {
		return "", err
	}
	c.routeTracks(leg)
	if err := c.renegotiate(); err != nil {
		return "", err
	}
	if err := c.bind(leg); err != nil {
		return "", err
	}
	started, sendErrs := c.startSending(leg)
	if err := c.awaitMedia(started, sendErrs, leg); err != nil {
		return "", err
	}
	if err := c.echoOnce(w, append([]byte("renegotiated:"), c.env.payload...), true, `"renegotiated:" + P`); err != nil {
		return "", err
	}
	return fmt.Sprintf("P echoed, audio added by renegotiation (%d packets echoed), \"renegotiated:\" + P echoed",
		leg.matching.Load()), nil
}

// renegotiate POSTs a complete new offer to the session and applies the answer.
func (c *client) renegotiate() error {
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("CreateOffer: %w", err)
	}
	local, err := setLocalAndGather(c.pc, offer)
	if err != nil {
		return err
	}
	status, header, body, err := c.request(http.MethodPost, c.session, "application/sdp", local.SDP, nil)
	if err != nil {
		return fmt.Errorf("renegotiation POST failed: %w", err)
	}
	if status != http.StatusOK {
		return httpError("the renegotiation POST", status, body)
	}
	if mediaType, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mediaType != "application/sdp" {
		return fmt.Errorf("renegotiation answer has Content-Type %q, not application/sdp", header.Get("Content-Type"))
	}
	c.etag = header.Get("ETag")
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		return fmt.Errorf("cannot apply the renegotiation answer: %w", err)
	}
	c.out.logf("renegotiated: %d media sections", len(mediaDirections(c.pc.RemoteDescription())))
	return nil
}

func reconnectTest(c *client) (string, error) {
	w, err := c.openEcho("interop", nil)
	if err != nil {
		return "", err
	}
	if err := c.echoOnce(w, c.env.payload, true, "P"); err != nil {
		return "", err
	}
	session := c.session
	closePeer(c.out, c.pc)
	deleted := "no session resource: no DELETE"
	if session != "" {
		status, _, body, err := c.request(http.MethodDelete, session, "", "", nil)
		if err != nil {
			return "", fmt.Errorf("DELETE %s failed: %w", session, err)
		}
		if status < 200 || status > 299 {
			return "", httpError("DELETE of the session", status, body)
		}
		deleted = fmt.Sprintf("session deleted (HTTP %d)", status)
	}
	c.out.logf("first peer connection closed; %s; connecting again", deleted)
	if err := c.newPeer(); err != nil {
		return "", err
	}
	if w, err = c.openEcho("interop", nil); err != nil {
		return "", fmt.Errorf("second connection: %w", err)
	}
	if err := c.echoOnce(w, append([]byte("reconnect:"), c.env.payload...), true, `"reconnect:" + P`); err != nil {
		return "", fmt.Errorf("second connection: %w", err)
	}
	return fmt.Sprintf("P echoed, connection closed, %s, \"reconnect:\" + P echoed on a new connection", deleted), nil
}

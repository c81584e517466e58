package main

// Trickle ICE SDP fragments (RFC 8840 section 9), as the session resource uses them
// (contract section 3.2): ice-ufrag/ice-pwd, then one m= line per media section with
// its a=mid and a=candidate lines, a=end-of-candidates once gathering is complete.
// Plain line handling: fragments are not complete SDP, so an SDP parser does not fit.

import (
	"errors"
	"fmt"
	"strings"
)

const sdpfragType = "application/trickle-ice-sdpfrag"

// fragCandidate is one a=candidate line's value ("candidate:1 1 udp ...") and its section.
type fragCandidate struct {
	mid   string
	value string
}

type sdpFragment struct {
	ufrag, pwd, iceOptions string
	mline, mid             string // the first media section named (the BUNDLE tag)
	candidates             []fragCandidate
	complete               bool // a=end-of-candidates was (or is to be) sent
}

// String renders the fragment with CRLF line ends. Candidates go under the first
// section: with BUNDLE that is enough (contract 3.2).
func (f sdpFragment) String() string {
	var b strings.Builder
	line := func(text string) { b.WriteString(text + "\r\n") }
	if f.ufrag != "" {
		line("a=ice-ufrag:" + f.ufrag)
		line("a=ice-pwd:" + f.pwd)
	}
	if f.iceOptions != "" {
		line("a=ice-options:" + f.iceOptions)
	}
	line(f.mline)
	line("a=mid:" + f.mid)
	for _, candidate := range f.candidates {
		line("a=" + candidate.value)
	}
	if f.complete {
		line("a=end-of-candidates")
	}
	return b.String()
}

// sdpLines splits SDP or a fragment into lines without their CR/LF.
func sdpLines(text string) []string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	out := lines[:0]
	for _, line := range lines {
		if line = strings.TrimRight(line, "\r "); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// parseSDPLines reads credentials, the first section's m= line and mid, and every
// candidate from SDP or a fragment; it serves both directions.
func parseSDPLines(text string) sdpFragment {
	var f sdpFragment
	mid := ""
	for _, line := range sdpLines(text) {
		switch {
		case strings.HasPrefix(line, "m="):
			if f.mline == "" {
				f.mline = line
			}
			mid = ""
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
			if f.mid == "" {
				f.mid = mid
			}
		case strings.HasPrefix(line, "a=ice-ufrag:") && f.ufrag == "":
			f.ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:") && f.pwd == "":
			f.pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=ice-options:") && f.iceOptions == "":
			f.iceOptions = strings.TrimPrefix(line, "a=ice-options:")
		case strings.HasPrefix(line, "a=candidate:"):
			f.candidates = append(f.candidates, fragCandidate{mid: mid, value: strings.TrimPrefix(line, "a=")})
		case line == "a=end-of-candidates":
			f.complete = true
		}
	}
	return f
}

// fragmentFromSDP builds the fragment that carries a local description's ICE state:
// its credentials, its first section, and its candidates without duplicates (Pion may
// repeat them in every bundled section).
func fragmentFromSDP(sdp string, complete bool) sdpFragment {
	f := parseSDPLines(sdp)
	seen := map[string]bool{}
	unique := f.candidates[:0]
	for _, candidate := range f.candidates {
		if !seen[candidate.value] {
			seen[candidate.value] = true
			unique = append(unique, fragCandidate{mid: f.mid, value: candidate.value})
		}
	}
	f.candidates = unique
	f.complete = complete
	return f
}

// parseFragment reads a received sdpfrag; it needs at least credentials or a candidate.
func parseFragment(body string) (sdpFragment, error) {
	f := parseSDPLines(body)
	if (f.ufrag == "") != (f.pwd == "") {
		return f, errors.New("fragment has only one of a=ice-ufrag and a=ice-pwd")
	}
	if f.ufrag == "" && len(f.candidates) == 0 && !f.complete {
		return f, errors.New("fragment has no ICE credentials, candidates or end-of-candidates")
	}
	return f, nil
}

// withICE returns the description with its ICE credentials and candidates replaced by
// the fragment's: every a=ice-ufrag/a=ice-pwd line gets the new value, the old
// candidates go, the fragment's candidates (and end-of-candidates) go into the first
// media section. This is how both sides rebuild a description after an ICE restart.
func withICE(sdp string, f sdpFragment) (string, error) {
	if f.ufrag == "" {
		return "", errors.New("ICE restart fragment without a=ice-ufrag/a=ice-pwd")
	}
	var out []string
	sections := 0
	flush := func() { // append the fragment's candidates at the end of the first section
		if sections == 1 {
			for _, candidate := range f.candidates {
				out = append(out, "a="+candidate.value)
			}
			if f.complete {
				out = append(out, "a=end-of-candidates")
			}
		}
	}
	for _, line := range sdpLines(sdp) {
		switch {
		case strings.HasPrefix(line, "m="):
			flush()
			sections++
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			line = "a=ice-ufrag:" + f.ufrag
		case strings.HasPrefix(line, "a=ice-pwd:"):
			line = "a=ice-pwd:" + f.pwd
		case strings.HasPrefix(line, "a=candidate:"), line == "a=end-of-candidates":
			continue
		}
		out = append(out, line)
	}
	flush()
	if sections == 0 {
		return "", fmt.Errorf("description has no media section")
	}
	return strings.Join(out, "\r\n") + "\r\n", nil
}

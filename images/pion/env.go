package main

// The cell's environment (contract section 2): test case, payload, ICE servers and
// policy, the TURN server's CA, media duration and echo threshold.

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

const (
	defaultTimeoutS   = 25.0
	defaultMinEchoes  = 100
	systemCABundle    = "/etc/ssl/certs/ca-certificates.crt"
	iceCABundle       = "/tmp/pion-peer-ice-ca.pem"
	payloadMinLength  = 600
	payloadMaxLength  = 1000
	payloadFirstASCII = 0x21 // '!'
	payloadLastASCII  = 0x7e // '~'
)

// peerEnv is what the orchestrator told this peer.
type peerEnv struct {
	test           string
	payload        []byte // P: TEST_PAYLOAD decoded, or made up by the same rule
	payloadGiven   bool
	iceServers     []webrtc.ICEServer
	policy         webrtc.ICETransportPolicy
	minEchoes      int
	mediaDuration  time.Duration
	timeoutSeconds float64
}

// loadEnv reads and checks the environment; a malformed value is an error, never a
// silent default, because it would make the cell test something else.
func loadEnv() (*peerEnv, error) {
	env := &peerEnv{test: os.Getenv("TEST_CASE"), minEchoes: defaultMinEchoes, timeoutSeconds: defaultTimeoutS}
	if env.test == "" {
		env.test = "datachannel"
	}
	var err error
	if env.payload, env.payloadGiven, err = testPayload(os.Getenv("TEST_PAYLOAD")); err != nil {
		return nil, err
	}
	if env.iceServers, err = parseICEServers(os.Getenv("ICE_SERVERS")); err != nil {
		return nil, err
	}
	if env.policy, err = parsePolicy(os.Getenv("ICE_TRANSPORT_POLICY")); err != nil {
		return nil, err
	}
	if text := os.Getenv("MIN_ECHOES"); text != "" {
		if env.minEchoes, err = strconv.Atoi(text); err != nil || env.minEchoes < 0 || env.minEchoes > 100 {
			return nil, fmt.Errorf("MIN_ECHOES=%q is not a number from 0 to 100", text)
		}
	}
	if text := os.Getenv("MEDIA_DURATION"); text != "" {
		seconds, err := strconv.ParseFloat(text, 64)
		if err != nil || seconds < 0 {
			return nil, fmt.Errorf("MEDIA_DURATION=%q is not a number of seconds", text)
		}
		env.mediaDuration = time.Duration(seconds * float64(time.Second))
	}
	if seconds, err := strconv.ParseFloat(os.Getenv("TEST_TIMEOUT"), 64); err == nil && seconds > 0 {
		env.timeoutSeconds = seconds
	}
	return env, nil
}

// testPayload decodes TEST_PAYLOAD (section 2.1); without it, P is made up by the same rule.
func testPayload(text string) ([]byte, bool, error) {
	if text == "" {
		payload, err := makePayload()
		return payload, false, err
	}
	payload, err := parsePayload(text)
	if err != nil {
		return nil, false, fmt.Errorf("TEST_PAYLOAD %w", err)
	}
	return payload, true, nil
}

// parsePayload decodes a P given as hex and checks its bytes (section 2.1). It serves
// both TEST_PAYLOAD and the payload parameter of POST /offer (section 1.1), so that a
// reused server accepts exactly what a fresh one would; the caller names the source.
func parsePayload(text string) ([]byte, error) {
	payload, err := hex.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("is not hex: %w", err)
	}
	for _, b := range payload {
		if b < payloadFirstASCII || b > payloadLastASCII {
			return nil, fmt.Errorf("has byte 0x%02x outside '!'..'~'", b)
		}
	}
	if len(payload) == 0 {
		return nil, errors.New("is empty")
	}
	return payload, nil
}

// makePayload returns 600 to 1000 random printable ASCII bytes ('!' to '~').
func makePayload() ([]byte, error) {
	length, err := rand.Int(rand.Reader, big.NewInt(payloadMaxLength-payloadMinLength+1))
	if err != nil {
		return nil, err
	}
	payload := make([]byte, payloadMinLength+int(length.Int64()))
	span := big.NewInt(payloadLastASCII - payloadFirstASCII + 1)
	for i := range payload {
		n, err := rand.Int(rand.Reader, span)
		if err != nil {
			return nil, err
		}
		payload[i] = byte(payloadFirstASCII + n.Int64())
	}
	return payload, nil
}

// repeatPayload is the contract's repeat(P, n): P repeated and cut to exactly n bytes.
func repeatPayload(payload []byte, n int) []byte {
	out := make([]byte, 0, n+len(payload))
	for len(out) < n {
		out = append(out, payload...)
	}
	return out[:n]
}

// iceServerJSON is one RTCIceServer of ICE_SERVERS; urls may be a string or a list.
type iceServerJSON struct {
	URLs       json.RawMessage `json:"urls"`
	Username   string          `json:"username"`
	Credential string          `json:"credential"`
}

// parseICEServers turns ICE_SERVERS into Pion's servers: exactly these, no default.
func parseICEServers(text string) ([]webrtc.ICEServer, error) {
	servers := []webrtc.ICEServer{}
	if strings.TrimSpace(text) == "" {
		return servers, nil
	}
	var raw []iceServerJSON
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, fmt.Errorf("ICE_SERVERS is not a JSON array of RTCIceServer: %w", err)
	}
	for i, entry := range raw {
		var urls []string
		if err := json.Unmarshal(entry.URLs, &urls); err != nil {
			var single string
			if err := json.Unmarshal(entry.URLs, &single); err != nil {
				return nil, fmt.Errorf("ICE_SERVERS[%d].urls is neither a string nor a list of strings", i)
			}
			urls = []string{single}
		}
		server := webrtc.ICEServer{URLs: urls, Username: entry.Username}
		if entry.Credential != "" {
			server.Credential = entry.Credential
			server.CredentialType = webrtc.ICECredentialTypePassword
		}
		servers = append(servers, server)
	}
	return servers, nil
}

func parsePolicy(text string) (webrtc.ICETransportPolicy, error) {
	switch text {
	case "", "all":
		return webrtc.ICETransportPolicyAll, nil
	case "relay":
		return webrtc.ICETransportPolicyRelay, nil
	}
	return webrtc.ICETransportPolicyAll, fmt.Errorf("ICE_TRANSPORT_POLICY=%q: expected all or relay", text)
}

// describeICEServers names the servers for the log (usernames, never credentials).
func describeICEServers(servers []webrtc.ICEServer) string {
	if len(servers) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(servers))
	for _, server := range servers {
		part := strings.Join(server.URLs, ",")
		if server.Username != "" {
			part += " (user " + server.Username + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}

// trustICECA makes ICE_CA_PEM a trusted root for turns: connections. Pion ICE dials
// TURN over TLS with a tls.Config that sets only ServerName (ice/v4 gather.go,
// gatherCandidatesRelay), so the certificate is checked against Go's system roots. On
// Linux Go reads those from the file named by SSL_CERT_FILE, once, on first use: this
// writes the system bundle plus the CA to /tmp and points SSL_CERT_FILE at it before
// any TLS happens. Returns what it did, for the log.
func trustICECA(pem string) (string, error) {
	if strings.TrimSpace(pem) == "" {
		return "", nil
	}
	if !x509.NewCertPool().AppendCertsFromPEM([]byte(pem)) {
		return "", errors.New("ICE_CA_PEM holds no PEM certificate")
	}
	bundle := os.Getenv("SSL_CERT_FILE")
	if bundle == "" {
		bundle = systemCABundle
	}
	system, err := os.ReadFile(bundle)
	if err != nil {
		system = nil // no system bundle: the TURN CA alone is enough for turns:
	}
	combined := append(append(system, '\n'), []byte(pem)...)
	if err := os.WriteFile(iceCABundle, combined, 0o644); err != nil {
		return "", fmt.Errorf("writing %s: %w", iceCABundle, err)
	}
	if err := os.Setenv("SSL_CERT_FILE", iceCABundle); err != nil {
		return "", err
	}
	return fmt.Sprintf("ICE_CA_PEM trusted for turns: (SSL_CERT_FILE=%s)", iceCABundle), nil
}

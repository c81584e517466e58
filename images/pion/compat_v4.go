//go:build !pionv3

package main

// What differs between Pion v4 and v3: this file is the Pion v4 side (default build).

import (
	"io"

	"github.com/pion/webrtc/v4"
)

// keyLogSupported says whether this Pion can export DTLS secrets (KEYLOG: lines).
const keyLogSupported = true

// setKeyLogWriter hands the DTLS key log writer to Pion (SettingEngine.SetDTLSKeyLogWriter,
// passed through to pion/dtls Config.KeyLogWriter for every DTLS session).
func setKeyLogWriter(settings *webrtc.SettingEngine, writer io.Writer) {
	settings.SetDTLSKeyLogWriter(writer)
}

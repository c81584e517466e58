//go:build pionv3

package main

// What differs between Pion v4 and v3: this file is the Pion v3 side (build tag pionv3;
// build.sh also rewrites the import path github.com/pion/webrtc/v4 to /v3).

import (
	"io"

	"github.com/pion/webrtc/v4"
)

// keyLogSupported: Pion 3.1's SettingEngine has no way to reach pion/dtls's
// Config.KeyLogWriter (webrtc/v3 dtlstransport.go builds the dtls.Config itself), so
// this build prints no KEYLOG: lines.
const keyLogSupported = false

func setKeyLogWriter(*webrtc.SettingEngine, io.Writer) {}

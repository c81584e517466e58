"""webrtc-interop: runs WebRTC implementations against each other in Docker."""

__version__ = "0.1.0"

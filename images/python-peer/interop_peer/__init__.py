"""Shared code of the Python peers (aiortc, GStreamer): the peer contract in one place.

- contract: exit codes, the cell's environment (`Env`), the output lines
- messages: each test case's messages, derived from the payload P
- sdp: max-message-size, negotiated codec, sdpfrag build/parse, ICE credential swap
- signalling: the client's POST /offer and session requests
- server: the server's POST /offer and session resource (aiohttp)
- peer, channels: what a stack implements (`Peer`) and wraps its channels in (`ChannelPipe`)
- client, behaviour, media: the test logic of each role
- keylog: `KEYLOG:` lines from an SSLKEYLOGFILE
"""

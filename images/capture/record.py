"""Record one bridge's packets into a pcap of bounded size (the packet recorder's entrypoint).

usage: record.py INTERFACE OUT FULL_BYTES HEADER_BYTES LIMIT_BYTES

tcpdump writes the stream; this keeps whole packets until FULL_BYTES of the file, then
only the first HEADER_BYTES of each packet (enough for IP, UDP, STUN, DTLS and RTP
headers, so sizes and directions stay provable), and stops recording at LIMIT_BYTES.
SIGINT ends the recording cleanly; OUT.json then says what was cut. (The files go to
the container's own layer, not a tmpfs: Docker copies files out of a stopped container's
layer, never out of a tmpfs. Their size is bounded here, by LIMIT_BYTES.)
"""

import json
import os
import signal
import struct
import subprocess
import sys

PCAP_HEADER, RECORD_HEADER = 24, 16


def read_exactly(stream, size):
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def main():
    interface, out = sys.argv[1], sys.argv[2]
    full, headers, limit = (int(v) for v in sys.argv[3:6])
    tcpdump = subprocess.Popen(
        ["tcpdump", "-i", interface, "-n", "-U", "--immediate-mode", "-s", "0",
         "-Z", "root", "-w", "-"],
        stdout=subprocess.PIPE,
    )
    signal.signal(signal.SIGINT, lambda *_: tcpdump.send_signal(signal.SIGINT))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    written, cut_at, stopped = 0, None, False
    with open(out, "wb") as pcap:
        header = read_exactly(tcpdump.stdout, PCAP_HEADER)
        if header is not None:
            magic = struct.unpack("<I", header[:4])[0]
            order = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
            pcap.write(header)
            written = PCAP_HEADER
            while True:
                record = read_exactly(tcpdump.stdout, RECORD_HEADER)
                if record is None:
                    break
                seconds, fraction, kept, original = struct.unpack(order + "IIII", record)
                data = read_exactly(tcpdump.stdout, kept)
                if data is None:
                    break
                if stopped:
                    continue
                if written >= full:
                    cut_at = full if cut_at is None else cut_at
                    data = data[:headers]
                if written + RECORD_HEADER + len(data) > limit:
                    stopped = True
                    continue
                pcap.write(struct.pack(order + "IIII", seconds, fraction, len(data), original))
                pcap.write(data)
                pcap.flush()
                written += RECORD_HEADER + len(data)
    tcpdump.wait()
    with open(out + ".part", "w") as status:
        json.dump({"bytes": written, "full_bytes": cut_at, "stopped_at_limit": stopped}, status)
    os.rename(out + ".part", out + ".json")


if __name__ == "__main__":
    main()

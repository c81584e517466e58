"""The packet recorder (the capture image's entrypoint): one per run, recording each
cell's bridge while the cell runs. Bounded files: whole packets up to FULL bytes, then
only the first HEADERS bytes of each (enough for IP, UDP, STUN, DTLS and RTP headers,
so sizes and directions stay provable), nothing after LIMIT bytes.

usage: record.py serve CONTROL UID GID

The orchestrator steers it through files in CONTROL (a folder of the run, mounted here):
  <bridge>.start      {"full": N, "headers": N, "limit": N}: start recording <bridge>
  <bridge>.listening  written back once tcpdump listens
  <bridge>.stop       stop it; the pcap is <bridge>.pcap, and
  <bridge>.json       written back last: {"bytes", "full_bytes", "stopped_at_limit",
                      "dropped", "snapped"} (packets tcpdump says the kernel dropped;
                      packets longer than SNAPLEN, kept cut)
Files are handed to UID:GID, the orchestrator's own user.
"""

import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time

PCAP_HEADER, RECORD_HEADER = 24, 16
POLL_S = 0.01
CHUNK = 1 << 18
# The kernel's ring (TPACKET_V2 in immediate mode) has one slot per packet, sized by the
# snapshot length: with tcpdump's default (262144, capped at 64 KiB) 32 MiB held only 512
# packets, and a burst while the recorder waited for CPU overflowed it. Packets on the
# bridges are at most a few KiB (UDP within the 1500-byte MTU; the largest TCP segment
# seen in 3,000 captures, signalling or TURN over TCP, was 6,849 bytes), so 16 KiB slots
# give 4,096 packets of headroom in 64 MiB; a longer packet is kept cut and counted.
SNAPLEN = 16384
KERNEL_BUFFER_KIB = 65536


class Budget:
    """Copies pcap records within the size budget; keeps state across chunks."""

    def __init__(self, full, headers, limit):
        self.full, self.headers, self.limit = full, headers, limit
        self.written, self.cut_at, self.stopped = 0, None, False
        self.snapped = 0  # packets the snapshot length cut
        self.order = None

    def feed(self, data, out):
        """Write every whole record of `data`; return the incomplete rest."""
        offset = 0
        if self.order is None:
            if len(data) < PCAP_HEADER:
                return data
            magic = struct.unpack("<I", data[:4])[0]
            self.order = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
            out.write(data[:PCAP_HEADER])
            self.written, offset = PCAP_HEADER, PCAP_HEADER
        header = struct.Struct(self.order + "IIII")
        while offset + RECORD_HEADER <= len(data):
            seconds, fraction, kept, original = header.unpack_from(data, offset)
            end = offset + RECORD_HEADER + kept
            if end > len(data):
                break
            self._one(out, header, seconds, fraction, original, data[offset + RECORD_HEADER : end])
            offset = end
        return data[offset:]

    def _one(self, out, header, seconds, fraction, original, packet):
        if self.stopped:
            return
        self.snapped += len(packet) < original
        if self.written >= self.full:
            self.cut_at = self.full if self.cut_at is None else self.cut_at
            packet = packet[: self.headers]
        if self.written + RECORD_HEADER + len(packet) > self.limit:
            self.stopped = True
            return
        out.write(header.pack(seconds, fraction, len(packet), original))
        out.write(packet)
        self.written += RECORD_HEADER + len(packet)


class Recording:
    """One bridge: tcpdump's stream through the size budget into a pcap file."""

    def __init__(self, control, bridge, budget, owner):
        self.base = os.path.join(control, bridge)
        self.budget = budget
        self.owner = owner
        self.tcpdump = subprocess.Popen(
            [
                "tcpdump",
                "-i",
                bridge,
                "-n",
                "--immediate-mode",
                "-s",
                str(SNAPLEN),
                "-B",
                str(KERNEL_BUFFER_KIB),
                "-Z",
                "root",
                "-w",
                "-",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.dropped = 0
        self.messages = threading.Thread(target=self._messages, daemon=True)
        self.messages.start()
        self.thread = threading.Thread(target=self._record, daemon=True)
        self.thread.start()

    def _messages(self):
        """tcpdump's stderr: when it listens, and at the end what the kernel dropped."""
        for line in self.tcpdump.stderr:
            if b"listening on" in line:
                self._write(".listening", "")
            elif line.rstrip().endswith(b"packets dropped by kernel"):
                self.dropped = int(line.split()[0])

    def stop(self):
        self.tcpdump.send_signal(signal.SIGINT)

    def _record(self):
        budget = Budget(self.budget["full"], self.budget["headers"], self.budget["limit"])
        with open(self.base + ".pcap", "wb") as pcap:
            os.chown(self.base + ".pcap", *self.owner)
            buffer = b""
            while chunk := self.tcpdump.stdout.read1(CHUNK):
                buffer = budget.feed(buffer + chunk, pcap)
        self.tcpdump.wait()
        self.messages.join(timeout=5)
        status = {
            "bytes": budget.written,
            "full_bytes": budget.cut_at,
            "stopped_at_limit": budget.stopped,
            "dropped": self.dropped,
            "snapped": budget.snapped,
        }
        self._write(".json", json.dumps(status))

    def _write(self, suffix, text):
        """Write a control file so that the orchestrator never sees it half-written."""
        partial = self.base + suffix + ".part"
        with open(partial, "w") as handle:
            handle.write(text)
        os.chown(partial, *self.owner)
        os.rename(partial, self.base + suffix)


def serve(control, owner):
    recordings = {}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("recorder ready", flush=True)
    while True:
        for name in os.listdir(control):
            bridge, _, kind = name.rpartition(".")
            path = os.path.join(control, name)
            if kind == "start" and bridge not in recordings:
                with open(path) as handle:
                    budget = json.load(handle)
                os.unlink(path)
                recordings[bridge] = Recording(control, bridge, budget, owner)
            elif kind == "stop" and bridge in recordings:
                os.unlink(path)
                recordings.pop(bridge).stop()
        time.sleep(POLL_S)


def main():
    if sys.argv[1] != "serve":
        raise SystemExit("usage: record.py serve CONTROL UID GID")
    serve(sys.argv[2], (int(sys.argv[3]), int(sys.argv[4])))


if __name__ == "__main__":
    main()

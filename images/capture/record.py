"""The packet recorder (the capture image's entrypoint): one per run, recording each
cell's bridge while the cell runs. Bounded files: whole packets up to FULL bytes, then
only the first HEADERS bytes of each (enough for IP, UDP, STUN, DTLS and RTP headers,
so sizes and directions stay provable), nothing after LIMIT bytes.

usage: record.py serve CONTROL UID GID

The orchestrator steers it through files in CONTROL (a folder of the run, mounted here):
  <bridge>.start      {"full": N, "headers": N, "limit": N}: start recording <bridge>
  <bridge>.listening  written back once tcpdump listens
  <bridge>.stop       stop it; the pcap is <bridge>.pcap, and
  <bridge>.json       written back last: {"bytes", "full_bytes", "stopped_at_limit"}
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


def read_exactly(stream, size):
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class Recording:
    """One bridge: tcpdump's stream through the size budget into a pcap file."""

    def __init__(self, control, bridge, budget, owner):
        self.base = os.path.join(control, bridge)
        self.budget = budget
        self.owner = owner
        self.tcpdump = subprocess.Popen(
            ["tcpdump", "-i", bridge, "-n", "-U", "--immediate-mode", "-s", "0",
             "-Z", "root", "-w", "-"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        threading.Thread(target=self._listening, daemon=True).start()
        self.thread = threading.Thread(target=self._record, daemon=True)
        self.thread.start()

    def _listening(self):
        for line in self.tcpdump.stderr:
            if b"listening on" in line:
                self._write(".listening", "")
                return

    def stop(self):
        self.tcpdump.send_signal(signal.SIGINT)

    def _record(self):
        full, headers, limit = self.budget["full"], self.budget["headers"], self.budget["limit"]
        written, cut_at, stopped = 0, None, False
        with open(self.base + ".pcap", "wb") as pcap:
            os.chown(self.base + ".pcap", *self.owner)
            header = read_exactly(self.tcpdump.stdout, PCAP_HEADER)
            if header is not None:
                magic = struct.unpack("<I", header[:4])[0]
                order = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
                pcap.write(header)
                written = PCAP_HEADER
                while True:
                    record = read_exactly(self.tcpdump.stdout, RECORD_HEADER)
                    if record is None:
                        break
                    seconds, fraction, kept, original = struct.unpack(order + "IIII", record)
                    data = read_exactly(self.tcpdump.stdout, kept)
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
        self.tcpdump.wait()
        status = {"bytes": written, "full_bytes": cut_at, "stopped_at_limit": stopped}
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

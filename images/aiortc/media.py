"""Generated media for the audio and video test cases: no devices, no files."""

import asyncio
import fractions
import math
import time
from array import array

from aiortc.mediastreams import AUDIO_PTIME, MediaStreamError, MediaStreamTrack, VideoStreamTrack
from av import AudioFrame, VideoFrame

SAMPLE_RATE = 48000
TONE_HZ = 440
WIDTH, HEIGHT = 320, 240


class ToneTrack(MediaStreamTrack):
    """A 440 Hz sine, in 20 ms frames, paced in real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._samples = int(AUDIO_PTIME * SAMPLE_RATE)
        period = SAMPLE_RATE / TONE_HZ
        # 20 ms of 440 Hz is 8.8 periods; a whole second repeats exactly, so cycle through it.
        self._pcm = array(
            "h", (int(8000 * math.sin(2 * math.pi * i / period)) for i in range(SAMPLE_RATE))
        )
        self._timestamp = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._timestamp += self._samples
            await asyncio.sleep(self._start + self._timestamp / SAMPLE_RATE - time.time())
        offset = self._timestamp % SAMPLE_RATE
        frame = AudioFrame(format="s16", layout="mono", samples=self._samples)
        frame.planes[0].update(self._pcm[offset : offset + self._samples].tobytes())
        frame.pts = self._timestamp
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


class MovingPatternTrack(VideoStreamTrack):
    """A gradient that scrolls one step per frame, so every frame differs."""

    def __init__(self) -> None:
        super().__init__()
        self._frame_index = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=WIDTH, height=HEIGHT, format="yuv420p")
        shift = (self._frame_index * 4) % 256
        for index, plane in enumerate(frame.planes):
            rows = plane.buffer_size // plane.line_size
            if index == 0:
                row = bytes((x + shift) & 0xFF for x in range(plane.line_size))
            else:
                row = bytes([128 if index == 1 else (shift * 2) & 0xFF]) * plane.line_size
            plane.update(row * rows)
        frame.pts = pts
        frame.time_base = time_base
        self._frame_index += 1
        return frame

package main

// Media sources for the audio and video tests: Pion cannot encode, so the image carries
// files made at build time (/media/audio.ogg: Opus in 20 ms pages; /media/video.ivf: VP8
// at 15 fps) and the client sends them in real time, looping at the end of the file.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

const (
	audioFile     = "/media/audio.ogg"
	videoFile     = "/media/video.ivf"
	opusFrameTime = 20 * time.Millisecond // the file is made with -frame_duration 20 -page_duration 20000
)

// mediaFile yields one frame at a time and its duration; io.EOF at the end of the file.
type mediaFile interface {
	next() ([]byte, time.Duration, error)
	io.Closer
}

// sendLooped paces the frames of a file in real time into the track until ctx ends.
func sendLooped(ctx context.Context, track *webrtc.TrackLocalStaticSample, open func() (mediaFile, error)) error {
	file, err := open()
	if err != nil {
		return err
	}
	defer func() {
		if file != nil {
			file.Close()
		}
	}()
	next := time.Now()
	for {
		frame, duration, err := file.next()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			file.Close()
			if file, err = open(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := track.WriteSample(media.Sample{Data: frame, Duration: duration}); err != nil &&
			!errors.Is(err, io.ErrClosedPipe) {
			return fmt.Errorf("WriteSample: %w", err)
		}
		next = next.Add(duration)
		if wait := time.Until(next); wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		} else if ctx.Err() != nil {
			return nil
		}
	}
}

type oggFile struct {
	file   *os.File
	reader *oggreader.OggReader
}

func openOgg() (mediaFile, error) {
	file, err := os.Open(audioFile)
	if err != nil {
		return nil, err
	}
	reader, _, err := oggreader.NewWith(file) // reads the OpusHead page
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("%s: %w", audioFile, err)
	}
	return &oggFile{file: file, reader: reader}, nil
}

// next returns the next Opus packet: one packet per page in our file, OpusTags skipped.
func (o *oggFile) next() ([]byte, time.Duration, error) {
	for {
		page, _, err := o.reader.ParseNextPage()
		if err != nil {
			return nil, 0, err
		}
		if bytes.HasPrefix(page, []byte("OpusTags")) || bytes.HasPrefix(page, []byte("OpusHead")) || len(page) == 0 {
			continue
		}
		return page, opusFrameTime, nil
	}
}

func (o *oggFile) Close() error { return o.file.Close() }

type ivfFile struct {
	file      *os.File
	reader    *ivfreader.IVFReader
	frameTime time.Duration
}

func openIVF() (mediaFile, error) {
	file, err := os.Open(videoFile)
	if err != nil {
		return nil, err
	}
	reader, header, err := ivfreader.NewWith(file)
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("%s: %w", videoFile, err)
	}
	// One frame per time base unit (ffmpeg writes 1/15 for -r 15); fall back to 15 fps.
	frameTime := time.Second / 15
	if header.TimebaseDenominator > 0 && header.TimebaseNumerator > 0 {
		candidate := time.Duration(float64(time.Second) * float64(header.TimebaseNumerator) / float64(header.TimebaseDenominator))
		if candidate >= 10*time.Millisecond && candidate <= time.Second {
			frameTime = candidate
		}
	}
	return &ivfFile{file: file, reader: reader, frameTime: frameTime}, nil
}

func (i *ivfFile) next() ([]byte, time.Duration, error) {
	frame, _, err := i.reader.ParseNextFrame()
	if err != nil {
		return nil, 0, err
	}
	return frame, i.frameTime, nil
}

func (i *ivfFile) Close() error { return i.file.Close() }

func sendOgg(ctx context.Context, track *webrtc.TrackLocalStaticSample) error {
	return sendLooped(ctx, track, openOgg)
}

func sendIVF(ctx context.Context, track *webrtc.TrackLocalStaticSample) error {
	return sendLooped(ctx, track, openIVF)
}

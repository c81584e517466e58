using System.Diagnostics;
using SIPSorcery.Media;
using SIPSorcery.Net;
using SIPSorceryMedia.Abstractions;

namespace InteropPeer.Client;

/// <summary>
/// One media kind of a client test: the sendrecv track it offers, the frames it sends, and
/// what came back on the echoed stream (RTP packets of the negotiated payload type; for
/// audio also the frames SIPSorcery's Opus decoder could decode).
/// </summary>
internal sealed class MediaLeg
{
    public const int MinPackets = 50;
    public const int MinAudioFrames = 25;

    private readonly AudioEncoder? decoder;
    private int packets;
    private int frames;
    private long lastArrival;

    private MediaLeg(SDPMediaTypesEnum kind, MediaStreamTrack track, AudioEncoder? decoder)
    {
        Kind = kind;
        Track = track;
        this.decoder = decoder;
    }

    public SDPMediaTypesEnum Kind { get; }
    public MediaStreamTrack Track { get; }
    public string KindName => Kind == SDPMediaTypesEnum.audio ? "audio" : "video";
    public int PayloadType { get; private set; } = -1;
    public string Codec { get; private set; } = "none";
    public int Packets => Volatile.Read(ref packets);
    public int Frames => Volatile.Read(ref frames);

    public static MediaLeg Audio() => new(SDPMediaTypesEnum.audio,
        new MediaStreamTrack(PeerFactory.Opus, MediaStreamStatusEnum.SendRecv),
        new AudioEncoder(includeLinearFormats: false, includeOpus: true));

    public static MediaLeg Video() => new(SDPMediaTypesEnum.video,
        new MediaStreamTrack(PeerFactory.Vp8, MediaStreamStatusEnum.SendRecv), null);

    /// <summary>Enough came back: 50 packets, and for audio 25 decoded frames (contract 8).</summary>
    public bool Enough => Packets >= MinPackets && (decoder is null || Frames >= MinAudioFrames);

    /// <summary>Seconds since the last echoed packet arrived (infinite before the first).</summary>
    public double SecondsSinceLastEcho =>
        Volatile.Read(ref lastArrival) == 0 ? double.PositiveInfinity : Stopwatch.GetElapsedTime(Volatile.Read(ref lastArrival)).TotalSeconds;

    /// <summary>Reads what the answer negotiated for this kind; a missing kind fails the test.</summary>
    public void Bind(string answerSdp)
    {
        var negotiated = SdpText.Negotiated(answerSdp, KindName)
            ?? throw new TestFailure($"the answer has no accepted m={KindName} section");
        (PayloadType, Codec) = negotiated;
    }

    /// <summary>Counts an RTP packet of this kind with the negotiated payload type.</summary>
    public void OnRtp(SDPMediaTypesEnum media, RTPPacket packet)
    {
        if (media != Kind || packet.Header.PayloadType != PayloadType)
        {
            return;
        }
        Interlocked.Increment(ref packets);
        Volatile.Write(ref lastArrival, Stopwatch.GetTimestamp());
        if (decoder is not null && TryDecode(packet.GetPayloadBytes()))
        {
            Interlocked.Increment(ref frames);
        }
    }

    public string NegotiatedLine(bool withKind) =>
        $"NEGOTIATED: {(withKind ? $"kind={KindName} " : "")}codec={Codec} payload_type={PayloadType}";

    public string ReceivedLine(bool withKind) =>
        $"RECEIVED: {(withKind ? $"kind={KindName} " : "")}packets={Packets} frames={(decoder is null ? "-" : Frames.ToString())}";

    public string Shortfall() => decoder is null
        ? $"{KindName}: {Packets} echoed packets (need {MinPackets})"
        : $"{KindName}: {Packets} echoed packets (need {MinPackets}), {Frames} decoded frames (need {MinAudioFrames})";

    /// <summary>
    /// Sends the build-time media file in real time, looping, until cancelled: 20 ms Opus
    /// packets through SendAudio, VP8 frames at the file's rate through SendVideo (which
    /// packetises them, RFC 7741).
    /// </summary>
    public Task StartSending(RTCPeerConnection pc, CancellationToken token)
    {
        if (Kind == SDPMediaTypesEnum.audio)
        {
            List<byte[]> opus = MediaFiles.ReadOggOpus(MediaFiles.AudioPath);
            return Paced(opus, TimeSpan.FromMilliseconds(20), frame => pc.SendAudio(960, frame), token);
        }
        var (vp8, fps) = MediaFiles.ReadIvf(MediaFiles.VideoPath);
        uint duration = (uint)Math.Round(90000 / fps);
        return Paced(vp8, TimeSpan.FromSeconds(1 / fps), frame => pc.SendVideo(duration, frame), token);
    }

    private bool TryDecode(byte[] payload)
    {
        try
        {
            return decoder!.DecodeAudio(payload, PeerFactory.Opus).Length > 0;
        }
        catch (Exception)
        {
            return false;
        }
    }

    private static async Task Paced(List<byte[]> frames, TimeSpan interval, Action<byte[]> send, CancellationToken token)
    {
        if (frames.Count == 0)
        {
            throw new TestFailure("the media file has no frames");
        }
        var clock = Stopwatch.StartNew();
        try
        {
            for (long i = 0; !token.IsCancellationRequested; i++)
            {
                send(frames[(int)(i % frames.Count)]);
                TimeSpan due = interval * (i + 1) - clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, token);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Sending stops with the test.
        }
    }
}

using Microsoft.Extensions.Logging;
using SIPSorcery.Media;
using SIPSorcery.Net;

namespace InteropPeer;

/// <summary>
/// Runs at image build time (Dockerfile): proves that the self-contained runtime starts on the
/// project base and that SIPSorcery can create a peer connection, gather host candidates and
/// write an offer with audio, video and a data channel, and that the media files parse and
/// decode. A failure fails the build with the reason, instead of every cell later.
/// </summary>
internal static class SelfTest
{
    public static async Task<int> RunAsync()
    {
        using ILoggerFactory logs = Logs.Create();
        ILogger log = logs.CreateLogger("selftest");
        try
        {
            string summary = await OfferAsync(log) + "; " + MediaSummary();
            Console.WriteLine($"selftest: ok: {summary}");
            return 0;
        }
        catch (Exception e)
        {
            Console.WriteLine($"selftest: FAILED: {e}");
            return 1;
        }
    }

    private static async Task<string> OfferAsync(ILogger log)
    {
        CellEnv env = CellEnv.Load(null);
        RTCPeerConnection pc = PeerFactory.Create(env, log);
        try
        {
            pc.addTrack(new MediaStreamTrack(PeerFactory.Opus, MediaStreamStatusEnum.SendRecv));
            pc.addTrack(new MediaStreamTrack(PeerFactory.Vp8, MediaStreamStatusEnum.SendRecv));
            await pc.createDataChannel("selftest");
            var options = new RTCOfferOptions { X_WaitForIceGatheringToComplete = true };
            string sdp = (await Task.Run(() => pc.createOffer(options)).WaitAsync(TimeSpan.FromSeconds(30))).sdp;
            string[] kinds = SdpText.Parse(sdp).Media.Select(m => m.Kind).ToArray();
            int candidates = SdpText.Lines(sdp).Count(l => l.StartsWith("a=candidate:", StringComparison.Ordinal));
            // Candidates are not required: a build without a network has only loopback, which ICE skips.
            if (!new[] { "application", "audio", "video" }.SequenceEqual(kinds.OrderBy(k => k, StringComparer.Ordinal)))
            {
                throw new InvalidOperationException($"unexpected offer (m= {string.Join(",", kinds)}, {candidates} candidates):\n{sdp}");
            }
            return $"offer with {string.Join(", ", kinds)} and {candidates} host candidates, " +
                $"max-message-size {SdpText.MaxMessageSize(sdp)}";
        }
        finally
        {
            pc.close();
        }
    }

    private static string MediaSummary()
    {
        List<byte[]> opus = MediaFiles.ReadOggOpus(MediaFiles.AudioPath);
        var (vp8, fps) = MediaFiles.ReadIvf(MediaFiles.VideoPath);
        var decoder = new AudioEncoder(includeLinearFormats: false, includeOpus: true);
        int samples = decoder.DecodeAudio(opus[0], PeerFactory.Opus).Length;
        if (opus.Count < 100 || vp8.Count < 10 || samples == 0)
        {
            throw new InvalidOperationException($"media: {opus.Count} Opus packets ({samples} samples decoded), {vp8.Count} VP8 frames");
        }
        return $"{opus.Count} Opus packets (first decodes to {samples} samples), {vp8.Count} VP8 frames at {fps:0.#} fps";
    }
}

using System.Diagnostics;
using SIPSorcery.Net;

namespace InteropPeer.Client;

/// <summary>The media test cases: audio, video and bundle-av-data (contract section 8).</summary>
internal static class MediaTests
{
    public static Task<string> Audio(ClientContext context) => Run(context, new[] { MediaLeg.Audio() }, withChannel: false);

    public static Task<string> Video(ClientContext context) => Run(context, new[] { MediaLeg.Video() }, withChannel: false);

    /// <summary>Opus, VP8 and channel interop in one BUNDLE; every part must echo.</summary>
    public static Task<string> BundleAvData(ClientContext context) =>
        Run(context, new[] { MediaLeg.Audio(), MediaLeg.Video() }, withChannel: true);

    private static async Task<string> Run(ClientContext context, MediaLeg[] legs, bool withChannel)
    {
        ClientPeer peer = context.NewPeer();
        bool withKind = legs.Length > 1;
        foreach (MediaLeg leg in legs)
        {
            peer.Pc.addTrack(leg.Track);
        }
        peer.Pc.OnRtpPacketReceived += (_, media, packet) =>
        {
            foreach (MediaLeg leg in legs)
            {
                leg.OnRtp(media, packet);
            }
        };
        ChannelProbe? probe = withChannel ? new ChannelProbe(await peer.Pc.createDataChannel("interop")) : null;

        Answer answer = await Negotiation.OfferAsync(context, peer);
        foreach (MediaLeg leg in legs)
        {
            leg.Bind(answer.Sdp);
            Logs.Line(leg.NegotiatedLine(withKind));
        }
        await context.Expect(peer.Connected, "the peer connection to connect", peer);

        using var sending = CancellationTokenSource.CreateLinkedTokenSource(context.Deadline);
        Task[] senders = legs.Select(leg => leg.StartSending(peer.Pc, sending.Token)).ToArray();
        try
        {
            if (probe is not null)
            {
                await Negotiation.AwaitOpen(context, peer, probe);
                await Negotiation.EchoAsync(context, peer, probe, DcMessage.Text(context.Env.PayloadText), "P");
            }
            await AwaitEchoes(context, peer, legs, withKind);
        }
        finally
        {
            sending.Cancel();
            await Task.WhenAll(senders);
        }
        string media = string.Join(", ", legs.Select(l => $"{l.Packets} {l.KindName} packets"));
        return probe is null ? $"{media} echoed" : $"{media} echoed and P echoed on interop";
    }

    /// <summary>
    /// Waits until every leg has enough echoes and, with MEDIA_DURATION, until media has been
    /// sent that long; then echoes must still be arriving (one in the last 5 s). Prints the
    /// RECEIVED lines in every case, so a failure shows what did come back.
    /// </summary>
    public static async Task AwaitEchoes(ClientContext context, ClientPeer peer, IReadOnlyList<MediaLeg> legs, bool withKind)
    {
        var sending = Stopwatch.StartNew();
        double duration = context.Env.MediaDurationSeconds;
        try
        {
            while (!(legs.All(l => l.Enough) && sending.Elapsed.TotalSeconds >= duration))
            {
                if (peer.Failed.IsCompleted)
                {
                    throw new TestFailure($"{await peer.Failed} while waiting for echoed media ({Shortfall(legs)})");
                }
                if (context.Deadline.IsCancellationRequested)
                {
                    throw new TestFailure($"timed out waiting for echoed media: {Shortfall(legs)}");
                }
                await Task.Delay(100);
            }
            MediaLeg? stale = legs.FirstOrDefault(l => duration > 0 && l.SecondsSinceLastEcho > 5);
            if (stale is not null)
            {
                throw new TestFailure($"no echoed {stale.KindName} packet in the last 5 s of {duration:0} s of media");
            }
        }
        finally
        {
            foreach (MediaLeg leg in legs)
            {
                Logs.Line(leg.ReceivedLine(withKind));
            }
        }
    }

    private static string Shortfall(IEnumerable<MediaLeg> legs) => string.Join("; ", legs.Select(l => l.Shortfall()));
}

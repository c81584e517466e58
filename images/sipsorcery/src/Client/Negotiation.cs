using Microsoft.Extensions.Logging;
using SIPSorcery.Net;

namespace InteropPeer.Client;

/// <summary>
/// Offer/answer of the client, and the echo checks shared by the data channel tests.
/// </summary>
internal static class Negotiation
{
    /// <summary>
    /// Non-trickle offer (contract 3.1): SIPSorcery waits for ICE gathering to complete and
    /// puts every candidate in the offer; the answer is applied as the remote description.
    /// </summary>
    public static async Task<Answer> OfferAsync(ClientContext context, ClientPeer peer, string? url = null)
    {
        var options = new RTCOfferOptions { X_WaitForIceGatheringToComplete = true };
        // createOffer blocks its thread until gathering completes: keep it off the caller's.
        RTCSessionDescriptionInit offer = await context.Expect(
            Task.Run(() => peer.Pc.createOffer(options)), "ICE gathering for the offer", peer);
        await peer.Pc.setLocalDescription(offer);
        Answer answer = await context.Expect(
            context.Signalling.PostOfferAsync(url ?? context.Env.ServerUrl, offer.sdp, context.Deadline),
            "the answer to the offer", peer);
        ApplyAnswer(peer, answer.Sdp);
        context.Log.LogInformation("answer applied; session resource {Session}", answer.Session?.ToString() ?? "none");
        return answer;
    }

    /// <summary>Sets an answer as the remote description; a rejection fails the test.</summary>
    public static void ApplyAnswer(ClientPeer peer, string sdp)
    {
        SetDescriptionResultEnum result = peer.Pc.setRemoteDescription(
            new RTCSessionDescriptionInit { type = RTCSdpType.answer, sdp = sdp });
        if (result != SetDescriptionResultEnum.OK)
        {
            throw new TestFailure($"SIPSorcery rejected the server's answer: setRemoteDescription returned {result}");
        }
    }

    /// <summary>Waits for the channel to open, then for the peer connection to be connected.</summary>
    public static async Task AwaitOpen(ClientContext context, ClientPeer peer, ChannelProbe probe)
    {
        await context.Expect(peer.Connected, "the peer connection to connect", peer);
        await context.Expect(probe.Opened, $"channel {probe.Label} to open", peer);
    }

    /// <summary>Sends a message and fails unless the next one on the channel is its exact echo.</summary>
    public static async Task EchoAsync(ClientContext context, ClientPeer peer, ChannelProbe probe, DcMessage sent, string what)
    {
        sent.SendOn(probe.Dc);
        DcMessage echo = await NextAsync(context, peer, probe, $"the echo of {what} on {probe.Label}");
        if (!echo.SameAs(sent))
        {
            throw new TestFailure($"the echo of {what} on {probe.Label}: {echo.DifferenceFrom(sent)}");
        }
    }

    /// <summary>
    /// The next message on a channel; fails at the deadline, when the peer connection fails,
    /// or when the channel closes first.
    /// </summary>
    public static Task<DcMessage> NextAsync(ClientContext context, ClientPeer peer, ChannelProbe probe, string what) =>
        context.Expect(MessageOrClosed(probe, what, context.Deadline), what, peer);

    private static async Task<DcMessage> MessageOrClosed(ChannelProbe probe, string what, CancellationToken token)
    {
        Task<DcMessage> next = probe.NextAsync(token);
        if (await Task.WhenAny(next, probe.Closed) != next)
        {
            throw new TestFailure($"{await probe.Closed} while waiting for {what}");
        }
        return await next;
    }

    /// <summary>The session URL, or exit 127: the test needs the session resource.</summary>
    public static Uri RequireSession(Answer answer) =>
        answer.Session ?? throw new TestUnsupported("server has no session resource");
}

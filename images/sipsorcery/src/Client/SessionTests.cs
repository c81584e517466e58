using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SIPSorcery.Net;

namespace InteropPeer.Client;

/// <summary>The test cases that use the session resource (contract 3.2 and 8).</summary>
internal static class SessionTests
{
    /// <summary>
    /// trickle: the offer leaves before any candidate (SIPSorcery's X_ExcludeIceCandidates);
    /// every local candidate follows by PATCH, then a=end-of-candidates; candidates in a 200
    /// reply are applied. Then P is echoed as in datachannel.
    /// </summary>
    public static async Task<string> Trickle(ClientContext context)
    {
        ClientPeer peer = context.NewPeer();
        var probe = new ChannelProbe(await peer.Pc.createDataChannel("interop"));
        RTCSessionDescriptionInit offer = await context.Expect(
            Task.Run(() => peer.Pc.createOffer(new RTCOfferOptions { X_ExcludeIceCandidates = true })), "the offer", peer);
        await peer.Pc.setLocalDescription(offer);
        Answer answer = await context.Expect(
            context.Signalling.PostOfferAsync(context.Env.ServerUrl, offer.sdp, context.Deadline), "the answer", peer);
        Uri session = Negotiation.RequireSession(answer);
        Negotiation.ApplyAnswer(peer, answer.Sdp);

        int sent = await context.Expect(TrickleCandidates(context, peer, offer.sdp, session, answer.ETag),
            "the local candidates to be trickled", peer);
        await Negotiation.AwaitOpen(context, peer, probe);
        await Negotiation.EchoAsync(context, peer, probe, DcMessage.Text(context.Env.PayloadText), "P");
        return $"{sent} candidates trickled by PATCH, then P echoed";
    }

    /// <summary>
    /// Sends the local candidates as they are gathered (onicecandidate first replays those
    /// already gathered), one PATCH per batch, the last one with a=end-of-candidates.
    /// </summary>
    private static async Task<int> TrickleCandidates(ClientContext context, ClientPeer peer, string offerSdp, Uri session, string? etag)
    {
        var queue = Channel.CreateUnbounded<RTCIceCandidate>();
        var gathered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        peer.Pc.onicegatheringstatechange += state =>
        {
            if (state == RTCIceGatheringState.complete) { gathered.TrySetResult(); }
        };
        peer.Pc.onicecandidate += candidate => queue.Writer.TryWrite(candidate);
        if (peer.Pc.iceGatheringState == RTCIceGatheringState.complete) { gathered.TrySetResult(); }

        MediaSection first = SdpText.Parse(offerSdp).Media[0];
        var (ufrag, pwd) = SdpText.IceCredentials(offerSdp);
        int sent = 0;
        while (true)
        {
            context.Deadline.ThrowIfCancellationRequested();
            bool complete = gathered.Task.IsCompleted;
            var batch = new List<string>();
            while (queue.Reader.TryRead(out RTCIceCandidate? candidate))
            {
                batch.Add("candidate:" + candidate);
            }
            if (batch.Count > 0 || complete)
            {
                string frag = SdpFrag.Build(ufrag!, pwd!, first.MLine, first.Mid, batch, complete);
                // Without an ETag no If-Match at all: "*" would ask for an ICE restart.
                SessionReply reply = await context.Signalling.PatchAsync(session, frag, etag, context.Deadline);
                ApplyTrickleReply(context, peer, reply);
                sent += batch.Count;
            }
            if (complete) { return sent; }
            await Task.WhenAny(queue.Reader.WaitToReadAsync(context.Deadline).AsTask(), gathered.Task);
        }
    }

    /// <summary>204, or 200 with the server's own candidates to add; anything else fails.</summary>
    private static void ApplyTrickleReply(ClientContext context, ClientPeer peer, SessionReply reply)
    {
        if (reply.Status == HttpStatusCode.NoContent) { return; }
        if (reply.Status != HttpStatusCode.OK)
        {
            throw new TestFailure($"trickle PATCH answered {(int)reply.Status}: {Signalling.Shorten(reply.Body)}");
        }
        foreach (var (mid, candidate) in SdpFrag.Parse(reply.Body).Candidates)
        {
            context.Log.LogInformation("remote candidate from PATCH reply: {Candidate}", candidate);
            peer.Pc.addIceCandidate(new RTCIceCandidateInit { candidate = candidate, sdpMid = mid, sdpMLineIndex = 0 });
        }
    }

    /// <summary>
    /// ice-restart: after the first echo, restart ICE through PATCH with If-Match: *. SIPSorcery's
    /// restartIce() restarts gathering and checks but keeps the ICE ufrag/pwd, which RFC 8445 9
    /// requires to change; this client checks that at run time and exits 127 when they stay.
    /// </summary>
    public static async Task<string> IceRestart(ClientContext context)
    {
        ClientPeer peer = context.NewPeer();
        var probe = new ChannelProbe(await peer.Pc.createDataChannel("interop"));
        Answer answer = await Negotiation.OfferAsync(context, peer);
        Uri session = Negotiation.RequireSession(answer);
        await Negotiation.AwaitOpen(context, peer, probe);
        await Negotiation.EchoAsync(context, peer, probe, DcMessage.Text(context.Env.PayloadText), "P");

        string? before = SdpText.IceCredentials(peer.Pc.localDescription.sdp.ToString()).Ufrag;
        var reconnected = IceConnected(peer);
        peer.Pc.restartIce();
        RTCSessionDescriptionInit offer = await context.Expect(
            Task.Run(() => peer.Pc.createOffer(new RTCOfferOptions { X_WaitForIceGatheringToComplete = true })),
            "ICE gathering after restartIce()", peer);
        var (ufrag, pwd) = SdpText.IceCredentials(offer.sdp);
        if (ufrag == before)
        {
            throw new TestUnsupported($"SIPSorcery's restartIce() kept ice-ufrag {ufrag}: RtpIceChannel.LocalIceUser/LocalIcePassword " +
                "are readonly, so no ICE restart with new credentials (RFC 8445 9) is possible");
        }
        await peer.Pc.setLocalDescription(offer);
        MediaSection first = SdpText.Parse(offer.sdp).Media[0];
        var candidates = SdpText.Parse(offer.sdp).Media.SelectMany(m => m.Lines)
            .Where(l => l.StartsWith("a=candidate:", StringComparison.Ordinal)).Select(l => l.Substring(2));
        string frag = SdpFrag.Build(ufrag!, pwd!, first.MLine, first.Mid, candidates, true);
        SessionReply reply = await context.Expect(context.Signalling.PatchAsync(session, frag, "*", context.Deadline), "the ICE restart PATCH", peer);
        if (reply.Status != HttpStatusCode.OK)
        {
            throw new TestFailure($"ICE restart PATCH answered {(int)reply.Status}: {Signalling.Shorten(reply.Body)}");
        }
        Negotiation.ApplyAnswer(peer, RestartedAnswer(answer.Sdp, SdpFrag.Parse(reply.Body)));
        await context.Expect(reconnected, "ICE to connect again after the restart", peer);
        await Negotiation.EchoAsync(context, peer, probe, DcMessage.Text("restart:" + context.Env.PayloadText), "\"restart:\" + P");
        return "ICE restarted with new credentials and the channel echoed again";
    }

    /// <summary>Completes when ICE reports connected after having left that state.</summary>
    private static Task IceConnected(ClientPeer peer)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool left = false;
        peer.Pc.oniceconnectionstatechange += state =>
        {
            if (state != RTCIceConnectionState.connected) { left = true; }
            else if (left) { done.TrySetResult(); }
        };
        return done.Task;
    }

    /// <summary>
    /// The previous answer with the fragment's credentials and candidates (contract 3.2):
    /// old candidates and end-of-candidates dropped, the new ones put in the first section.
    /// </summary>
    private static string RestartedAnswer(string previous, SdpFrag frag)
    {
        var lines = new List<string>();
        int sections = 0;
        foreach (string line in SdpText.Lines(previous))
        {
            if (line.StartsWith("m=", StringComparison.Ordinal) && ++sections == 2) { AddCandidates(lines, frag); }
            if (line.StartsWith("a=candidate:", StringComparison.Ordinal) || line == "a=end-of-candidates") { continue; }
            if (line.StartsWith("a=ice-ufrag:", StringComparison.Ordinal)) { lines.Add("a=ice-ufrag:" + frag.Ufrag); }
            else if (line.StartsWith("a=ice-pwd:", StringComparison.Ordinal)) { lines.Add("a=ice-pwd:" + frag.Pwd); }
            else { lines.Add(line); }
        }
        if (sections < 2) { AddCandidates(lines, frag); }
        return string.Join("\r\n", lines) + "\r\n";
    }

    private static void AddCandidates(List<string> lines, SdpFrag frag)
    {
        lines.AddRange(frag.Candidates.Select(c => "a=" + c.Candidate));
        lines.Add("a=end-of-candidates");
    }
    /// <summary>
    /// renegotiation: a data-channel session echoes P, then adds a sendrecv Opus track, POSTs the
    /// new offer to the session, needs 50 echoed RTP packets and a second echo on the channel.
    /// </summary>
    public static async Task<string> Renegotiation(ClientContext context)
    {
        ClientPeer peer = context.NewPeer();
        var probe = new ChannelProbe(await peer.Pc.createDataChannel("interop"));
        Answer answer = await Negotiation.OfferAsync(context, peer);
        Uri session = Negotiation.RequireSession(answer);
        await Negotiation.AwaitOpen(context, peer, probe);
        await Negotiation.EchoAsync(context, peer, probe, DcMessage.Text(context.Env.PayloadText), "P");

        MediaLeg audio = MediaLeg.Audio();
        peer.Pc.OnRtpPacketReceived += (_, media, packet) => audio.OnRtp(media, packet);
        peer.Pc.addTrack(audio.Track);
        string answerSdp = await RenegotiateAsync(context, peer, session);
        audio.Bind(answerSdp);
        Logs.Line(audio.NegotiatedLine(false));

        using var sending = CancellationTokenSource.CreateLinkedTokenSource(context.Deadline);
        Task sender = audio.StartSending(peer.Pc, sending.Token);
        try
        {
            await MediaTests.AwaitEchoes(context, peer, new[] { audio }, false);
        }
        finally
        {
            sending.Cancel();
            await sender;
        }
        await Negotiation.EchoAsync(context, peer, probe, DcMessage.Text("renegotiated:" + context.Env.PayloadText), "\"renegotiated:\" + P");
        return $"audio added by renegotiation, {audio.Packets} packets echoed, the channel echoed again";
    }

    /// <summary>POSTs a new complete offer (application/sdp) to the session and applies the answer.</summary>
    private static async Task<string> RenegotiateAsync(ClientContext context, ClientPeer peer, Uri session)
    {
        RTCSessionDescriptionInit offer = await context.Expect(
            Task.Run(() => peer.Pc.createOffer(new RTCOfferOptions { X_WaitForIceGatheringToComplete = true })),
            "the renegotiation offer", peer);
        await peer.Pc.setLocalDescription(offer);
        SessionReply reply = await context.Expect(context.Signalling.PostSdpAsync(session, offer.sdp, context.Deadline),
            "the answer to the renegotiation offer", peer);
        if (reply.Status != HttpStatusCode.OK)
        {
            throw new TestFailure($"renegotiation POST answered {(int)reply.Status}: {Signalling.Shorten(reply.Body)}");
        }
        Negotiation.ApplyAnswer(peer, reply.Body);
        return reply.Body;
    }

    /// <summary>
    /// reconnect: echo P, close the peer connection, DELETE the session if there is one, then a
    /// new peer connection to the same SERVER_URL echoes "reconnect:" + P.
    /// </summary>
    public static async Task<string> Reconnect(ClientContext context)
    {
        ClientPeer first = context.NewPeer();
        var probe = new ChannelProbe(await first.Pc.createDataChannel("interop"));
        Answer answer = await Negotiation.OfferAsync(context, first);
        await Negotiation.AwaitOpen(context, first, probe);
        await Negotiation.EchoAsync(context, first, probe, DcMessage.Text(context.Env.PayloadText), "P");
        first.Close();
        if (answer.Session is not null)
        {
            SessionReply reply = await context.Expect(context.Signalling.DeleteAsync(answer.Session, context.Deadline), "DELETE of the session");
            if ((int)reply.Status / 100 != 2)
            {
                throw new TestFailure($"DELETE {answer.Session} answered {(int)reply.Status}: {Signalling.Shorten(reply.Body)}");
            }
        }

        ClientPeer second = context.NewPeer();
        var again = new ChannelProbe(await second.Pc.createDataChannel("interop"));
        await Negotiation.OfferAsync(context, second);
        await Negotiation.AwaitOpen(context, second, again);
        await Negotiation.EchoAsync(context, second, again, DcMessage.Text("reconnect:" + context.Env.PayloadText), "\"reconnect:\" + P");
        return answer.Session is null
            ? "echoed on a first and a second peer connection (no session resource, no DELETE)"
            : "echoed, session deleted, echoed again on a new peer connection";
    }
}

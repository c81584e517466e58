using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using SIPSorcery.Net;

namespace InteropPeer.Server;

/// <summary>An offer or sdpfrag the server cannot use: answered 4xx with the reason.</summary>
internal sealed class RequestRejected : Exception
{
    public RequestRejected(HttpStatusCode status, string reason) : base(reason) => Status = status;
    public HttpStatusCode Status { get; }
}

/// <summary>
/// The server's side of one peer connection: answers offers and echoes everything, per
/// contract section 8. RTP comes back with this peer's own SSRC; data channel messages come
/// back on their channel with their type. Test-case specific parts: the negotiated channel
/// id 7 (datachannel-negotiated) and the server-opened channel (datachannel-server-open).
/// </summary>
internal sealed class ServerPeer
{
    private readonly CellEnv env;
    private readonly ILogger log;
    private int serverChannelOpened;
    private bool hasAudio;
    private bool hasVideo;
    private long echoedAudio;
    private long echoedVideo;

    private ServerPeer(CellEnv env, ILogger log)
    {
        this.env = env;
        this.log = log;
        Pc = PeerFactory.Create(env, log);
        Pc.onconnectionstatechange += state => log.LogInformation("peer connection state {State}", state);
        Pc.OnRtpPacketReceived += EchoRtp;
        Pc.ondatachannel += OnDataChannel;
    }

    public RTCPeerConnection Pc { get; }

    /// <summary>The offer's remote ICE ufrag, to tell a trickle fragment from a restart.</summary>
    public string? RemoteUfrag { get; private set; }

    /// <summary>Creates the peer connection for an offer and returns it with its answer.</summary>
    public static async Task<(ServerPeer Peer, string AnswerSdp)> AnswerAsync(CellEnv env, ILogger log, string offerSdp)
    {
        var peer = new ServerPeer(env, log);
        try
        {
            if (env.TestCase == "datachannel-negotiated")
            {
                // Before the answer (contract 8): pending until SCTP is up, then open without DCEP.
                RTCDataChannel dc = await peer.Pc.createDataChannel("interop-negotiated",
                    new RTCDataChannelInit { negotiated = true, id = 7 });
                peer.EchoOn(dc);
            }
            string answer = await peer.ApplyOfferAsync(offerSdp);
            return (peer, answer);
        }
        catch
        {
            peer.Close();
            throw;
        }
    }

    /// <summary>
    /// Applies an offer (first or renegotiation) and returns the answer. SIPSorcery answers a
    /// kind it has no local track for as inactive, so a sendrecv track is added for every
    /// audio or video section first. The answer waits for ICE gathering (non-trickle).
    /// </summary>
    public async Task<string> ApplyOfferAsync(string offerSdp)
    {
        AddTracksFor(offerSdp);
        SetDescriptionResultEnum result;
        try
        {
            result = Pc.setRemoteDescription(new RTCSessionDescriptionInit { type = RTCSdpType.offer, sdp = offerSdp });
        }
        catch (Exception e)
        {
            throw new RequestRejected(HttpStatusCode.BadRequest, $"SIPSorcery could not apply the offer: {e.Message}");
        }
        if (result != SetDescriptionResultEnum.OK)
        {
            throw new RequestRejected(HttpStatusCode.BadRequest, $"SIPSorcery rejected the offer: setRemoteDescription returned {result}");
        }
        RemoteUfrag = SdpText.IceCredentials(offerSdp).Ufrag;
        var options = new RTCAnswerOptions { X_WaitForIceGatheringToComplete = true };
        RTCSessionDescriptionInit answer = await Task.Run(() => Pc.createAnswer(options)).WaitAsync(TimeSpan.FromSeconds(20));
        await Pc.setLocalDescription(answer);
        return answer.sdp;
    }

    /// <summary>Adds trickled candidates (RFC 8840 sdpfrag) to the peer connection.</summary>
    public void AddCandidates(SdpFrag frag)
    {
        if (frag.Ufrag is not null && frag.Ufrag != RemoteUfrag)
        {
            throw new RequestRejected(HttpStatusCode.UnprocessableEntity,
                $"ice-ufrag {frag.Ufrag} is not the session's ({RemoteUfrag}); an ICE restart needs If-Match: *");
        }
        foreach (var (mid, candidate) in frag.Candidates)
        {
            try
            {
                // SIPSorcery takes candidates for the BUNDLE transport only, i.e. m-line index 0.
                Pc.addIceCandidate(new RTCIceCandidateInit { candidate = candidate, sdpMid = mid, sdpMLineIndex = 0 });
            }
            catch (Exception e)
            {
                throw new RequestRejected(HttpStatusCode.UnprocessableEntity, $"cannot apply {candidate}: {e.Message}");
            }
        }
        log.LogInformation("added {Count} trickled candidates{End}", frag.Candidates.Count,
            frag.EndOfCandidates ? " and end-of-candidates" : "");
    }

    public void Close()
    {
        log.LogInformation("closing: echoed {Audio} audio and {Video} video RTP packets",
            Interlocked.Read(ref echoedAudio), Interlocked.Read(ref echoedVideo));
        try
        {
            Pc.close();
        }
        catch (Exception e)
        {
            log.LogWarning("closing the peer connection threw {Error}", e.Message);
        }
    }

    private void AddTracksFor(string offerSdp)
    {
        if (!hasAudio && SdpText.HasMedia(offerSdp, "audio"))
        {
            Pc.addTrack(new MediaStreamTrack(PeerFactory.Opus, MediaStreamStatusEnum.SendRecv));
            hasAudio = true;
        }
        if (!hasVideo && SdpText.HasMedia(offerSdp, "video"))
        {
            Pc.addTrack(new MediaStreamTrack(PeerFactory.Vp8, MediaStreamStatusEnum.SendRecv));
            hasVideo = true;
        }
    }

    /// <summary>Sends each received RTP packet back as it is: same payload, timestamp, marker, payload type.</summary>
    private void EchoRtp(IPEndPoint from, SDPMediaTypesEnum media, RTPPacket packet)
    {
        if (media != SDPMediaTypesEnum.audio && media != SDPMediaTypesEnum.video)
        {
            return;
        }
        long count = media == SDPMediaTypesEnum.audio
            ? Interlocked.Increment(ref echoedAudio)
            : Interlocked.Increment(ref echoedVideo);
        if (count == 1)
        {
            log.LogInformation("first {Media} RTP packet (payload type {Type}) from {From}: echoing", media, packet.Header.PayloadType, from);
        }
        try
        {
            Pc.SendRtpRaw(media, packet.GetPayloadBytes(), packet.Header.Timestamp, packet.Header.MarkerBit, packet.Header.PayloadType);
        }
        catch (Exception e) when (count <= 3)
        {
            // This runs on SIPSorcery's receive path: report the first failures, never throw into it.
            log.LogWarning("echoing a {Media} RTP packet failed: {Error}", media, e.Message);
        }
        catch (Exception)
        {
        }
    }

    /// <summary>
    /// A channel the client opened: echo it. Runs on SIPSorcery's SCTP receive thread, so the
    /// echo handler is attached before the channel's first message is delivered.
    /// </summary>
    private void OnDataChannel(RTCDataChannel dc)
    {
        log.LogInformation("channel {Label} (id {Id}) opened by the client", dc.label, dc.id);
        EchoOn(dc);
        if (env.TestCase == "datachannel-server-open" && Interlocked.Exchange(ref serverChannelOpened, 1) == 0)
        {
            // createDataChannel waits for the DCEP ACK, which this same thread delivers.
            _ = Task.Run(() => OpenServerChannelAsync());
        }
    }

    private void EchoOn(RTCDataChannel dc)
    {
        dc.onmessage += (channel, ppid, data) =>
        {
            DcMessage message = DcMessage.From(ppid, data);
            try
            {
                message.SendOn(channel);
            }
            catch (Exception e)
            {
                log.LogWarning("echo of a {Message} on {Label} failed: {Error}", message.Describe(), channel.label, e.Message);
            }
        };
    }

    /// <summary>
    /// datachannel-server-open: open interop-server, send P, and answer the client's echo with
    /// "CONFIRMED:" or "MISMATCH:" + sha256hex(echo).
    /// </summary>
    private async Task OpenServerChannelAsync()
    {
        try
        {
            RTCDataChannel dc = await Pc.createDataChannel("interop-server");
            var expected = DcMessage.Text(env.PayloadText);
            int answered = 0;
            dc.onmessage += (channel, ppid, data) =>
            {
                DcMessage echo = DcMessage.From(ppid, data);
                if (Interlocked.Exchange(ref answered, 1) == 1)
                {
                    // Only the echo of P is answered: a client that also echoes the verdict must
                    // not start a ping-pong of MISMATCH messages.
                    log.LogInformation("ignoring a further {Message} on interop-server", echo.Describe());
                    return;
                }
                string hash = Convert.ToHexString(SHA256.HashData(echo.Data)).ToLowerInvariant();
                string verdict = (echo.SameAs(expected) ? "CONFIRMED:" : "MISMATCH:") + hash;
                log.LogInformation("echo on interop-server: {Message}; answering {Verdict}", echo.Describe(), verdict);
                channel.send(verdict);
            };
            log.LogInformation("channel interop-server open (id {Id}); sending P", dc.id);
            dc.send(env.PayloadText);
        }
        catch (Exception e)
        {
            log.LogError("opening channel interop-server failed: {Error}", e.Message);
        }
    }
}

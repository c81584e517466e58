using Microsoft.Extensions.Logging;
using SIPSorcery.Net;
using SIPSorceryMedia.Abstractions;

namespace InteropPeer;

/// <summary>
/// Creates every RTCPeerConnection of both roles from the cell's environment, so that the
/// ICE configuration is applied in exactly one place.
/// </summary>
internal static class PeerFactory
{
    /// <summary>The payload types this peer offers: Opus 111 (SIPSorcery's canonical WebRTC
    /// Opus format), VP8 96.</summary>
    public static AudioFormat Opus => AudioCommonlyUsedFormats.OpusWebRTC;
    public static VideoFormat Vp8 => new VideoFormat(VideoCodecsEnum.VP8, 96);

    /// <summary>
    /// Exactly the given ICE servers and policy: SIPSorcery adds no STUN server of its own when
    /// iceServers is empty. All interface addresses become host candidates because SIPSorcery
    /// otherwise keeps only the interface that routes to the Internet, and cell networks have
    /// no route there. The RTP profile is the WebRTC one (UDP/TLS/RTP/SAVPF, RFC 8829).
    /// </summary>
    public static RTCConfiguration Configuration(CellEnv env) => new RTCConfiguration
    {
        iceServers = env.IceServers,
        iceTransportPolicy = env.IcePolicy,
        X_UseRtpFeedbackProfile = true,
        X_ICEIncludeAllInterfaceAddresses = true,
    };

    public static RTCPeerConnection Create(CellEnv env, ILogger log)
    {
        var pc = new RTCPeerConnection(Configuration(env));
        pc.oniceconnectionstatechange += state => log.LogInformation("ICE connection state {State}", state);
        pc.onicegatheringstatechange += state => log.LogInformation("ICE gathering state {State}", state);
        pc.onicecandidateerror += (candidate, error) => log.LogWarning("ICE candidate error: {Error}", error);
        return pc;
    }

    /// <summary>Logs once per process what the ICE configuration is and what SIPSorcery does with it.</summary>
    public static void Describe(CellEnv env, ILogger log)
    {
        log.LogInformation("ICE servers: {Servers}; policy {Policy}; scenario {Scenario}",
            env.IceServers.Count == 0 ? "none" : string.Join(", ", env.IceServers.Select(s => s.urls)),
            env.IcePolicy, env.Scenario);
        if (env.IceCaGiven)
        {
            // RtpIceChannel wraps TURNS connections in an SslStream whose validation callback
            // accepts every certificate, so a CA has nothing to be applied to.
            log.LogWarning("ICE_CA_PEM is set but SIPSorcery does not verify TURN server certificates; it is not used");
        }
        log.LogInformation("No DTLS key log: SIPSorcery exposes no DTLS secrets (see the image README)");
    }
}

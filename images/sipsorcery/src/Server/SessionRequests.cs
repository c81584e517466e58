using System.Net;
using Microsoft.Extensions.Logging;

namespace InteropPeer.Server;

/// <summary>
/// The requests on a session resource (contract 3.2), each under the session's lock.
/// </summary>
internal static class SessionRequests
{
    /// <summary>
    /// Why this server answers an ICE restart with 501: SIPSorcery keeps the ICE ufrag/pwd of
    /// a peer connection for its lifetime (RtpIceChannel.LocalIceUser and LocalIcePassword are
    /// readonly fields set in its constructor; restartIce() re-gathers and re-checks with
    /// them), so it cannot answer with the new credentials RFC 8445 9 requires.
    /// </summary>
    public const string NoIceRestart =
        "ICE restart not possible: SIPSorcery keeps a peer connection's ICE ufrag/pwd for its lifetime " +
        "(RtpIceChannel.LocalIceUser/LocalIcePassword are readonly)";

    /// <summary>
    /// PATCH: trickle (If-Match: the current entity tag, or none) answered 204, since the
    /// answer already carried all of this server's candidates; ICE restart (If-Match: *) 501.
    /// </summary>
    public static Task<Reply> PatchAsync(Session session, HttpListenerRequest request, string body)
    {
        if (!HasMediaType(request, "application/trickle-ice-sdpfrag"))
        {
            return Task.FromResult(new Reply(HttpStatusCode.UnsupportedMediaType, "expected application/trickle-ice-sdpfrag"));
        }
        string? ifMatch = request.Headers["If-Match"]?.Trim();
        if (ifMatch == "*")
        {
            return Task.FromResult(new Reply(HttpStatusCode.NotImplemented, NoIceRestart));
        }
        if (ifMatch is not null && ifMatch != session.ETag)
        {
            return Task.FromResult(new Reply(HttpStatusCode.PreconditionFailed, $"If-Match {ifMatch} is not the current entity tag"));
        }
        session.Peer.AddCandidates(SdpFrag.Parse(body));
        return Task.FromResult(new Reply(HttpStatusCode.NoContent));
    }

    /// <summary>POST: renegotiation with a complete new offer; answered with the complete answer.</summary>
    public static async Task<Reply> RenegotiateAsync(Session session, HttpListenerRequest request, string body)
    {
        if (!HasMediaType(request, "application/sdp"))
        {
            return new Reply(HttpStatusCode.UnsupportedMediaType, "expected application/sdp");
        }
        if (!SdpText.Lines(body).Any(l => l.StartsWith("m=", StringComparison.Ordinal)))
        {
            return new Reply(HttpStatusCode.BadRequest, "the body is not an SDP offer");
        }
        string answer = await session.Peer.ApplyOfferAsync(body);
        session.NewETag();
        return new Reply(HttpStatusCode.OK, answer, "application/sdp", ETag: session.ETag);
    }

    /// <summary>DELETE: closes the peer connection and forgets the session.</summary>
    public static Reply Delete(SessionStore sessions, Session session, ILogger log)
    {
        sessions.Remove(session.Id);
        session.Peer.Close();
        log.LogInformation("session {Id} deleted", session.Id);
        return new Reply(HttpStatusCode.OK, "deleted");
    }

    private static bool HasMediaType(HttpListenerRequest request, string mediaType)
    {
        string? contentType = request.ContentType;
        return contentType is not null &&
            contentType.Split(';')[0].Trim().Equals(mediaType, StringComparison.OrdinalIgnoreCase);
    }
}

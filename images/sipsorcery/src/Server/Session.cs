using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace InteropPeer.Server;

/// <summary>
/// One session resource (contract 3.2): a peer connection, its URL and the entity tag of its
/// ICE state. Requests on one session are handled one at a time.
/// </summary>
internal sealed class Session
{
    public Session(ServerPeer peer)
    {
        Id = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        Peer = peer;
        NewETag();
    }

    public string Id { get; }
    public ServerPeer Peer { get; }
    public string ETag { get; private set; } = "";
    public SemaphoreSlim Lock { get; } = new(1, 1);
    public string Location => $"/session/{Id}";

    /// <summary>A fresh opaque entity tag, quoted as RFC 9110 8.8.3 wants it.</summary>
    public void NewETag() => ETag = $"\"{Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant()}\"";
}

/// <summary>The sessions of this server; a deleted session is forgotten (404 afterwards).</summary>
internal sealed class SessionStore
{
    private readonly ConcurrentDictionary<string, Session> sessions = new();

    public Session Add(ServerPeer peer)
    {
        var session = new Session(peer);
        sessions[session.Id] = session;
        return session;
    }

    public Session? Find(string id) => sessions.TryGetValue(id, out Session? session) ? session : null;

    public Session? Remove(string id) => sessions.TryRemove(id, out Session? session) ? session : null;
}

using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace InteropPeer.Server;

/// <summary>A reply: status, body and the headers the contract needs.</summary>
internal sealed record Reply(HttpStatusCode Status, string Body = "", string ContentType = "text/plain",
    string? Location = null, string? ETag = null, string? Allow = null);

/// <summary>
/// The HTTP side of the server role (contract 3): JSON POST /offer and the session resource
/// (PATCH trickle, POST renegotiation, DELETE). Every request is answered, a failing one with
/// 4xx/5xx and its reason; nothing a client sends can stop the server.
/// </summary>
internal sealed class SignallingServer
{
    private const int MaxBody = 1 << 20;
    private readonly CellEnv env;
    private readonly ILogger log;
    private readonly SessionStore sessions = new();

    public SignallingServer(CellEnv env, ILogger log)
    {
        this.env = env;
        this.log = log;
    }

    /// <summary>Serves until the process ends; each request on its own task.</summary>
    public async Task RunAsync(int port)
    {
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://*:{port}/");
        listener.Start();
        log.LogInformation("listening on :{Port} for test case {Test}", port, env.TestCase);
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (HttpListenerException e)
            {
                // A connection that broke before its request was read; keep serving the others.
                log.LogWarning("accepting a request failed: {Error}", e.Message);
                continue;
            }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        HttpListenerRequest request = context.Request;
        Reply reply;
        try
        {
            reply = await RouteAsync(request);
        }
        catch (RequestRejected e)
        {
            reply = new Reply(e.Status, e.Message);
        }
        catch (Exception e)
        {
            log.LogError(e, "{Method} {Path} failed", request.HttpMethod, request.Url?.AbsolutePath);
            reply = new Reply(HttpStatusCode.InternalServerError, $"{e.GetType().Name}: {e.Message}");
        }
        log.LogInformation("{Method} {Path} -> {Status}", request.HttpMethod, request.Url?.AbsolutePath, (int)reply.Status);
        await WriteAsync(context.Response, reply);
    }

    private async Task<Reply> RouteAsync(HttpListenerRequest request)
    {
        string path = request.Url?.AbsolutePath ?? "/";
        if (path == "/offer")
        {
            return request.HttpMethod == "POST"
                ? await OfferAsync(request)
                : new Reply(HttpStatusCode.MethodNotAllowed, "POST only", Allow: "POST");
        }
        if (!path.StartsWith("/session/", StringComparison.Ordinal))
        {
            return new Reply(HttpStatusCode.NotFound, "no such resource");
        }
        Session? session = sessions.Find(path.Substring("/session/".Length));
        if (session is null)
        {
            return new Reply(HttpStatusCode.NotFound, "unknown or deleted session");
        }
        await session.Lock.WaitAsync();
        try
        {
            return request.HttpMethod switch
            {
                "PATCH" => await SessionRequests.PatchAsync(session, request, await ReadBodyAsync(request)),
                "POST" => await SessionRequests.RenegotiateAsync(session, request, await ReadBodyAsync(request)),
                "DELETE" => SessionRequests.Delete(sessions, session, log),
                _ => new Reply(HttpStatusCode.MethodNotAllowed, "PATCH, POST or DELETE", Allow: "PATCH, POST, DELETE"),
            };
        }
        finally
        {
            session.Lock.Release();
        }
    }

    /// <summary>POST /offer: a new peer connection and session per offer (reconnect needs several).</summary>
    private async Task<Reply> OfferAsync(HttpListenerRequest request)
    {
        string body = await ReadBodyAsync(request);
        string offer = ParseOffer(body);
        var (peer, answer) = await ServerPeer.AnswerAsync(env, log, offer);
        Session session = sessions.Add(peer);
        log.LogInformation("session {Id} created", session.Id);
        string json = JsonSerializer.Serialize(new Dictionary<string, string> { ["type"] = "answer", ["sdp"] = answer });
        return new Reply(HttpStatusCode.OK, json, "application/json", session.Location, session.ETag);
    }

    private static string ParseOffer(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            string? type = doc.RootElement.GetProperty("type").GetString();
            string? sdp = doc.RootElement.GetProperty("sdp").GetString();
            if (type != "offer" || string.IsNullOrWhiteSpace(sdp))
            {
                throw new RequestRejected(HttpStatusCode.BadRequest, "the body must be {\"type\": \"offer\", \"sdp\": ...}");
            }
            return sdp;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new RequestRejected(HttpStatusCode.BadRequest, $"the body is not an RTCSessionDescriptionInit: {e.Message}");
        }
    }

    private static async Task<string> ReadBodyAsync(HttpListenerRequest request)
    {
        using var reader = new StreamReader(request.InputStream, Encoding.UTF8);
        var buffer = new char[MaxBody + 1];
        int length = await reader.ReadBlockAsync(buffer, 0, buffer.Length);
        if (length > MaxBody)
        {
            throw new RequestRejected(HttpStatusCode.RequestEntityTooLarge, "body over 1 MiB");
        }
        return new string(buffer, 0, length);
    }

    private async Task WriteAsync(HttpListenerResponse response, Reply reply)
    {
        try
        {
            response.StatusCode = (int)reply.Status;
            if (reply.Location is not null) { response.AddHeader("Location", reply.Location); }
            if (reply.ETag is not null) { response.AddHeader("ETag", reply.ETag); }
            if (reply.Allow is not null) { response.AddHeader("Allow", reply.Allow); }
            if (reply.Status != HttpStatusCode.NoContent)
            {
                byte[] bytes = Encoding.UTF8.GetBytes(reply.Body);
                response.ContentType = reply.ContentType;
                response.ContentLength64 = bytes.Length;
                await response.OutputStream.WriteAsync(bytes);
            }
            response.Close();
        }
        catch (Exception e)
        {
            log.LogWarning("writing the reply failed: {Error}", e.Message);
            response.Abort();
        }
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace InteropPeer.Client;

/// <summary>The server's answer and, when it has a session resource, where it lives.</summary>
internal sealed record Answer(string Sdp, Uri? Session, string? ETag);

/// <summary>A response of the session resource: status, body, new entity tag.</summary>
internal sealed record SessionReply(HttpStatusCode Status, string Body, string? ETag);

/// <summary>
/// HTTP signalling of contract section 3: JSON POST /offer (retried while the server starts)
/// and the session resource (PATCH sdpfrag, POST sdp, DELETE).
/// </summary>
internal sealed class Signalling
{
    private static readonly TimeSpan RetryFor = TimeSpan.FromSeconds(10);
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly ILogger log;

    public Signalling(ILogger log) => this.log = log;

    /// <summary>POSTs the offer; anything but 200 with an answer fails the test.</summary>
    public async Task<Answer> PostOfferAsync(string offerUrl, string sdp, CancellationToken token)
    {
        string json = JsonSerializer.Serialize(new Dictionary<string, string> { ["type"] = "offer", ["sdp"] = sdp });
        using HttpResponseMessage response = await PostWithRetryAsync(offerUrl, json, token);
        string body = await response.Content.ReadAsStringAsync(token);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new TestFailure($"POST {offerUrl} answered {(int)response.StatusCode}: {Shorten(body)}");
        }
        string answer = ParseAnswer(body);
        string? location = Header(response, "Location");
        Uri? session = location is null ? null : new Uri(new Uri(offerUrl), location);
        return new Answer(answer, session, Header(response, "ETag"));
    }

    /// <summary>PATCH with an sdpfrag; <paramref name="ifMatch"/> is an entity tag or <c>*</c>.</summary>
    public Task<SessionReply> PatchAsync(Uri session, string sdpfrag, string? ifMatch, CancellationToken token)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, session)
        {
            Content = Body(sdpfrag, "application/trickle-ice-sdpfrag"),
        };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        return SendAsync(request, token);
    }

    /// <summary>POST a complete new offer to the session (renegotiation).</summary>
    public Task<SessionReply> PostSdpAsync(Uri session, string sdp, CancellationToken token) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, session) { Content = Body(sdp, "application/sdp") }, token);

    public Task<SessionReply> DeleteAsync(Uri session, CancellationToken token) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Delete, session), token);

    private async Task<SessionReply> SendAsync(HttpRequestMessage request, CancellationToken token)
    {
        using (request)
        {
            log.LogInformation("{Method} {Url}", request.Method, request.RequestUri);
            using HttpResponseMessage response = await http.SendAsync(request, token);
            string body = await response.Content.ReadAsStringAsync(token);
            return new SessionReply(response.StatusCode, body, Header(response, "ETag"));
        }
    }

    /// <summary>Retries refused connections for about 10 s: the server may still be starting.</summary>
    private async Task<HttpResponseMessage> PostWithRetryAsync(string url, string json, CancellationToken token)
    {
        DateTime giveUp = DateTime.UtcNow + RetryFor;
        while (true)
        {
            try
            {
                return await http.PostAsync(url, Body(json, "application/json"), token);
            }
            catch (HttpRequestException e) when (DateTime.UtcNow < giveUp)
            {
                log.LogInformation("POST {Url} failed ({Error}); retrying", url, e.Message);
                await Task.Delay(500, token);
            }
        }
    }

    private static string ParseAnswer(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            string? type = doc.RootElement.GetProperty("type").GetString();
            string? sdp = doc.RootElement.GetProperty("sdp").GetString();
            if (type != "answer" || string.IsNullOrEmpty(sdp))
            {
                throw new TestFailure($"the server's reply is not an answer: {Shorten(body)}");
            }
            return sdp;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new TestFailure($"the server's reply is not JSON with type and sdp: {Shorten(body)}");
        }
    }

    /// <summary>A body with exactly this media type (no charset parameter).</summary>
    private static StringContent Body(string text, string mediaType)
    {
        var content = new StringContent(text, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return content;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;

    public static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "...";
}

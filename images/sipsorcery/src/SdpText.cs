using System.Globalization;

namespace InteropPeer;

/// <summary>One media section of an SDP: its m= line and the lines up to the next one.</summary>
internal sealed record MediaSection(string MLine, List<string> Lines)
{
    /// <summary>audio, video, application, ...</summary>
    public string Kind => MLine.Substring(2).Split(' ')[0];

    /// <summary>A port of 0 rejects the section (RFC 3264 6).</summary>
    public bool Rejected => MLine.Split(' ').ElementAtOrDefault(1) == "0";

    public string? Mid => SdpText.Attribute(Lines, "mid");

    /// <summary>The payload types of the m= line, in order of preference.</summary>
    public IEnumerable<string> Formats => MLine.Split(' ').Skip(3);
}

/// <summary>
/// What the tests read from an SDP, parsed from its text rather than through SIPSorcery's SDP
/// classes, so that the checks do not depend on the stack under test.
/// </summary>
internal static class SdpText
{
    public static List<string> Lines(string sdp) =>
        sdp.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();

    public static (List<string> Session, List<MediaSection> Media) Parse(string sdp)
    {
        var session = new List<string>();
        var media = new List<MediaSection>();
        foreach (string line in Lines(sdp))
        {
            if (line.StartsWith("m=", StringComparison.Ordinal))
            {
                media.Add(new MediaSection(line, new List<string>()));
            }
            else if (media.Count > 0)
            {
                media[^1].Lines.Add(line);
            }
            else
            {
                session.Add(line);
            }
        }
        return (session, media);
    }

    /// <summary>The value of the first <c>a=name:value</c> line.</summary>
    public static string? Attribute(IEnumerable<string> lines, string name)
    {
        string prefix = $"a={name}:";
        return lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))?.Substring(prefix.Length).Trim();
    }

    public static bool HasMedia(string sdp, string kind) => Parse(sdp).Media.Any(m => m.Kind == kind && !m.Rejected);

    /// <summary>
    /// The peer's max-message-size (RFC 8841 6): absent means 65536, 0 means no limit.
    /// </summary>
    public static long MaxMessageSize(string sdp)
    {
        MediaSection? app = Parse(sdp).Media.FirstOrDefault(m => m.Kind == "application");
        string? value = app is null ? null : Attribute(app.Lines, "max-message-size");
        if (value is null || !long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long size))
        {
            return 65536;
        }
        return size == 0 ? long.MaxValue : size;
    }

    /// <summary>ice-ufrag and ice-pwd: session level, else the first media section's.</summary>
    public static (string? Ufrag, string? Pwd) IceCredentials(string sdp)
    {
        var (session, media) = Parse(sdp);
        List<string> first = media.Count > 0 ? media[0].Lines : new List<string>();
        return (Attribute(session, "ice-ufrag") ?? Attribute(first, "ice-ufrag"),
                Attribute(session, "ice-pwd") ?? Attribute(first, "ice-pwd"));
    }

    /// <summary>
    /// The codec an answer chose for a kind: the first payload type of its m= line and that
    /// type's rtpmap (e.g. <c>opus/48000/2</c>). Null when the kind is absent or rejected.
    /// </summary>
    public static (int PayloadType, string Codec)? Negotiated(string sdp, string kind)
    {
        MediaSection? section = Parse(sdp).Media.FirstOrDefault(m => m.Kind == kind);
        string? first = section?.Formats.FirstOrDefault();
        if (section is null || section.Rejected || first is null || !int.TryParse(first, out int pt))
        {
            return null;
        }
        string? rtpmap = section.Lines
            .Where(l => l.StartsWith($"a=rtpmap:{pt} ", StringComparison.Ordinal))
            .Select(l => l.Substring(l.IndexOf(' ') + 1).Trim())
            .FirstOrDefault();
        return (pt, rtpmap ?? "unknown");
    }
}

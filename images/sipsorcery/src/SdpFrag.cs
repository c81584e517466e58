using System.Text;

namespace InteropPeer;

/// <summary>
/// A trickle-ice-sdpfrag (RFC 8840 9) as the session resource uses it (contract 3.2):
/// credentials, then per media section its m= line, mid and candidates.
/// </summary>
internal sealed class SdpFrag
{
    public string? Ufrag { get; private set; }
    public string? Pwd { get; private set; }
    /// <summary>Candidates as <c>candidate:...</c> (without <c>a=</c>), with the mid they were listed under.</summary>
    public List<(string? Mid, string Candidate)> Candidates { get; } = new();
    public bool EndOfCandidates { get; private set; }

    /// <summary>Parses leniently; a line this program does not need is skipped.</summary>
    public static SdpFrag Parse(string text)
    {
        var frag = new SdpFrag();
        string? mid = null;
        foreach (string line in SdpText.Lines(text))
        {
            if (line.StartsWith("a=ice-ufrag:", StringComparison.Ordinal))
            {
                frag.Ufrag = line.Substring("a=ice-ufrag:".Length).Trim();
            }
            else if (line.StartsWith("a=ice-pwd:", StringComparison.Ordinal))
            {
                frag.Pwd = line.Substring("a=ice-pwd:".Length).Trim();
            }
            else if (line.StartsWith("a=mid:", StringComparison.Ordinal))
            {
                mid = line.Substring("a=mid:".Length).Trim();
            }
            else if (line.StartsWith("a=candidate:", StringComparison.Ordinal))
            {
                frag.Candidates.Add((mid, line.Substring("a=".Length)));
            }
            else if (line == "a=end-of-candidates")
            {
                frag.EndOfCandidates = true;
            }
        }
        return frag;
    }

    /// <summary>
    /// Builds a fragment for one media section (with BUNDLE the first one is enough).
    /// <paramref name="candidates"/> are candidate attribute values without <c>a=</c>.
    /// </summary>
    public static string Build(string ufrag, string pwd, string mLine, string? mid,
        IEnumerable<string> candidates, bool endOfCandidates)
    {
        var text = new StringBuilder();
        text.Append("a=ice-ufrag:").Append(ufrag).Append("\r\n");
        text.Append("a=ice-pwd:").Append(pwd).Append("\r\n");
        text.Append(mLine).Append("\r\n");
        if (mid is not null)
        {
            text.Append("a=mid:").Append(mid).Append("\r\n");
        }
        foreach (string candidate in candidates)
        {
            text.Append("a=").Append(candidate).Append("\r\n");
        }
        if (endOfCandidates)
        {
            text.Append("a=end-of-candidates\r\n");
        }
        return text.ToString();
    }
}

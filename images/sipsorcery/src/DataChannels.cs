using System.Text;
using System.Threading.Channels;
using SIPSorcery.Net;

namespace InteropPeer;

/// <summary>A data channel message as the peer saw it: string or binary, and its bytes.</summary>
internal sealed record DcMessage(bool IsString, byte[] Data)
{
    /// <summary>
    /// SIPSorcery hands over the raw PPID and user data. The empty PPIDs (56, 57) carry one
    /// padding byte on the wire (RFC 8831 6.6) that is not part of the message.
    /// </summary>
    public static DcMessage From(DataChannelPayloadProtocols ppid, byte[] data) => ppid switch
    {
        DataChannelPayloadProtocols.WebRTC_String => new DcMessage(true, data),
        DataChannelPayloadProtocols.WebRTC_String_Partial => new DcMessage(true, data),
        DataChannelPayloadProtocols.WebRTC_String_Empty => new DcMessage(true, Array.Empty<byte>()),
        DataChannelPayloadProtocols.WebRTC_Binary_Empty => new DcMessage(false, Array.Empty<byte>()),
        _ => new DcMessage(false, data),
    };

    public static DcMessage Text(string text) => new(true, Encoding.UTF8.GetBytes(text));

    public string Describe() => $"{(IsString ? "string" : "binary")} of {Data.Length} bytes";

    /// <summary>Same type and same bytes.</summary>
    public bool SameAs(DcMessage other) => IsString == other.IsString && Data.AsSpan().SequenceEqual(other.Data);

    /// <summary>Where this differs from what was expected, for a FAIL line.</summary>
    public string DifferenceFrom(DcMessage expected)
    {
        if (IsString != expected.IsString || Data.Length != expected.Data.Length)
        {
            return $"got {Describe()}, expected {expected.Describe()}";
        }
        int at = Data.AsSpan().CommonPrefixLength(expected.Data);
        return $"{Describe()} differs from what was sent at byte {at}";
    }

    /// <summary>Sends this message on a channel with its own type (string or binary).</summary>
    public void SendOn(RTCDataChannel dc)
    {
        if (IsString)
        {
            dc.send(Encoding.UTF8.GetString(Data));
        }
        else
        {
            dc.send(Data);
        }
    }
}

/// <summary>
/// Watches one data channel: when it opens, and every message in arrival order. Handlers
/// are attached in the constructor, before the first message can be delivered.
/// </summary>
internal sealed class ChannelProbe
{
    private readonly TaskCompletionSource opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<DcMessage> inbox = Channel.CreateUnbounded<DcMessage>();

    public ChannelProbe(RTCDataChannel dc)
    {
        Dc = dc;
        dc.onopen += () => opened.TrySetResult();
        dc.onclose += () => closed.TrySetResult($"channel {dc.label} closed");
        dc.onerror += error => closed.TrySetResult($"channel {dc.label} error: {error}");
        dc.onmessage += (_, ppid, data) => inbox.Writer.TryWrite(DcMessage.From(ppid, data));
        if (dc.readyState == RTCDataChannelState.open)
        {
            opened.TrySetResult();
        }
    }

    public RTCDataChannel Dc { get; }
    public string Label => Dc.label;
    public Task Opened => opened.Task;
    public Task<string> Closed => closed.Task;

    public Task<DcMessage> NextAsync(CancellationToken token) => inbox.Reader.ReadAsync(token).AsTask();

    /// <summary>A message already received, without waiting.</summary>
    public bool TryNext(out DcMessage? message) => inbox.Reader.TryRead(out message);
}

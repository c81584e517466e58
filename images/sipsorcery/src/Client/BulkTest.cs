using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using SIPSorcery.Net;

namespace InteropPeer.Client;

/// <summary>
/// datachannel-bulk: 1024 binary messages of 16384 bytes (16 MiB) with flow control, all
/// echoed in order; the SHA-256 of the echoes must equal that of what was sent.
/// </summary>
internal static class BulkTest
{
    private const int Count = 1024;
    private const int Size = 16384;
    private const ulong LowThreshold = 262144;
    private const ulong HighWater = 1048576;

    public static async Task<string> Run(ClientContext context)
    {
        ClientPeer peer = context.NewPeer();
        var probe = new ChannelProbe(await peer.Pc.createDataChannel("interop-bulk"));
        await Negotiation.OfferAsync(context, peer);
        await Negotiation.AwaitOpen(context, peer, probe);
        probe.Dc.bufferedAmountLowThreshold = LowThreshold;

        var clock = Stopwatch.StartNew();
        Task<byte[]> echoes = ReceiveAll(context, peer, probe);
        byte[] sentHash = await SendAll(context, peer, probe.Dc);
        byte[] echoHash = await echoes;
        double seconds = clock.Elapsed.TotalSeconds;

        string hex = Convert.ToHexString(echoHash).ToLowerInvariant();
        Logs.Line(string.Create(CultureInfo.InvariantCulture,
            $"BULK: bytes={Count * Size} messages={Count} sha256={hex} seconds={seconds:0.000}"));
        if (!sentHash.AsSpan().SequenceEqual(echoHash))
        {
            throw new TestFailure($"the SHA-256 of the echoes ({hex}) differs from what was sent");
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"16 MiB echoed in order in {seconds:0.0} s ({Count * Size / seconds / 1e6:0.00} MB/s each way)");
    }

    /// <summary>
    /// Sends message i = i (4 bytes, big-endian) + repeat(P, 16380). SIPSorcery has no
    /// bufferedamountlow event (it is commented out in RTCDataChannel), so above 1 MiB
    /// buffered this polls bufferedAmount until it is down to the 256 KiB threshold.
    /// </summary>
    private static async Task<byte[]> SendAll(ClientContext context, ClientPeer peer, RTCDataChannel dc)
    {
        byte[] filler = CellEnv.Repeat(context.Env.Payload, Size - 4);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int i = 0; i < Count; i++)
        {
            if (dc.bufferedAmount > HighWater)
            {
                await context.Expect(DrainedTo(dc, dc.bufferedAmountLowThreshold, context.Deadline),
                    $"bufferedAmount to fall to {LowThreshold} (message {i})", peer);
            }
            var message = new byte[Size];
            BinaryPrimitives.WriteInt32BigEndian(message, i);
            filler.CopyTo(message, 4);
            hash.AppendData(message);
            dc.send(message);
        }
        return hash.GetHashAndReset();
    }

    private static async Task<bool> DrainedTo(RTCDataChannel dc, ulong threshold, CancellationToken token)
    {
        while (dc.bufferedAmount > threshold)
        {
            await Task.Delay(2, token);
        }
        return true;
    }

    /// <summary>Receives the 1024 echoes, checking each is binary, 16384 bytes and the next in order.</summary>
    private static async Task<byte[]> ReceiveAll(ClientContext context, ClientPeer peer, ChannelProbe probe)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int i = 0; i < Count; i++)
        {
            DcMessage echo = await Negotiation.NextAsync(context, peer, probe, $"echo {i} of {Count}");
            if (echo.IsString || echo.Data.Length != Size)
            {
                throw new TestFailure($"echo {i}: {echo.Describe()}, expected binary of {Size} bytes");
            }
            int index = BinaryPrimitives.ReadInt32BigEndian(echo.Data);
            if (index != i)
            {
                throw new TestFailure($"echo {i} carries index {index}: out of order or lost");
            }
            hash.AppendData(echo.Data);
        }
        return hash.GetHashAndReset();
    }
}

using System.Buffers.Binary;
using System.Text;

namespace InteropPeer;

/// <summary>
/// The media files made at image build time by ffmpeg (the Dockerfile's media stage): the
/// client sends their encoded frames as they are, so no encoder runs in the container.
/// </summary>
internal static class MediaFiles
{
    public const string AudioPath = "/media/audio.ogg";
    public const string VideoPath = "/media/video.ivf";

    /// <summary>
    /// The Opus packets of an Ogg Opus file (RFC 7845), OpusHead and OpusTags left out. Each
    /// packet is one 20 ms frame because ffmpeg was told -frame_duration 20.
    /// </summary>
    public static List<byte[]> ReadOggOpus(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        var packets = new List<byte[]>();
        var current = new MemoryStream();
        int pos = 0;
        while (pos + 27 <= file.Length && Encoding.ASCII.GetString(file, pos, 4) == "OggS")
        {
            int segments = file[pos + 26];
            int data = pos + 27 + segments;
            for (int i = 0; i < segments; i++)
            {
                int lacing = file[pos + 27 + i];
                current.Write(file, data, lacing);
                data += lacing;
                if (lacing < 255)
                {
                    packets.Add(current.ToArray());
                    current.SetLength(0);
                }
            }
            pos = data;
        }
        return packets.Where(p => !StartsWith(p, "OpusHead") && !StartsWith(p, "OpusTags")).ToList();
    }

    /// <summary>The frames of an IVF file and its frame rate (header: DKIF, rate, scale).</summary>
    public static (List<byte[]> Frames, double Fps) ReadIvf(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        if (file.Length < 32 || Encoding.ASCII.GetString(file, 0, 4) != "DKIF")
        {
            throw new InvalidDataException($"{path} is not an IVF file");
        }
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(6));
        uint rate = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(16));
        uint scale = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(20));
        double fps = rate > 0 && scale > 0 ? (double)rate / scale : 15;
        var frames = new List<byte[]>();
        int pos = headerLength;
        while (pos + 12 <= file.Length)
        {
            int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos));
            if (pos + 12 + size > file.Length)
            {
                break;
            }
            frames.Add(file.AsSpan(pos + 12, size).ToArray());
            pos += 12 + size;
        }
        return (frames, fps);
    }

    private static bool StartsWith(byte[] packet, string magic) =>
        packet.Length >= magic.Length && Encoding.ASCII.GetString(packet, 0, magic.Length) == magic;
}

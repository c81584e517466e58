using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SIPSorcery.Net;

namespace InteropPeer;

/// <summary>
/// The cell's environment (contract section 2), read once. Both roles get the same values,
/// so the server can behave per test case and compare what it receives with the payload.
/// </summary>
internal sealed class CellEnv
{
    public string TestCase { get; private init; } = "datachannel";
    public string ServerUrl { get; private init; } = "http://server:8080/offer";
    public double TimeoutSeconds { get; private init; } = 30;
    /// <summary>P: TEST_PAYLOAD's bytes, or one made up by the same rule when it is unset.</summary>
    public byte[] Payload { get; private init; } = Array.Empty<byte>();
    public bool PayloadGiven { get; private init; }
    public List<RTCIceServer> IceServers { get; private init; } = new();
    public RTCIceTransportPolicy IcePolicy { get; private init; } = RTCIceTransportPolicy.all;
    public bool IceCaGiven { get; private init; }
    public double MediaDurationSeconds { get; private init; }
    public int MinEchoes { get; private init; } = 100;
    public string Scenario { get; private init; } = "direct";

    /// <summary>P as a string: the payload is printable ASCII by construction.</summary>
    public string PayloadText => Encoding.ASCII.GetString(Payload);

    /// <summary>The client's own budget: about 80 % of what the orchestrator waits.</summary>
    public TimeSpan ClientBudget => TimeSpan.FromSeconds(Math.Max(5, TimeoutSeconds * 0.8));

    /// <summary>Reads the environment; a malformed ICE_SERVERS is an error, never ignored.</summary>
    public static CellEnv Load(string? serverUrl)
    {
        (byte[] payload, bool given) = LoadPayload(Environment.GetEnvironmentVariable("TEST_PAYLOAD"));
        return new CellEnv
        {
            TestCase = Get("TEST_CASE") ?? "datachannel",
            ServerUrl = serverUrl ?? Get("SERVER_URL") ?? "http://server:8080/offer",
            TimeoutSeconds = GetDouble("TEST_TIMEOUT", 30),
            Payload = payload,
            PayloadGiven = given,
            IceServers = ParseIceServers(Get("ICE_SERVERS") ?? "[]"),
            IcePolicy = Get("ICE_TRANSPORT_POLICY") == "relay" ? RTCIceTransportPolicy.relay : RTCIceTransportPolicy.all,
            IceCaGiven = !string.IsNullOrWhiteSpace(Get("ICE_CA_PEM")),
            MediaDurationSeconds = GetDouble("MEDIA_DURATION", 0),
            MinEchoes = (int)GetDouble("MIN_ECHOES", 100),
            Scenario = Get("NETWORK_SCENARIO") ?? "direct",
        };
    }

    /// <summary>
    /// One RTCIceServer per URL: SIPSorcery's RTCIceServer.urls holds a single URL, while
    /// the W3C dictionary allows a list.
    /// </summary>
    public static List<RTCIceServer> ParseIceServers(string json)
    {
        var servers = new List<RTCIceServer>();
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("ICE_SERVERS is not a JSON array");
        }
        foreach (JsonElement entry in doc.RootElement.EnumerateArray())
        {
            string? username = OptionalString(entry, "username");
            string? credential = OptionalString(entry, "credential");
            foreach (string url in Urls(entry))
            {
                servers.Add(new RTCIceServer
                {
                    urls = url,
                    username = username,
                    credential = credential,
                    credentialType = RTCIceCredentialType.password,
                });
            }
        }
        return servers;
    }

    /// <summary>repeat(P, n): P repeated and cut to exactly n bytes (contract 2.1).</summary>
    public static byte[] Repeat(byte[] p, int n)
    {
        var result = new byte[n];
        for (int i = 0; i < n; i++)
        {
            result[i] = p[i % p.Length];
        }
        return result;
    }

    private static IEnumerable<string> Urls(JsonElement entry)
    {
        if (!entry.TryGetProperty("urls", out JsonElement urls))
        {
            throw new FormatException("an ICE_SERVERS entry has no urls");
        }
        if (urls.ValueKind == JsonValueKind.String)
        {
            return new[] { urls.GetString()! };
        }
        return urls.EnumerateArray().Select(u => u.GetString()!).ToList();
    }

    private static string? OptionalString(JsonElement entry, string name) =>
        entry.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>TEST_PAYLOAD as bytes, or a fresh P: 600 to 1000 bytes from '!' to '~'.</summary>
    private static (byte[], bool) LoadPayload(string? hex)
    {
        if (!string.IsNullOrEmpty(hex))
        {
            try
            {
                return (Convert.FromHexString(hex), true);
            }
            catch (FormatException)
            {
                Console.Error.WriteLine("TEST_PAYLOAD is not hex; making up a payload instead");
            }
        }
        var made = new byte[RandomNumberGenerator.GetInt32(600, 1001)];
        for (int i = 0; i < made.Length; i++)
        {
            made[i] = (byte)RandomNumberGenerator.GetInt32(0x21, 0x7f);
        }
        return (made, false);
    }

    private static string? Get(string name)
    {
        string? value = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    private static double GetDouble(string name, double fallback) =>
        double.TryParse(Get(name), NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            ? value
            : fallback;
}

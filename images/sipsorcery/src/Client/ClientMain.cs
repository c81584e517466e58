using Microsoft.Extensions.Logging;

namespace InteropPeer.Client;

/// <summary>
/// The client role: runs $TEST_CASE once and turns its outcome into the contract's verdict
/// line and exit code (0 passed, 1 failed, 127 not supported).
/// </summary>
internal static class ClientMain
{
    private static readonly Dictionary<string, Func<ClientContext, Task<string>>> Tests = new()
    {
        ["peerconnection"] = DataChannelTests.PeerConnection,
        ["datachannel"] = DataChannelTests.DataChannel,
        ["datachannel-large"] = DataChannelTests.Large,
        ["datachannel-binary"] = DataChannelTests.Binary,
        ["datachannel-unordered"] = DataChannelTests.Unordered,
        ["datachannel-negotiated"] = DataChannelTests.Negotiated,
        ["datachannel-many"] = DataChannelTests.Many,
        ["datachannel-server-open"] = DataChannelTests.ServerOpen,
        ["datachannel-bulk"] = BulkTest.Run,
        ["audio"] = MediaTests.Audio,
        ["video"] = MediaTests.Video,
        ["bundle-av-data"] = MediaTests.BundleAvData,
        ["trickle"] = SessionTests.Trickle,
        ["ice-restart"] = SessionTests.IceRestart,
        ["renegotiation"] = SessionTests.Renegotiation,
        ["reconnect"] = SessionTests.Reconnect,
    };

    public static async Task<int> RunAsync(string serverUrl)
    {
        CellEnv env;
        try
        {
            env = CellEnv.Load(serverUrl);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or System.Text.Json.JsonException)
        {
            Logs.Line($"FAIL: bad environment: {e.Message}");
            return 1;
        }
        ILoggerFactory logs = Logs.Create();
        var deadline = new CancellationTokenSource(env.ClientBudget);
        var context = new ClientContext(env, logs, deadline.Token);
        PeerFactory.Describe(env, context.Log);
        context.Log.LogInformation("test {Test} against {Url}, payload {Length} bytes{Given}",
            env.TestCase, env.ServerUrl, env.Payload.Length, env.PayloadGiven ? "" : " (made up, TEST_PAYLOAD unset)");

        (int code, string line) = await Verdict(context);
        context.CloseAll();
        logs.Dispose();
        Logs.Line(line);
        // SIPSorcery's timers and sockets must not keep the process alive after the verdict.
        Environment.Exit(code);
        return code;
    }

    private static async Task<(int, string)> Verdict(ClientContext context)
    {
        if (!Tests.TryGetValue(context.Env.TestCase, out var test))
        {
            return (127, $"UNSUPPORTED: the sipsorcery client does not know test case {context.Env.TestCase}");
        }
        try
        {
            return (0, "PASS: " + await test(context));
        }
        catch (TestUnsupported e)
        {
            return (127, "UNSUPPORTED: " + e.Message);
        }
        catch (TestFailure e)
        {
            return (1, "FAIL: " + e.Message);
        }
        catch (OperationCanceledException) when (context.Deadline.IsCancellationRequested)
        {
            return (1, $"FAIL: timed out after {context.Env.ClientBudget.TotalSeconds:0} s");
        }
        catch (Exception e)
        {
            context.Log.LogError(e, "the test threw");
            return (1, $"FAIL: {e.GetType().Name}: {e.Message}");
        }
    }
}

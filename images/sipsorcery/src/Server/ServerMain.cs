using Microsoft.Extensions.Logging;

namespace InteropPeer.Server;

/// <summary>The server role: one process serves one cell, several peer connections.</summary>
internal static class ServerMain
{
    public const int Port = 8080;

    public static async Task<int> RunAsync()
    {
        ILoggerFactory logs = Logs.Create();
        ILogger log = logs.CreateLogger("server");
        CellEnv env;
        try
        {
            env = CellEnv.Load(null);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or System.Text.Json.JsonException)
        {
            log.LogCritical("bad environment: {Error}", e.Message);
            logs.Dispose();
            return 1;
        }
        PeerFactory.Describe(env, log);
        await new SignallingServer(env, log).RunAsync(Port);
        return 0;
    }
}

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace InteropPeer;

/// <summary>
/// One console logger for this program and for SIPSorcery, whose ICE, DTLS and SCTP debug
/// messages are what explains a failed cell. SIPSORCERY_LOG_LEVEL overrides the level
/// (Trace, Debug, Information, Warning); the orchestrator keeps the head and tail of the log.
/// </summary>
internal static class Logs
{
    public static ILoggerFactory Create()
    {
        LogLevel level = Enum.TryParse(Environment.GetEnvironmentVariable("SIPSORCERY_LOG_LEVEL"), true, out LogLevel parsed)
            ? parsed
            : LogLevel.Debug;
        ILoggerFactory factory = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(level)
            .AddSimpleConsole(options =>
            {
                options.SingleLine = true;
                options.TimestampFormat = "HH:mm:ss.fff ";
                options.ColorBehavior = LoggerColorBehavior.Disabled;
            }));
        SIPSorcery.LogFactory.Set(factory);
        return factory;
    }

    /// <summary>
    /// A contract line (PASS:, FAIL:, NEGOTIATED:, ...): always on stdout, at the start of a line,
    /// flushed at once so that it is never lost with the process.
    /// </summary>
    public static void Line(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }
}

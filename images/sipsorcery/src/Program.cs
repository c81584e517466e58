// The SIPSorcery peer of the webrtc-interop contract (docs/contract.md).
//   sipsorcery-peer server         answers POST /offer and the session resource on :8080
//   sipsorcery-peer client <url>   runs $TEST_CASE against the server at <url>
//   sipsorcery-peer versions       prints what was really installed, as JSON
//   sipsorcery-peer selftest       build-time check that the stack runs on this image

using InteropPeer.Client;
using InteropPeer.Server;

namespace InteropPeer;

internal static class Program
{
    /// <summary>Dispatches on the first argument; the image's CMD is <c>server</c>.</summary>
    private static async Task<int> Main(string[] args)
    {
        string mode = args.Length > 0 ? args[0] : "server";
        switch (mode)
        {
            case "server":
                return await ServerMain.RunAsync();
            case "client":
                if (args.Length != 2)
                {
                    Console.Error.WriteLine("usage: sipsorcery-peer client <server offer URL>");
                    return 1;
                }
                return await ClientMain.RunAsync(args[1]);
            case "versions":
                Console.WriteLine(Versions.Json());
                return 0;
            case "selftest":
                return await SelfTest.RunAsync();
            default:
                Console.Error.WriteLine("usage: sipsorcery-peer server|client <url>|versions|selftest");
                return 2;
        }
    }
}

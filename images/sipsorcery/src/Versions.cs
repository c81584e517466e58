using System.Reflection;
using System.Text.Json;

namespace InteropPeer;

/// <summary>
/// What this image really runs, for /interop/versions.json (contract section 7): read from the
/// loaded assemblies' informational versions, so it is the same on every platform.
/// </summary>
internal static class Versions
{
    private static readonly (string Key, string Assembly)[] Components =
    {
        ("sipsorcery", "SIPSorcery"),
        ("sipsorcerymedia-abstractions", "SIPSorceryMedia.Abstractions"),
        ("bouncycastle-cryptography", "BouncyCastle.Cryptography"),
        ("concentus", "Concentus"),
    };

    public static string Json()
    {
        var versions = new Dictionary<string, string>();
        foreach (var (key, assembly) in Components)
        {
            string? informational = Informational(assembly);
            if (informational is null)
            {
                continue;
            }
            // "10.0.16+<commit>": the key holds the release; the build metadata is kept apart.
            versions[key] = informational.Split('+')[0];
            if (key == "sipsorcery" && informational.Contains('+'))
            {
                versions["sipsorcery-build"] = informational;
            }
        }
        versions["dotnet"] = Environment.Version.ToString();
        return JsonSerializer.Serialize(versions);
    }

    private static string? Informational(string name)
    {
        try
        {
            Assembly assembly = Assembly.Load(new AssemblyName(name));
            return assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                ?? assembly.GetName().Version?.ToString();
        }
        catch (Exception)
        {
            return null;
        }
    }
}

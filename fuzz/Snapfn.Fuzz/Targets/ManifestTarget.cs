using System.Text;
using Snapfn.Platform;

namespace Snapfn.Fuzz.Targets;

/// <summary>
/// A function's snapfn.json as the CLI reads it (<see cref="FunctionManifest"/>) and as the daemon reads a
/// deployed Python function's (<see cref="ScriptFunction"/>: its package list, then the runtime it names).
/// Allowed: <see cref="FunctionProjectException"/> (or <see cref="InvalidRequestException"/> for the memory size) from the first, <see cref="InvalidRequestException"/> from the second.
/// </summary>
public sealed class ManifestTarget : FuzzTarget
{
    private const string Path = "/fuzz/snapfn.json";

    public override string Name => "manifest";

    public override string Description => "FunctionManifest.Parse, then FunctionManifest.ParsePackage and the runtime it makes";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var json = Encoding.UTF8.GetString(input);
        try
        {
            _ = FunctionManifest.Parse(json, Path);
        }
        catch (Exception e) when (e is FunctionProjectException or InvalidRequestException)
        {
            // InvalidRequestException: the memory size is checked by MemorySize, shared with the daemon's requests.
            Named(e);
        }
        try
        {
            var manifest = FunctionManifest.ParsePackage(json, Path);
            _ = ScriptFunction.RuntimeOf(ScriptFunction.LanguageOf(manifest), manifest.Packages ?? [], Path);
        }
        catch (InvalidRequestException e)
        {
            Named(e);
        }
    }

    private static void Named(Exception e)
    {
        // The daemon's refusals name the file as the client knows it (snapfn.json), not where it was unpacked.
        if (!e.Message.Contains(System.IO.Path.GetFileName(Path), StringComparison.Ordinal))
            throw new InvariantViolatedException($"a refusal that does not name the file: {e.Message}", e);
    }

    public override IEnumerable<(string Name, byte[] Bytes)> Seeds()
    {
        yield return ("c", Encoding.UTF8.GetBytes(new FunctionManifest { Name = "hello", Description = "greets" }.ToJson()));
        yield return ("python", Encoding.UTF8.GetBytes(new FunctionManifest
        {
            Name = "py-fn", Runtime = FunctionManifest.PythonRuntime, MemoryMib = 256, Packages = ["python3-numpy", "python3-pil"],
        }.ToJson()));
        yield return ("python-minimal", "{\"runtime\": \"python\"}\n"u8.ToArray());
    }
}

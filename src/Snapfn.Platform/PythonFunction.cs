using System.Text.Json;

namespace Snapfn.Platform;

/// <summary>A Python function's folder: main.py with handle(request) (and an optional init()), and snapfn.json
/// saying {"runtime": "python"}.</summary>
public static class PythonFunction
{
    public const string ManifestFile = "snapfn.json";
    public const string MainFile = "main.py";

    /// <summary>True for a folder whose snapfn.json names the python runtime and that has a main.py.</summary>
    public static bool IsPythonFolder(string folder)
    {
        var manifest = Path.Combine(folder, ManifestFile);
        if (!File.Exists(manifest) || !File.Exists(Path.Combine(folder, MainFile)))
            return false;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(manifest));
            return document.RootElement.ValueKind == JsonValueKind.Object &&
                document.RootElement.TryGetProperty("runtime", out var runtime) && runtime.ValueKind == JsonValueKind.String &&
                runtime.GetString() == "python";
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

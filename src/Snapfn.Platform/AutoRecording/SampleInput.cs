using System.Text.Json;

namespace Snapfn.Platform.AutoRecording;

/// <summary>
/// The sample input a function's author may declare in snapfn.json (<c>"sample_input": "sample.json"</c>: a file in
/// the function's folder): what the platform records the function with right after its snapshot, instead of waiting
/// for a first request. The name comes from a client: it must stay inside the folder and name a regular file.
/// </summary>
public static class SampleInput
{
    public const string Field = "sample_input";

    /// <summary>The name snapfn.json in <paramref name="folder"/> declares, or null when it declares none (or there is
    /// no snapfn.json: a C function).</summary>
    public static string? Declared(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var manifest = Path.Combine(folder, FunctionManifest.FileName);
        if (!File.Exists(manifest))
            return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(manifest));
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(Field, out var value)
                ? value.ValueKind == JsonValueKind.String ? value.GetString() : throw Bad($"\"{Field}\" must be a string naming a file in the function's folder")
                : null;
        }
        catch (JsonException e)
        {
            throw Bad($"{FunctionManifest.FileName} is not valid JSON: {e.Message}");
        }
    }

    /// <summary>The declared sample input's bytes, or null when none is declared. Throws <see cref="InvalidRequestException"/>
    /// when the declaration is unusable (outside the folder, missing, not a file, above <paramref name="maxBytes"/>).</summary>
    public static byte[]? Read(string folder, long maxBytes)
    {
        if (Declared(folder) is not { } name)
            return null;
        var path = Resolve(folder, name);
        var info = new FileInfo(path);
        if (!info.Exists)
            throw Bad($"\"{Field}\" names '{name}', which is not a file in the function's folder: add it or fix the name");
        if (info.Length > maxBytes)
            throw Bad($"\"{Field}\" '{name}' is {info.Length} bytes, more than the {maxBytes} an input may be: give a smaller sample");
        return File.ReadAllBytes(path);
    }

    /// <summary>The path of <paramref name="name"/> in <paramref name="folder"/>: relative, no "..", no symbolic link on
    /// the way (a deployed folder comes from a client).</summary>
    private static string Resolve(string folder, string name)
    {
        if (name.Length == 0 || Path.IsPathRooted(name) || name.Contains('\0', StringComparison.Ordinal))
            throw Bad($"\"{Field}\" must be a relative path to a file in the function's folder, not '{name}'");
        var parts = name.Split('/');
        if (parts.Any(p => p is "" or "." or ".."))
            throw Bad($"\"{Field}\" '{name}' must name a file inside the function's folder (no '..', '.' or empty parts)");
        var path = Path.GetFullPath(folder);
        foreach (var part in parts)
        {
            path = Path.Combine(path, part);
            if (new FileInfo(path).LinkTarget is not null)
                throw Bad($"\"{Field}\" '{name}' goes through a symbolic link: make it a plain file in the function's folder");
        }
        return path;
    }

    private static InvalidRequestException Bad(string message) => new($"{FunctionManifest.FileName}: {message}");
}

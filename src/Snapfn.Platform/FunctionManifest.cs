using System.Text.Json;
using System.Text.Json.Serialization;

namespace Snapfn.Platform;

/// <summary>A user function's snapfn.json: the name it registers under, what it is written in (c, the default, or
/// python), its guest memory and a description.</summary>
public sealed record FunctionManifest
{
    public const string FileName = "snapfn.json";
    public const int DefaultMemoryMiB = 512;

    private static readonly JsonSerializerOptions _json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        // A file people edit: keep quotes and non-ASCII readable.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // "name": null is as wrong as a missing name: refused with the file's path, not a NullReferenceException later.
        RespectNullableAnnotations = true,
    };

    public const string NativeRuntime = "c";
    public const string PythonRuntime = "python";

    public required string Name { get; init; }

    public string Runtime { get; init; } = NativeRuntime;

    public int MemoryMib { get; init; } = DefaultMemoryMiB;

    [JsonIgnore]
    public bool IsPython => Runtime == PythonRuntime;

    public string Description { get; init; } = "";

    /// <summary>For a Python function: the Debian packages its runtime adds (python3-numpy, ...).</summary>
    public IReadOnlyList<string>? Packages { get; init; }

    /// <summary>A file in the function's folder holding a typical request: the platform records the function's working
    /// set with it right after the snapshot, instead of waiting for a first request (see docs/auto-recording.md).</summary>
    public string? SampleInput { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, _json) + "\n";

    /// <summary>Reads and checks <paramref name="directory"/>/snapfn.json.</summary>
    public static FunctionManifest Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new FunctionProjectException($"{directory} is not a Snapfn function folder (no {FileName}); create one with `snapfn new NAME`");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses and checks the text of a snapfn.json read from <paramref name="path"/>.</summary>
    internal static FunctionManifest Parse(string json, string path)
    {
        FunctionManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<FunctionManifest>(json, _json);
        }
        catch (JsonException e)
        {
            throw new FunctionProjectException($"{path} is not valid: {e.Message}", e);
        }
        if (manifest is null)
            throw new FunctionProjectException($"{path} is empty");
        if (!FunctionName.IsValid(manifest.Name))
            throw new FunctionProjectException($"{path}: '{manifest.Name}' is not a valid function name (lower-case letters, digits and inner dashes, at most 64)");
        if (manifest.Runtime is not (NativeRuntime or PythonRuntime))
            throw new FunctionProjectException($"{path}: runtime '{manifest.Runtime}' is not one of {NativeRuntime}, {PythonRuntime}");
        MemorySize.Check(manifest.MemoryMib, path + ": memory_mib");
        return manifest;
    }
}

/// <summary>A function folder or its build is not usable; the message says what to fix.</summary>
public sealed class FunctionProjectException : Exception
{
    public FunctionProjectException(string message) : base(message) { }

    public FunctionProjectException() { }

    public FunctionProjectException(string message, Exception innerException) : base(message, innerException) { }
}

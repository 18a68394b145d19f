using System.Text.Json;
using System.Text.Json.Serialization;

namespace Snapfn.Platform;

/// <summary>
/// A function's snapfn.json, the one schema of it: the name it registers under, what it is written in (c, the
/// default, python or node), its guest memory, a description, the Debian packages a script function adds, how it is
/// served (<c>keep_state</c>, <c>max_instances</c>, <c>retryable</c>) and a sample request (<c>sample_input</c>). Read in two places
/// with the same checks: a function folder on the user's machine (<see cref="Load"/>, the name required, errors
/// are the folder's: <see cref="FunctionProjectException"/>), and a deployed or built-in script function's folder
/// (<see cref="ParsePackage"/>, runtime python (the default) or node, the name optional, errors are the request's:
/// <see cref="InvalidRequestException"/>). Unknown fields are refused, so a misspelt field is never silently ignored.
/// </summary>
public sealed record FunctionManifest
{
    public const string FileName = "snapfn.json";
    public const int DefaultMemoryMiB = 512;

    /// <summary>The largest sample_input file: a request body, not a data set.</summary>
    public const int MaxSampleInputBytes = 1 << 20;

    private static readonly JsonSerializerOptions _json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        // A file people edit: keep quotes and non-ASCII readable.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public const string NativeRuntime = "c";
    public const string PythonRuntime = "python";
    public const string NodeRuntime = "node";

    /// <summary>Every field, as the errors list them.</summary>
    public static IReadOnlyList<string> Fields { get; } =
        ["name", "runtime", "memory_mib", "description", "packages", "keep_state", "max_instances", "retryable", "sample_input"];

    /// <summary>Required in a function folder; a deployed package is named by its deploy request.</summary>
    public string? Name { get; init; }

    public string Runtime { get; init; } = NativeRuntime;

    public int MemoryMib { get; init; } = DefaultMemoryMiB;

    /// <summary>True for a function in a script language (python, node): a folder run by its shim, nothing to compile.</summary>
    [JsonIgnore]
    public bool IsScript => ScriptRuntime.Find(Runtime) is not null;

    public string Description { get; init; } = "";

    /// <summary>For a script function: the Debian packages its runtime adds (python3-numpy, node-lodash, ...).</summary>
    public IReadOnlyList<string>? Packages { get; init; }

    /// <summary>True when the function keeps state between requests: its VM is then kept as it is and reused
    /// (<see cref="FunctionSettings.KeepState"/>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool KeepState { get; init; }

    /// <summary>VMs of the function running at once (1-256); the platform's default when absent.</summary>
    public int? MaxInstances { get; init; }

    /// <summary>False when a request must not run twice (it charges a card, sends a mail): on a cluster, a synchronous
    /// request whose worker vanished is then not sent to another worker; absent means true.</summary>
    public bool? Retryable { get; init; }

    [JsonIgnore]
    public bool IsRetryable => Retryable ?? true;

    /// <summary>A file of the function's folder (a path below it, such as "sample.json") holding a typical request
    /// body, at most <see cref="MaxSampleInputBytes"/>: what the platform may run the function with before real
    /// requests come (to record its working set).</summary>
    public string? SampleInput { get; init; }

    [JsonIgnore]
    public FunctionSettings Settings => new() { KeepState = KeepState, MaxInstances = MaxInstances };

    public string ToJson() => JsonSerializer.Serialize(this, _json) + "\n";

    /// <summary>Reads and checks <paramref name="directory"/>/snapfn.json of a function folder.</summary>
    public static FunctionManifest Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new FunctionProjectException($"{directory} is not a Snapfn function folder (no {FileName}); create one with `snapfn new NAME`");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses and checks the text of a function folder's snapfn.json read from <paramref name="path"/>.</summary>
    internal static FunctionManifest Parse(string json, string path) =>
        Read(json, path, project: true, maxPackages: null, (message, inner) => new FunctionProjectException(message, inner!));

    /// <summary>Parses and checks the snapfn.json of a script function's folder (deployed or built in), read from
    /// <paramref name="path"/>; with <paramref name="maxPackages"/>, a longer package list is refused
    /// (<see cref="LimitExceededException"/> "package-list") before anything is resolved or installed.</summary>
    public static FunctionManifest ParsePackage(string json, string path, int? maxPackages = null) =>
        Read(json, path, project: false, maxPackages, (message, inner) => new InvalidRequestException(message, inner!));

    /// <summary>The sample request body <see cref="SampleInput"/> names in <paramref name="folder"/>, or null when it
    /// names none; <see cref="InvalidRequestException"/> when the file is missing, not a regular file inside the
    /// folder, or larger than <see cref="MaxSampleInputBytes"/>.</summary>
    public byte[]? ReadSampleInput(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (SampleInput is null)
            return null;
        var root = Path.GetFullPath(folder);
        var path = Path.GetFullPath(Path.Combine(root, SampleInput));
        if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new InvalidRequestException($"{FileName}: sample_input \"{SampleInput}\" is not inside the function's folder");
        // A folder on the way may be a symbolic link out of it (GetFullPath does not follow links): each part is checked.
        for (var part = path; part.Length > root.Length; part = Path.GetDirectoryName(part)!)
        {
            if (new FileInfo(part).LinkTarget is not null)
                throw new InvalidRequestException($"{FileName}: sample_input \"{SampleInput}\" goes through a symbolic link: make it a plain file of the function's folder");
        }
        var info = new FileInfo(path);
        if (!info.Exists)
            throw new InvalidRequestException($"{FileName}: sample_input names \"{SampleInput}\", which is not a file of the function's folder: add it or remove the field");
        if (info.Length > MaxSampleInputBytes)
            throw new InvalidRequestException($"{FileName}: sample_input \"{SampleInput}\" is {info.Length} bytes, more than the {MaxSampleInputBytes} a sample request may have");
        return File.ReadAllBytes(path);
    }

    private static FunctionManifest Read(string json, string path, bool project, int? maxPackages, Func<string, Exception?, Exception> error)
    {
        ArgumentNullException.ThrowIfNull(json);
        var example = project
            ? "{\"name\": \"my-fn\", \"runtime\": \"python\"}"
            : "{\"runtime\": \"python\", \"packages\": [\"python3-numpy\"]}";
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw error($"{path} is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw error($"{path} must be a JSON object such as {example}, not {Describe(root)}", null);
            var manifest = new FunctionManifest { Runtime = project ? NativeRuntime : PythonRuntime };
            foreach (var field in root.EnumerateObject())
            {
                var value = field.Value;
                Exception Wrong(string expected) => error($"{path}: \"{field.Name}\" must be {expected}, not {Describe(value)}", null);
                switch (field.Name)
                {
                    case "name":
                        if (value.ValueKind != JsonValueKind.String)
                            throw Wrong("a string");
                        if (!FunctionName.IsValid(value.GetString()!))
                            throw error($"{path}: '{value.GetString()}' is not a valid function name (lower-case letters, digits and inner dashes, at most 64)", null);
                        manifest = manifest with { Name = value.GetString() };
                        break;
                    case "description":
                        manifest = manifest with { Description = value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Wrong("a string") };
                        break;
                    case "runtime":
                        var runtime = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
                        if ((!project || runtime != NativeRuntime) && ScriptRuntime.Find(runtime) is null)
                        {
                            var scripts = string.Join(" or ", ScriptRuntime.All.Select(r => $"\"{r.Name}\""));
                            var expected = project ? $"\"{NativeRuntime}\", {scripts}" : scripts;
                            throw runtime is null ? Wrong(expected) : error($"{path}: \"runtime\" must be {expected}, not \"{runtime}\"", null);
                        }
                        manifest = manifest with { Runtime = runtime! };
                        break;
                    case "memory_mib":
                        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var mib))
                            throw Wrong("a whole number of MiB");
                        MemorySize.Check(mib, path + ": memory_mib");
                        manifest = manifest with { MemoryMib = mib };
                        break;
                    case "packages":
                        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(p => p.ValueKind != JsonValueKind.String))
                            throw Wrong("a list of Debian package names");
                        var count = value.GetArrayLength();
                        if (count > maxPackages)
                        {
                            throw new LimitExceededException("package-list", $"{FileName} lists {count} packages, more than the {maxPackages} a function may list",
                                "raise it with `snapfn serve --max-packages N`");
                        }
                        manifest = manifest with { Packages = [.. value.EnumerateArray().Select(p => p.GetString()!)] };
                        break;
                    case "keep_state":
                        manifest = manifest with { KeepState = value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : throw Wrong("true or false") };
                        break;
                    case "max_instances":
                        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var max) || FunctionSettings.CheckMaxInstances(max) is not null)
                            throw Wrong($"a whole number between 1 and {FunctionSettings.MaxInstancesCeiling}");
                        manifest = manifest with { MaxInstances = (int)max };
                        break;
                    case "retryable":
                        manifest = manifest with { Retryable = value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : throw Wrong("true or false") };
                        break;
                    case "sample_input":
                        if (value.ValueKind != JsonValueKind.String || !IsFolderPath(value.GetString()!))
                            throw Wrong("the path of a file in the function's folder, such as \"sample.json\"");
                        manifest = manifest with { SampleInput = value.GetString() };
                        break;
                    default:
                        throw error($"{path} has an unknown field \"{field.Name}\": its fields are {string.Join(", ", Fields)}", null);
                }
            }
            if (project && manifest.Name is null)
                throw error($"{path} has no \"name\": give the function's name, such as {example}", null);
            return manifest;
        }
    }

    /// <summary>A relative path that stays below the folder: no leading /, no . or .. or empty part, no backslash or
    /// NUL, at most 255 characters.</summary>
    private static bool IsFolderPath(string path) =>
        path.Length is > 0 and <= 255 && !path.StartsWith('/') && !path.Contains('\\', StringComparison.Ordinal) &&
        !path.Contains('\0', StringComparison.Ordinal) && path.Split('/').All(part => part is not ("" or "." or ".."));

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}

/// <summary>A function folder or its build is not usable; the message says what to fix.</summary>
public sealed class FunctionProjectException : Exception
{
    public FunctionProjectException(string message) : base(message) { }

    public FunctionProjectException() { }

    public FunctionProjectException(string message, Exception innerException) : base(message, innerException) { }
}

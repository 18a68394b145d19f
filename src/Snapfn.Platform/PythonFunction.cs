using System.Text.Json;

namespace Snapfn.Platform;

/// <summary>A Python function's folder: main.py with handle(request) (and an optional init()), and snapfn.json
/// saying {"runtime": "python"} and, optionally, the Debian packages it needs ({"packages": ["python3-numpy"]}).</summary>
public static class PythonFunction
{
    /// <summary>Libraries that start a thread per core by default are told to use one: guests are single-threaded
    /// (a thread they try to create is refused), and OpenBLAS, OpenMP and PyTorch then run on the calling thread.</summary>
    public static IReadOnlyList<string> Environment { get; } =
        [.. Linux.ProcessOptions.DefaultEnvironment, "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1",
         "NUMEXPR_NUM_THREADS=1", "PYTHONHASHSEED=0"];

    /// <summary>The Debian packages snapfn.json lists (none when it lists none). Checks the whole file first
    /// (<see cref="FunctionManifest.ParsePackage"/>): a deployed function's snapfn.json comes from the client, and a
    /// wrong shape is the request's fault. With <paramref name="maxPackages"/>, a longer list is refused before
    /// anything is resolved or installed.</summary>
    public static IReadOnlyList<string> Packages(string folder, int? maxPackages = null) => Manifest(folder, maxPackages).Packages ?? [];

    /// <summary>The folder's snapfn.json, checked as a Python function's.</summary>
    public static FunctionManifest Manifest(string folder, int? maxPackages = null)
    {
        var manifest = Path.Combine(folder, ManifestFile);
        return FunctionManifest.ParsePackage(File.ReadAllText(manifest), manifest, maxPackages);
    }

    /// <summary>The packages the text of a snapfn.json read from <paramref name="manifest"/> lists.</summary>
    internal static IReadOnlyList<string> PackagesOf(string json, string manifest, int? maxPackages = null) =>
        FunctionManifest.ParsePackage(json, manifest, maxPackages).Packages ?? [];

    /// <summary>The runtime a folder's function runs on: python plus the packages it lists.</summary>
    public static Linux.Roots.Runtime Runtime(string folder, int? maxPackages = null) =>
        RuntimeOf(Packages(folder, maxPackages), Path.Combine(folder, ManifestFile));

    /// <summary>Python plus <paramref name="packages"/>, which the snapfn.json at <paramref name="manifest"/> listed.</summary>
    internal static Linux.Roots.Runtime RuntimeOf(IReadOnlyList<string> packages, string manifest)
    {
        try
        {
            return packages.Count == 0 ? Linux.Roots.Runtimes.Python : Linux.Roots.Runtimes.Python.With(packages);
        }
        catch (ArgumentException e)
        {
            throw new InvalidRequestException($"{manifest}: {e.Message}", e);
        }
    }

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

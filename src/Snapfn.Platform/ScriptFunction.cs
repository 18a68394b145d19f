using System.Text.Json;

namespace Snapfn.Platform;

/// <summary>A function's folder in a script language (<see cref="ScriptRuntime"/>): its main file (main.py with
/// handle(request), index.js exporting handle) and an optional init, and snapfn.json saying {"runtime": "python"} or
/// {"runtime": "node"} and, optionally, the Debian packages it needs ({"packages": ["python3-numpy"]}).</summary>
public static class ScriptFunction
{
    /// <summary>The Debian packages snapfn.json lists (none when it lists none). Checks the whole file first
    /// (<see cref="FunctionManifest.ParsePackage"/>): a deployed function's snapfn.json comes from the client, and a
    /// wrong shape is the request's fault. With <paramref name="maxPackages"/>, a longer list is refused before
    /// anything is resolved or installed.</summary>
    public static IReadOnlyList<string> Packages(string folder, int? maxPackages = null) => Manifest(folder, maxPackages).Packages ?? [];

    /// <summary>The folder's snapfn.json, checked as a script function's.</summary>
    public static FunctionManifest Manifest(string folder, int? maxPackages = null)
    {
        var manifest = Path.Combine(folder, ManifestFile);
        return FunctionManifest.ParsePackage(File.ReadAllText(manifest), manifest, maxPackages);
    }

    /// <summary>The language snapfn.json names (python when it names none, as the first script functions did).</summary>
    public static ScriptRuntime Language(string folder) => LanguageOf(Manifest(folder));

    /// <summary>The language a checked snapfn.json names.</summary>
    public static ScriptRuntime LanguageOf(FunctionManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return ScriptRuntime.Find(manifest.Runtime) ?? throw new InvalidRequestException(
            $"{ManifestFile}: runtime \"{manifest.Runtime}\" is not a script language ({ScriptRuntime.Names()})");
    }

    /// <summary>The runtime a folder's function runs on: its language's root plus the packages it lists.</summary>
    public static Linux.Roots.Runtime Runtime(string folder, int? maxPackages = null)
    {
        var manifest = Manifest(folder, maxPackages);
        return RuntimeOf(LanguageOf(manifest), manifest.Packages ?? [], Path.Combine(folder, ManifestFile));
    }

    /// <summary>The <paramref name="language"/>'s root plus <paramref name="packages"/>, which the snapfn.json at
    /// <paramref name="manifest"/> listed.</summary>
    internal static Linux.Roots.Runtime RuntimeOf(ScriptRuntime language, IReadOnlyList<string> packages, string manifest)
    {
        try
        {
            return packages.Count == 0 ? language.Root : language.Root.With(packages);
        }
        catch (ArgumentException e)
        {
            throw new InvalidRequestException($"{manifest}: {e.Message}", e);
        }
    }

    public const string ManifestFile = "snapfn.json";

    /// <summary>The language of a folder whose snapfn.json names a script language and that has that language's main
    /// file, or null for anything else (an ELF, a C project, a broken snapfn.json).</summary>
    public static ScriptRuntime? LanguageOrNull(string folder)
    {
        var manifest = Path.Combine(folder, ManifestFile);
        if (!File.Exists(manifest))
            return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(manifest));
            if (document.RootElement.ValueKind != JsonValueKind.Object ||
                !document.RootElement.TryGetProperty("runtime", out var runtime) || runtime.ValueKind != JsonValueKind.String)
                return null;
            var language = ScriptRuntime.Find(runtime.GetString());
            return language is not null && File.Exists(Path.Combine(folder, language.MainFile)) ? language : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>True for a folder whose snapfn.json names a script language and that has its main file.</summary>
    public static bool IsScriptFolder(string folder) => LanguageOrNull(folder) is not null;
}

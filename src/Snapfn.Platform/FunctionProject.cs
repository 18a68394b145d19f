namespace Snapfn.Platform;

/// <summary>
/// A user function's folder, as `snapfn new` makes it: main.c (snapfn_init/snapfn_handle), snapfn.json (name,
/// memory), a Makefile that builds through the guest SDK, and copies of the SDK headers under sdk/include for
/// editors. The build always compiles against the SDK's own headers, so a stale copy cannot mislead it.
/// </summary>
public sealed class FunctionProject
{
    public const string SdkCopyFolder = "sdk/include";

    private FunctionProject(string directory, FunctionManifest manifest)
    {
        Directory = directory;
        Manifest = manifest;
        // Load refuses a folder's snapfn.json without a name.
        Name = manifest.Name ?? throw new FunctionProjectException($"{directory}/{FunctionManifest.FileName} has no \"name\"");
    }

    /// <summary>The name it registers under (snapfn.json's, required in a folder).</summary>
    public string Name { get; }

    public string Directory { get; }

    public FunctionManifest Manifest { get; }

    /// <summary>Where `snapfn build` puts the ELF.</summary>
    public string ElfPath => Path.Combine(Directory, "build", Name + ".elf");

    public static FunctionProject Open(string directory)
    {
        var full = Path.GetFullPath(directory);
        return new FunctionProject(full, FunctionManifest.Load(full));
    }

    /// <summary>Creates <paramref name="directory"/> (which must not exist or be empty) from the template of
    /// <paramref name="runtime"/> (c, python or node).</summary>
    public static FunctionProject Create(string directory, string name, GuestSdk sdk, string runtime = FunctionManifest.NativeRuntime)
    {
        ArgumentNullException.ThrowIfNull(sdk);
        if (!FunctionName.IsValid(name))
            throw new InvalidRequestException($"'{name}' is not a valid function name: use lower-case letters, digits and inner dashes (at most 64)");
        var full = Path.GetFullPath(directory);
        if (System.IO.Directory.Exists(full) && System.IO.Directory.EnumerateFileSystemEntries(full).Any())
            throw new FunctionProjectException($"{full} already exists and is not empty: choose another folder");
        if (ScriptRuntime.Find(runtime) is { } language)
            return CreateScript(full, name, sdk, language);
        if (runtime != FunctionManifest.NativeRuntime)
            throw new InvalidRequestException($"runtime '{runtime}' is not one of {FunctionManifest.NativeRuntime}, {ScriptRuntime.Names(", ")}");
        var headers = sdk.Headers();
        System.IO.Directory.CreateDirectory(Path.Combine(full, SdkCopyFolder));
        var manifest = new FunctionManifest { Name = name, Description = $"{name}: greets {{\"name\": ...}}" };
        File.WriteAllText(Path.Combine(full, FunctionManifest.FileName), manifest.ToJson());
        File.WriteAllText(Path.Combine(full, "main.c"), FunctionTemplate.MainC(name));
        File.WriteAllText(Path.Combine(full, "Makefile"), FunctionTemplate.Makefile(sdk.Root));
        File.WriteAllText(Path.Combine(full, ".gitignore"), "build/\n");
        foreach (var header in headers)
            File.Copy(header, Path.Combine(full, SdkCopyFolder, Path.GetFileName(header)));
        return new FunctionProject(full, manifest);
    }

    /// <summary>A script function: its language's main file from guest/&lt;language&gt;/template (main.py, index.js) and
    /// a snapfn.json naming the runtime.</summary>
    private static FunctionProject CreateScript(string full, string name, GuestSdk sdk, ScriptRuntime language)
    {
        var template = Path.Combine(sdk.Root, language.ShimFolder, "template", language.MainFile);
        if (!File.Exists(template))
            throw new DirectoryNotFoundException($"the {language.Language} template is not at {template}: set SNAPFN_GUEST_DIR to the guest/build folder of a Snapfn checkout");
        System.IO.Directory.CreateDirectory(full);
        var manifest = new FunctionManifest { Name = name, Runtime = language.Name, Description = $"{name}: greets {{\"name\": ...}}" };
        File.WriteAllText(Path.Combine(full, FunctionManifest.FileName), manifest.ToJson());
        File.Copy(template, Path.Combine(full, language.MainFile));
        File.WriteAllText(Path.Combine(full, ".gitignore"), language.Ignored);
        return new FunctionProject(full, manifest);
    }
}

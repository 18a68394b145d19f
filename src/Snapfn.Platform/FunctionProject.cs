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
    /// <paramref name="runtime"/> (c or python).</summary>
    public static FunctionProject Create(string directory, string name, GuestSdk sdk, string runtime = FunctionManifest.NativeRuntime)
    {
        ArgumentNullException.ThrowIfNull(sdk);
        if (!FunctionName.IsValid(name))
            throw new InvalidRequestException($"'{name}' is not a valid function name: use lower-case letters, digits and inner dashes (at most 64)");
        var full = Path.GetFullPath(directory);
        if (System.IO.Directory.Exists(full) && System.IO.Directory.EnumerateFileSystemEntries(full).Any())
            throw new FunctionProjectException($"{full} already exists and is not empty: choose another folder");
        if (runtime == FunctionManifest.PythonRuntime)
            return CreatePython(full, name, sdk);
        if (runtime != FunctionManifest.NativeRuntime)
            throw new InvalidRequestException($"runtime '{runtime}' is not one of {FunctionManifest.NativeRuntime}, {FunctionManifest.PythonRuntime}");
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

    /// <summary>A Python function: main.py from guest/python/template and a snapfn.json saying runtime python.</summary>
    private static FunctionProject CreatePython(string full, string name, GuestSdk sdk)
    {
        var template = Path.Combine(sdk.Root, "python", "template", PythonFunction.MainFile);
        if (!File.Exists(template))
            throw new DirectoryNotFoundException($"the Python template is not at {template}: set SNAPFN_GUEST_DIR to the guest/build folder of a Snapfn checkout");
        System.IO.Directory.CreateDirectory(full);
        var manifest = new FunctionManifest { Name = name, Runtime = FunctionManifest.PythonRuntime, Description = $"{name}: greets {{\"name\": ...}}" };
        File.WriteAllText(Path.Combine(full, FunctionManifest.FileName), manifest.ToJson());
        File.Copy(template, Path.Combine(full, PythonFunction.MainFile));
        File.WriteAllText(Path.Combine(full, ".gitignore"), "__pycache__/\n");
        return new FunctionProject(full, manifest);
    }
}

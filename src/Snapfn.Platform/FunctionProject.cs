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
    }

    public string Directory { get; }

    public FunctionManifest Manifest { get; }

    /// <summary>Where `snapfn build` puts the ELF.</summary>
    public string ElfPath => Path.Combine(Directory, "build", Manifest.Name + ".elf");

    public static FunctionProject Open(string directory)
    {
        var full = Path.GetFullPath(directory);
        return new FunctionProject(full, FunctionManifest.Load(full));
    }

    /// <summary>Creates <paramref name="directory"/> (which must not exist or be empty) from the template.</summary>
    public static FunctionProject Create(string directory, string name, GuestSdk sdk)
    {
        ArgumentNullException.ThrowIfNull(sdk);
        if (!FunctionName.IsValid(name))
            throw new InvalidRequestException($"'{name}' is not a valid function name: use lower-case letters, digits and inner dashes (at most 64)");
        var full = Path.GetFullPath(directory);
        if (System.IO.Directory.Exists(full) && System.IO.Directory.EnumerateFileSystemEntries(full).Any())
            throw new FunctionProjectException($"{full} already exists and is not empty: choose another folder");
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
}

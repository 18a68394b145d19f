using Snapfn.Linux;
using Snapfn.Linux.Files;
using Snapfn.Linux.Roots;
using Snapfn.Snapshots;
using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>
/// The program a function's VM runs: its ELF for a native function; for a script function, its language's
/// interpreter from the language's runtime root (Debian's python3, Debian's node) running Snapfn's shim for it
/// (guest/python, guest/node, seen at /snapfn/python, /snapfn/node) on the function's folder, which the VM sees
/// read-only at /function.
/// </summary>
public static class GuestPrograms
{
    public const string FunctionMount = "/function";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Path, string Home, GuestLimits Limits), (string Stamp, IGuestProgram Program)> _programs = new();

    /// <summary>The function's program, made once per version of its files: an invocation does not re-read and
    /// re-hash an unchanged ELF or folder (the cache is keyed by each file's path, size and modification time).
    /// A Linux program's VMs get <paramref name="limits"/> (the defaults when null).</summary>
    public static IGuestProgram For(FunctionInfo function, SnapfnHome? home = null, GuestLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        home ??= SnapfnHome.Default();
        limits ??= new GuestLimits();
        var key = (function.CodePath, home.Path, limits);
        var stamp = Stamp(function, home);
        if (_programs.TryGetValue(key, out var cached) && cached.Stamp == stamp)
            return cached.Program;
        IGuestProgram program = function.Runtime switch
        {
            FunctionRuntime.Script => Script(function, home, limits),
            _ => new ElfGuest(ElfImage.Load(function.CodePath)),
        };
        _programs[key] = (stamp, program);
        return program;
    }

    /// <summary>The version (<see cref="FileVersion"/>) of every file the program is made from (for a script function:
    /// the folder, the shim and the root's manifest).</summary>
    private static string Stamp(FunctionInfo function, SnapfnHome home)
    {
        static string Of(string path) => $"{path}:{FileVersion.Of(path)?.ToString() ?? "-"}";
        if (function.Runtime == FunctionRuntime.Native)
            return Of(function.CodePath);
        var manifest = Path.Combine(new RootBuilder(home.Path).FolderOf(ScriptFunction.Runtime(function.CodePath).Key), RootManifest.FileName);
        return string.Join('|', FolderFiles(function.CodePath).Select(f => Of(f.Path)).Append(Of(ShimPath(function))).Append(Of(manifest)));
    }

    /// <summary>The version of every file <see cref="CodeSha256"/> reads (stat only, no contents): equal stamps mean the
    /// hash need not be computed again. A file rewritten in place keeps its inode but not its modification time;
    /// one replaced by rename (how builds and Snapfn write) gets a new inode.</summary>
    public static string CodeStamp(FunctionInfo function)
    {
        ArgumentNullException.ThrowIfNull(function);
        static string Of(string name, string path) => $"{name}:{FileVersion.Of(path)?.ToString() ?? "-"}";
        if (function.Runtime == FunctionRuntime.Native)
            return Of("elf", function.CodePath);
        return string.Join('|', FolderFiles(function.CodePath).Select(f => Of(f.Name, f.Path)).Append(Of("shim", ShimPath(function))));
    }

    /// <summary>Identifies a function's code: the ELF's SHA-256, or one over the script folder's files and the shim.</summary>
    public static string CodeSha256(FunctionInfo function)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (function.Runtime == FunctionRuntime.Native)
            return FunctionRegistry.Sha256Of(function.CodePath);
        return LinuxGuest.HashFiles([.. FolderFiles(function.CodePath), ("shim", ShimPath(function))]);
    }

    /// <summary>The shim's folder in the guest SDK (guest/python, guest/node).</summary>
    public static string ShimDirectory(ScriptRuntime language)
    {
        ArgumentNullException.ThrowIfNull(language);
        return Path.Combine(GuestSdk.Default().Root, language.ShimFolder);
    }

    private static string ShimPath(FunctionInfo function) =>
        ScriptFunction.LanguageOrNull(function.CodePath) is { } language ? Path.Combine(ShimDirectory(language), language.ShimFile) : "";

    private static LinuxGuest Script(FunctionInfo function, SnapfnHome home, GuestLimits limits)
    {
        var language = ScriptFunction.Language(function.CodePath);
        var shim = Path.Combine(ShimDirectory(language), language.ShimFile);
        if (!File.Exists(shim))
            throw new FileNotFoundException($"the {language.Language} shim is not at {shim}: set SNAPFN_GUEST_DIR to the guest/build folder of a Snapfn checkout");
        var root = new RootBuilder(home.Path).Ensure(ScriptFunction.Runtime(function.CodePath));
        var vdso = Path.Combine(GuestSdk.Default().Root, "build", "vdso.so");
        var options = new ProcessOptions
        {
            RootDirectory = root.RootDirectory,
            Program = language.Program,
            Arguments = [language.Program, .. language.Options, $"{language.ShimMount}/{language.ShimFile}", FunctionMount],
            Environment = language.Environment,
            Mounts = [new RootMount(FunctionMount, function.CodePath, Writable: false), new RootMount(language.ShimMount, ShimDirectory(language), Writable: false)],
            WorkingDirectory = FunctionMount,
            VdsoPath = File.Exists(vdso) ? vdso : null,
            Function = true,
            RootFingerprint = root.Manifest.PackagesSha256,
            TmpQuota = limits.Tmp,
            MaxChannelFrame = limits.MaxChannelFrameBytes,
        };
        return new LinuxGuest(options, CodeSha256(function));
    }

    /// <summary>The folder's files, by their path below it, in a fixed order (its __pycache__ left out).</summary>
    private static IEnumerable<(string Name, string Path)> FolderFiles(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(path => (Name: System.IO.Path.GetRelativePath(folder, path), Path: path))
            .Where(f => !f.Name.Split('/').Contains("__pycache__"))
            .OrderBy(f => f.Name, StringComparer.Ordinal);
}

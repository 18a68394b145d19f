using System.IO.Compression;
using System.Text;
using Snapfn.Linux;
using Snapfn.Linux.Files;
using Snapfn.Linux.Roots;

namespace Snapfn.Platform;

/// <summary>
/// A Python function travels as a zip of its folder (main.py, its other modules and data, snapfn.json), from
/// `snapfn deploy` to the daemon and into the store. Unpacking checks every entry: relative paths inside the
/// folder only, regular files, bounded count and size.
/// </summary>
public static class PythonPackage
{
    public const int MaxEntries = 10_000;
    public const long MaxBytes = 64L << 20;
    private static readonly string[] _skipped = ["__pycache__", ".git", "build"];

    /// <summary>True when <paramref name="bytes"/> starts like a zip archive (an ELF starts with 0x7f 'E' 'L' 'F').</summary>
    public static bool IsPackage(ReadOnlySpan<byte> bytes) => bytes.StartsWith("PK\x03\x04"u8);

    /// <summary>Zips <paramref name="folder"/>'s files in name order, without caches and build output.</summary>
    public static byte[] Pack(string folder)
    {
        using var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
                .Select(path => (Path: path, Name: System.IO.Path.GetRelativePath(folder, path)))
                .Where(f => !f.Name.Split('/').Any(part => _skipped.Contains(part)))
                .OrderBy(f => f.Name, StringComparer.Ordinal);
            foreach (var (path, name) in files)
            {
                var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
                entry.LastWriteTime = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
                using var target = entry.Open();
                using var source = File.OpenRead(path);
                source.CopyTo(target);
            }
        }
        return stream.ToArray();
    }

    /// <summary>Unpacks into <paramref name="target"/> (which must not exist); throws <see cref="InvalidRequestException"/>
    /// for an archive that is not a Python function.</summary>
    public static void Unpack(byte[] package, string target)
    {
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(new MemoryStream(package), ZipArchiveMode.Read);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidRequestException($"the function's package is not a valid zip archive: {e.Message}", e);
        }
        using (zip)
        {
            if (zip.Entries.Count > MaxEntries)
                throw new InvalidRequestException($"the function's package has {zip.Entries.Count} files; at most {MaxEntries} are allowed");
            if (zip.Entries.Sum(e => e.Length) > MaxBytes)
                throw new InvalidRequestException($"the function's package unpacks to more than {MaxBytes >> 20} MiB");
            if (!zip.Entries.Any(e => e.FullName == PythonFunction.MainFile))
                throw new InvalidRequestException($"the function's package has no {PythonFunction.MainFile} at its top: a Python function defines handle(request) there");
            Directory.CreateDirectory(target);
            foreach (var entry in zip.Entries)
            {
                var name = entry.FullName;
                if (name.EndsWith('/'))
                    continue;
                if (name.StartsWith('/') || name.Contains('\\', StringComparison.Ordinal) || name.Split('/').Any(part => part is "" or "." or ".."))
                    throw new InvalidRequestException($"the function's package names '{name}', which is not a plain path inside the folder");
                // Unix mode bits in the external attributes: only regular files (no symbolic links) are taken.
                var mode = (entry.ExternalAttributes >> 16) & 0xf000;
                if (mode != 0 && mode != 0x8000)
                    throw new InvalidRequestException($"the function's package holds '{name}', which is not a regular file");
                var path = Path.Combine(target, name);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                entry.ExtractToFile(path);
            }
        }
        var manifest = Path.Combine(target, FunctionManifest.FileName);
        if (!File.Exists(manifest))
            File.WriteAllText(manifest, "{\"runtime\": \"python\"}\n");
    }

    /// <summary>
    /// Compiles every .py file of <paramref name="folder"/> with the python runtime's own interpreter, in a VM (no
    /// host Python is involved), and throws <see cref="InvalidRequestException"/> naming the first syntax error.
    /// </summary>
    public static void CheckSyntax(string folder, SnapfnHome home)
    {
        ArgumentNullException.ThrowIfNull(home);
        const string script = """
            import pathlib, sys
            for path in sorted(pathlib.Path('/function').rglob('*.py')):
                name = str(path.relative_to('/function'))
                try:
                    compile(path.read_bytes(), name, 'exec')
                except (SyntaxError, ValueError) as e:
                    line = getattr(e, 'lineno', None)
                    print(f"{name}{'' if line is None else f' line {line}'}: {type(e).__name__}: {getattr(e, 'msg', e)}")
                    sys.exit(1)
            """;
        var root = new RootBuilder(home.Path).Ensure(Runtimes.Python);
        var output = new StringBuilder();
        using var process = LinuxProcess.Start(new ProcessOptions
        {
            RootDirectory = root.RootDirectory,
            Program = "/usr/bin/python3",
            Arguments = ["/usr/bin/python3", "-B", "-c", script],
            Mounts = [new RootMount(GuestPrograms.FunctionMount, folder, Writable: false)],
            StandardOutput = bytes => output.Append(Encoding.UTF8.GetString(bytes)),
            StandardError = bytes => output.Append(Encoding.UTF8.GetString(bytes)),
            Vm = new Vmm.MicroVmOptions { MemorySize = 256UL << 20, Timeout = TimeSpan.FromSeconds(60), Name = "check" },
        });
        var exit = process.Run();
        if (exit.ShellStatus != 0)
            throw new InvalidRequestException($"the function does not compile: {output.ToString().Trim().Split('\n')[^1]}");
    }
}

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
        try
        {
            using var zip = new ZipArchive(new MemoryStream(package), ZipArchiveMode.Read);
            var entries = Check(zip);
            Directory.CreateDirectory(target);
            foreach (var (entry, name) in entries)
            {
                var path = Path.Combine(target, name);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                entry.ExtractToFile(path);
            }
        }
        catch (InvalidDataException e)
        {
            // The zip reader finds a corrupt directory or entry only when it reaches it, possibly mid-way.
            throw new InvalidRequestException($"the function's package is not a valid zip archive: {e.Message}", e);
        }
        var manifest = Path.Combine(target, FunctionManifest.FileName);
        if (!File.Exists(manifest))
            File.WriteAllText(manifest, "{\"runtime\": \"python\"}\n");
    }

    /// <summary>
    /// The files to unpack, checked before anything is written: a bounded count and size, a main.py, plain
    /// relative paths (no '..', no NUL or backslash, short enough for the file system), regular files only, and
    /// no name twice or both as a file and as a folder. Only corrupt compressed data is found while unpacking
    /// (the caller unpacks into a folder of its own and deletes it on failure).
    /// </summary>
    private static List<(ZipArchiveEntry Entry, string Name)> Check(ZipArchive zip)
    {
        if (zip.Entries.Count > MaxEntries)
            throw new InvalidRequestException($"the function's package has {zip.Entries.Count} files; at most {MaxEntries} are allowed");
        var total = 0L;
        foreach (var entry in zip.Entries)
            total = entry.Length > MaxBytes - total ? MaxBytes + 1 : total + entry.Length; // a zip64 length can overflow a sum
        if (total > MaxBytes)
            throw new InvalidRequestException($"the function's package unpacks to more than {MaxBytes >> 20} MiB");
        if (!zip.Entries.Any(e => e.FullName == PythonFunction.MainFile))
            throw new InvalidRequestException($"the function's package has no {PythonFunction.MainFile} at its top: a Python function defines handle(request) there");
        var files = new List<(ZipArchiveEntry, string)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var folders = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in zip.Entries)
        {
            var name = entry.FullName;
            if (name.EndsWith('/'))
                continue;
            var parts = name.Split('/');
            if (name.StartsWith('/') || name.Contains('\\', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal)
                || parts.Any(part => part is "" or "." or ".." || Encoding.UTF8.GetByteCount(part) > MaxNameBytes) || Encoding.UTF8.GetByteCount(name) > MaxPathBytes)
                throw new InvalidRequestException($"the function's package names '{Printable(name)}', which is not a plain path inside the folder");
            // Unix mode bits in the external attributes: only regular files (no symbolic links) are taken.
            var mode = (entry.ExternalAttributes >> 16) & 0xf000;
            if (mode != 0 && mode != 0x8000)
                throw new InvalidRequestException($"the function's package holds '{Printable(name)}', which is not a regular file");
            if (!names.Add(name))
                throw new InvalidRequestException($"the function's package holds '{Printable(name)}' twice");
            for (var i = 1; i < parts.Length; i++)
                folders.Add(string.Join('/', parts[..i]));
            files.Add((entry, name));
        }
        if (names.FirstOrDefault(folders.Contains) is { } both)
            throw new InvalidRequestException($"the function's package holds '{Printable(both)}' both as a file and as a folder");
        if (folders.Contains(FunctionManifest.FileName))
            throw new InvalidRequestException($"the function's package holds a folder {FunctionManifest.FileName}; it must be a file");
        return files;
    }

    /// <summary>Linux's NAME_MAX and PATH_MAX, less the folder the package is unpacked into.</summary>
    private const int MaxNameBytes = 255;
    private const int MaxPathBytes = 1024;

    private static string Printable(string name) => string.Concat(name.Select(c => char.IsControl(c) ? '?' : c));

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

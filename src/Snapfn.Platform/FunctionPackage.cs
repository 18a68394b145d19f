using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Snapfn.Linux;
using Snapfn.Linux.Files;
using Snapfn.Linux.Roots;

namespace Snapfn.Platform;

/// <summary>
/// A script function (<see cref="ScriptRuntime"/>) travels as a zip of its folder (main.py or index.js, its other
/// modules and data, snapfn.json), from
/// `snapfn deploy` to the daemon and into the store. Unpacking checks every entry: relative paths inside the
/// folder only, regular files, each path once,
/// bounded count and sizes (<see cref="DeployLimits"/>).
/// </summary>
public static class FunctionPackage
{
    // Linux's NAME_MAX, and PATH_MAX less the folder the package is unpacked into: a longer name fails on the host's
    // disk, and that is the package's fault, not the disk's.
    private const int MaxNameBytes = 255;
    private const int MaxPathBytes = 1024;
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

    /// <summary>Unpacks into <paramref name="target"/> (which must not exist) within <paramref name="limits"/> (the
    /// defaults when null); throws <see cref="InvalidRequestException"/> for an archive that is not a script function
    /// and <see cref="LimitExceededException"/> for one larger than the limits allow.</summary>
    public static void Unpack(byte[] package, string target, DeployLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(package);
        limits ??= new DeployLimits();
        // ZipArchive builds an object per central-directory entry before anyone can count them: count first.
        CountEntries(package, limits);
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(new MemoryStream(package), ZipArchiveMode.Read);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidRequestException($"the function's package is not a valid zip archive: {e.Message}", e);
        }
        try
        {
            using var archive = zip;
            var files = CheckEntries(archive, package.Length, limits);
            Directory.CreateDirectory(target);
            long unpacked = 0;
            foreach (var entry in files)
            {
                var path = Path.Combine(target, entry.FullName);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                unpacked += Extract(entry, path, limits.MaxUnpackedBytes - unpacked, limits);
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

    /// <summary>Checks every entry's name, kind and announced size, and gives back the files to extract.</summary>
    private static List<ZipArchiveEntry> CheckEntries(ZipArchive zip, long archiveBytes, DeployLimits limits)
    {
        var files = new List<ZipArchiveEntry>();
        var fileNames = new HashSet<string>(StringComparer.Ordinal);
        var folders = new HashSet<string>(StringComparer.Ordinal);
        long announced = 0;
        foreach (var entry in zip.Entries)
        {
            var name = entry.FullName;
            var folder = name.EndsWith('/');
            var bare = folder ? name[..^1] : name;
            if (bare.Length == 0 || bare.StartsWith('/') || bare.Contains('\\', StringComparison.Ordinal) || bare.Any(char.IsControl) ||
                bare.Split('/').Any(part => part is "" or "." or ".." || Encoding.UTF8.GetByteCount(part) > MaxNameBytes) ||
                Encoding.UTF8.GetByteCount(bare) > MaxPathBytes)
                throw new InvalidRequestException($"the function's package names '{Printable(name)}', which is not a plain path inside the folder " +
                    $"(relative, '/'-separated, no '.', '..' or control characters, at most {MaxNameBytes} bytes a name and {MaxPathBytes} a path)");
            // Unix mode bits in the external attributes: only regular files (no symbolic links) and folders are taken.
            var mode = (entry.ExternalAttributes >> 16) & 0xf000;
            if (mode != 0 && mode != (folder ? 0x4000 : 0x8000))
                throw new InvalidRequestException($"the function's package holds '{Printable(name)}', which is not a regular file");
            // Two entries for one path (or a file where another entry needs a folder) would leave which one wins
            // to the order of extraction.
            var parents = Parents(bare).ToList();
            if (fileNames.Contains(bare) || (!folder && folders.Contains(bare)) || parents.Any(fileNames.Contains))
                throw new InvalidRequestException($"the function's package holds '{bare}' twice (or as a file and a folder): pack it again with `snapfn deploy`");
            foreach (var parent in parents)
                folders.Add(parent);
            if (folder)
            {
                folders.Add(bare);
                continue;
            }
            fileNames.Add(bare);
            if (entry.Length > limits.MaxFileBytes)
                throw new LimitExceededException("deploy-file-size",
                    $"the function's package holds '{bare}' of {entry.Length} bytes, more than the {Mib(limits.MaxFileBytes)} a file may have",
                    "raise it with `snapfn serve --max-deploy-file-mib N`");
            announced += entry.Length;
            if (announced > limits.MaxUnpackedBytes)
                throw UnpackedTooLarge(limits);
            files.Add(entry);
        }
        if (folders.Contains(FunctionManifest.FileName))
            throw new InvalidRequestException($"the function's package holds a folder {FunctionManifest.FileName}; it must be a file");
        if (!ScriptRuntime.All.Any(r => fileNames.Contains(r.MainFile)))
        {
            var mains = string.Join(" or ", ScriptRuntime.All.Select(r => $"{r.MainFile} ({r.Language})"));
            throw new InvalidRequestException($"the function's package has no {mains} at its top: the function defines handle(request) there");
        }
        if (announced > DeployLimits.RatioFloorBytes && announced / Math.Max(1, archiveBytes) > limits.MaxCompressionRatio)
            throw new LimitExceededException("deploy-compression-ratio",
                $"the function's package of {archiveBytes} bytes unpacks to {announced} bytes, more than {limits.MaxCompressionRatio} times its size",
                "raise it with `snapfn serve --max-deploy-ratio N`");
        return files;
    }

    /// <summary>Copies one entry, counting what actually comes out: the sizes in the archive are only announced.</summary>
    private static long Extract(ZipArchiveEntry entry, string path, long budget, DeployLimits limits)
    {
        var allowed = Math.Min(entry.Length, budget);
        var buffer = new byte[81920];
        long written = 0;
        try
        {
            using var source = entry.Open();
            using var target = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
            int read;
            while ((read = source.Read(buffer)) > 0)
            {
                written += read;
                if (written > allowed)
                    throw written > budget ? UnpackedTooLarge(limits)
                        : new InvalidRequestException($"the function's package is corrupt: '{entry.FullName}' unpacks to more than the {entry.Length} bytes it announces");
                target.Write(buffer, 0, read);
            }
        }
        catch (InvalidDataException e)
        {
            throw new InvalidRequestException($"the function's package is corrupt at '{entry.FullName}': {e.Message}", e);
        }
        return written;
    }

    /// <summary>Walks the central directory as a reader does (from the offset the end record gives, header after
    /// header) and refuses more than <see cref="DeployLimits.MaxFiles"/> entries; archives too broken to walk are
    /// left to <see cref="ZipArchive"/>'s own message.</summary>
    private static void CountEntries(ReadOnlySpan<byte> zip, DeployLimits limits)
    {
        const int endRecord = 22;
        var end = -1;
        for (var at = zip.Length - endRecord; at >= Math.Max(0, zip.Length - endRecord - ushort.MaxValue); at--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip[at..]) == 0x06054b50)
            {
                end = at;
                break;
            }
        }
        if (end < 0)
            return;
        var announced = BinaryPrimitives.ReadUInt16LittleEndian(zip[(end + 10)..]);
        var offset = BinaryPrimitives.ReadUInt32LittleEndian(zip[(end + 16)..]);
        if (announced == ushort.MaxValue || offset == uint.MaxValue)
            throw new InvalidRequestException("the function's package is a zip64 archive: a function's folder fits in a plain zip; pack it with `snapfn deploy`");
        var count = 0;
        for (var at = (long)offset; at + 46 <= zip.Length && BinaryPrimitives.ReadUInt32LittleEndian(zip[(int)at..]) == 0x02014b50;)
        {
            if (++count > limits.MaxFiles)
                throw new LimitExceededException("deploy-files", $"the function's package has more than {limits.MaxFiles} files",
                    "raise it with `snapfn serve --max-deploy-files N`");
            var span = zip[(int)at..];
            at += 46L + BinaryPrimitives.ReadUInt16LittleEndian(span[28..]) + BinaryPrimitives.ReadUInt16LittleEndian(span[30..]) +
                  BinaryPrimitives.ReadUInt16LittleEndian(span[32..]);
        }
    }

    private static IEnumerable<string> Parents(string path)
    {
        for (var slash = path.IndexOf('/', StringComparison.Ordinal); slash > 0; slash = path.IndexOf('/', slash + 1))
            yield return path[..slash];
    }

    private static LimitExceededException UnpackedTooLarge(DeployLimits limits) => new("deploy-unpacked-size",
        $"the function's package unpacks to more than {Mib(limits.MaxUnpackedBytes)}", "raise it with `snapfn serve --max-deploy-unpacked-mib N`");

    private static string Mib(long bytes) => bytes % (1 << 20) == 0 ? $"{bytes >> 20} MiB" : $"{bytes} bytes";

    private static string Printable(string name) => string.Concat(name.Select(c => char.IsControl(c) ? '?' : c));

    /// <summary>
    /// Compiles every source file of <paramref name="folder"/> with its language's own interpreter from the runtime's
    /// root, in a VM (no host Python or Node.js is involved), and throws <see cref="InvalidRequestException"/> naming
    /// the first syntax error.
    /// </summary>
    public static void CheckSyntax(string folder, SnapfnHome home, ScriptRuntime? language = null)
    {
        ArgumentNullException.ThrowIfNull(home);
        language ??= ScriptFunction.Language(folder);
        var root = new RootBuilder(home.Path).Ensure(language.Root);
        var output = new StringBuilder();
        using var process = LinuxProcess.Start(new ProcessOptions
        {
            RootDirectory = root.RootDirectory,
            Program = language.Program,
            Arguments = [language.Program, .. language.SyntaxCheckOptions, language.SyntaxCheck],
            Environment = language.Environment,
            Mounts = [new RootMount(GuestPrograms.FunctionMount, folder, Writable: false)],
            StandardOutput = bytes => output.Append(Encoding.UTF8.GetString(bytes)),
            StandardError = bytes => output.Append(Encoding.UTF8.GetString(bytes)),
            Vm = new Vmm.MicroVmOptions { MemorySize = 1UL << 30, Timeout = TimeSpan.FromSeconds(60), Name = "check" },
        });
        var exit = process.Run();
        if (exit.ShellStatus != 0)
            throw new InvalidRequestException($"the function does not compile: {output.ToString().Trim().Split('\n')[^1]}");
    }
}

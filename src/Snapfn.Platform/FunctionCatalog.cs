namespace Snapfn.Platform;

/// <summary>A function Snapfn can run: its name, its guest ELF and what it is for.</summary>
public sealed record FunctionInfo(string Name, string ElfPath, string Description, bool IsTestGuest);

/// <summary>The function is not known; the message lists the known ones.</summary>
public sealed class UnknownFunctionException : Exception
{
    public UnknownFunctionException(string name, IEnumerable<string> known)
        : base($"unknown function '{name}'; known functions: {string.Join(", ", known)}") { }

    public UnknownFunctionException() { }

    public UnknownFunctionException(string message) : base(message) { }

    public UnknownFunctionException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>
/// The built-in functions: every ELF in the guest build folder (guest/build, made by guest/Makefile).
/// The folder is $SNAPFN_GUEST_DIR, or found by walking up from the program's own folder.
/// </summary>
public sealed class FunctionCatalog
{
    private static readonly Dictionary<string, (string Description, bool Test)> _known = new(StringComparer.Ordinal)
    {
        ["hello-world"] = ("minimal function: greets {\"name\": ...}", false),
        ["read-list"] = ("walks a 512 MiB list built in init()", false),
        ["mmap"] = ("allocates and writes anonymous memory", false),
        ["image"] = ("rotates a JPEG by 90 degrees", false),
        ["json"] = ("parses and serialises JSON", false),
        ["aes"] = ("AES-256-CTR over a text, and back", false),
        ["html"] = ("renders an HTML table from a template", false),
        ["matmul"] = ("multiplies two float64 matrices", false),
        ["video"] = ("grayscales a Motion-JPEG stream", false),
        ["compression"] = ("gzips a file", false),
        ["recognition"] = ("ResNet-50 forward pass on a JPEG (synthetic weights)", false),
        ["pagerank"] = ("PageRank on a Barabasi-Albert graph", false),
        ["fault"] = ("test guest: runs an invalid instruction", true),
        ["spin"] = ("test guest: loops forever", true),
        ["badptr"] = ("test guest: passes a pointer outside its memory to a hypercall", true),
        ["remember"] = ("test guest: returns the previous request's input", true),
        ["echo"] = ("test guest: returns its input", true),
        ["memfill"] = ("test guest: init() fills 200 MiB, handle() reads it", true),
        ["touch"] = ("test guest: reads a seed-chosen half of 256 MiB", true),
        ["microbench"] = ("benchmark guest: compute, hypercall and page-touch loops for `snapfn microbench`", true),
    };

    public FunctionCatalog(string guestDirectory)
    {
        GuestDirectory = guestDirectory;
    }

    public string GuestDirectory { get; }

    public static FunctionCatalog Default() => new(FindGuestDirectory());

    public IReadOnlyList<FunctionInfo> List()
    {
        if (!Directory.Exists(GuestDirectory))
            return [];
        return Directory.EnumerateFiles(GuestDirectory, "*.elf")
            .Select(path => Describe(Path.GetFileNameWithoutExtension(path), path))
            .OrderBy(f => f.IsTestGuest).ThenBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
    }

    public FunctionInfo Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var path = Path.Combine(GuestDirectory, name + ".elf");
        if (!FunctionName.IsValid(name) || !File.Exists(path))
            throw new UnknownFunctionException(name, List().Select(f => f.Name));
        return Describe(name, path);
    }

    private static FunctionInfo Describe(string name, string path) =>
        _known.TryGetValue(name, out var known)
            ? new FunctionInfo(name, path, known.Description, known.Test)
            : new FunctionInfo(name, path, "", false);

    private static string FindGuestDirectory()
    {
        var configured = Environment.GetEnvironmentVariable("SNAPFN_GUEST_DIR");
        if (!string.IsNullOrEmpty(configured))
            return configured;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "guest", "build");
            if (Directory.Exists(Path.Combine(dir.FullName, "guest", "runtime")))
                return candidate;
        }
        return Path.Combine(AppContext.BaseDirectory, "guest");
    }
}

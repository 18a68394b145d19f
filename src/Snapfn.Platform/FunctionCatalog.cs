namespace Snapfn.Platform;

/// <summary>A function Snapfn can run: its name, its guest ELF and what it is for.</summary>
public sealed record FunctionInfo(string Name, string CodePath, string Description, bool IsTestGuest)
{
    /// <summary>A script function is a folder (main.py or index.js, snapfn.json); a native one is an ELF file.</summary>
    public FunctionRuntime Runtime => Directory.Exists(CodePath) ? FunctionRuntime.Script : FunctionRuntime.Native;
}

/// <summary>What a function is written in, and so what its VM runs.</summary>
public enum FunctionRuntime
{
    /// <summary>C against Snapfn's runtime: a static ELF.</summary>
    Native,

    /// <summary>A script language (<see cref="ScriptRuntime"/>): main.py on Debian's python3 or index.js on Debian's
    /// node, run by Snapfn's shim for the language.</summary>
    Script,
}

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
        ["py-hello-world"] = ("Python: greets {\"name\": ...}", false),
        ["py-read-list"] = ("Python: reads a ~512 MB list built in init()", false),
        ["py-mmap"] = ("Python: maps 512 MiB anonymous memory, writes a byte a page", false),
        ["py-image"] = ("Python, Pillow: rotates a JPEG by 90 degrees", false),
        ["py-json"] = ("Python: json.loads then json.dumps", false),
        ["py-aes"] = ("Python, pyaes: AES-256-CTR over a text, and back", false),
        ["py-html"] = ("Python, Chameleon: renders an HTML table from a template", false),
        ["py-matmul"] = ("Python, NumPy: multiplies two float64 matrices", false),
        ["py-video"] = ("Python, PyAV (FFmpeg): grayscales a video clip", false),
        ["py-compression"] = ("Python: gzips a file", false),
        ["py-recognition"] = ("Python, PyTorch: ResNet-50 on a JPEG (synthetic weights)", false),
        ["py-pagerank"] = ("Python, igraph: PageRank on a Barabasi-Albert graph", false),
        ["node-hello-world"] = ("Node.js: greets {\"name\": ...}", false),
        ["node-json"] = ("Node.js: JSON.parse then JSON.stringify", false),
    };

    public FunctionCatalog(string guestDirectory)
    {
        GuestDirectory = guestDirectory;
    }

    public string GuestDirectory { get; }

    public static FunctionCatalog Default() => new(FindGuestDirectory());

    /// <summary>guest/functions: the built-in script functions are its folders with a snapfn.json of runtime python or node.</summary>
    public string FunctionsDirectory => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(GuestDirectory))!, "functions");

    public IReadOnlyList<FunctionInfo> List()
    {
        var native = Directory.Exists(GuestDirectory)
            ? Directory.EnumerateFiles(GuestDirectory, "*.elf").Select(path => Describe(Path.GetFileNameWithoutExtension(path), path))
            : [];
        var python = Directory.Exists(FunctionsDirectory)
            ? Directory.EnumerateDirectories(FunctionsDirectory).Where(ScriptFunction.IsScriptFolder).Select(path => Describe(Path.GetFileName(path), path))
            : [];
        return native.Concat(python).Where(f => FunctionName.IsValid(f.Name))
            .OrderBy(f => f.IsTestGuest).ThenBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
    }

    public FunctionInfo Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (FunctionName.IsValid(name))
        {
            var elf = Path.Combine(GuestDirectory, name + ".elf");
            if (File.Exists(elf))
                return Describe(name, elf);
            var folder = Path.Combine(FunctionsDirectory, name);
            if (ScriptFunction.IsScriptFolder(folder))
                return Describe(name, folder);
        }
        throw new UnknownFunctionException(name, List().Select(f => f.Name));
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

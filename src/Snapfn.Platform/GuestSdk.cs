namespace Snapfn.Platform;

/// <summary>
/// The guest C side that user functions are built against: guest/ with its Makefile (which knows the flags),
/// the SDK headers in runtime/include, and the runtime objects it builds into build/ (libsnapfn.a, start.S.o).
/// </summary>
public sealed class GuestSdk
{
    public GuestSdk(string root)
    {
        Root = root;
    }

    /// <summary>The guest folder: holds Makefile, link.ld, runtime/ and build/.</summary>
    public string Root { get; }

    public string IncludeDirectory => Path.Combine(Root, "runtime", "include");

    public string Makefile => Path.Combine(Root, "Makefile");

    /// <summary>The guest folder next to the built-in functions' folder (guest/build), where the catalog found it.</summary>
    public static GuestSdk Default() => new(Path.GetDirectoryName(Path.GetFullPath(FunctionCatalog.Default().GuestDirectory))!);

    /// <summary>Throws when the SDK is not here (an installed CLI without the guest sources).</summary>
    public void EnsurePresent()
    {
        if (!File.Exists(Makefile) || !Directory.Exists(IncludeDirectory))
            throw new DirectoryNotFoundException(
                $"the Snapfn guest SDK is not in {Root} (no Makefile or runtime/include): set SNAPFN_GUEST_DIR to the guest/build folder of a Snapfn checkout");
    }

    /// <summary>The SDK headers a function may include (snapfn.h and its companions).</summary>
    public IReadOnlyList<string> Headers()
    {
        EnsurePresent();
        return Directory.EnumerateFiles(IncludeDirectory, "*.h").Order(StringComparer.Ordinal).ToList();
    }
}

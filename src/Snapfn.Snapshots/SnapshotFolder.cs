using System.Text.RegularExpressions;

namespace Snapfn.Snapshots;

/// <summary>The folder that holds one function's snapshot and the recordings made from it.</summary>
public sealed partial class SnapshotFolder
{
    public const string StateFileName = "state.bin";

    /// <summary>What a memory file's name looks like: <see cref="MemoryFileNameOf"/>'s.</summary>
    public const string MemoryFilePattern = "memory-<32 hex digits>.bin";

    public SnapshotFolder(string path, string function)
    {
        Path = path;
        Function = function;
    }

    public string Path { get; }

    public string Function { get; }

    public string StatePath => System.IO.Path.Combine(Path, StateFileName);

    /// <summary>What fixes a bad snapshot in this folder: taking it again.</summary>
    public SnapshotRemedy Remedy => SnapshotRemedy.TakeSnapshot(Function);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>The name of the memory file of snapshot <paramref name="id"/> (fresh for every snapshot, so a new one
    /// never overwrites a file an invocation restores from).</summary>
    public static string MemoryFileNameOf(Guid id) => $"memory-{id:N}.bin";

    /// <summary>Whether <paramref name="name"/> is a memory file's name: a plain file name of
    /// <see cref="MemoryFilePattern"/>, so that joined to the folder it stays in the folder (no separator, no `..`,
    /// not absolute, nothing a state file could use to point elsewhere).</summary>
    public static bool IsMemoryFileName(string name) => name is not null && MemoryFileName().IsMatch(name);

    /// <summary>The path of the memory file <paramref name="name"/> in this folder; throws
    /// <see cref="ArgumentException"/> for anything but a memory file's name.</summary>
    public string MemoryFile(string name) => IsMemoryFileName(name)
        ? File(name)
        : throw new ArgumentException($"'{name}' is not a memory file name ({MemoryFilePattern})", nameof(name));

    // \z, not $: $ also matches before a final newline.
    [GeneratedRegex(@"^memory-[0-9a-f]{32}\.bin\z", RegexOptions.CultureInvariant)]
    private static partial Regex MemoryFileName();
}

using Snapfn.Interop;

namespace Snapfn.Linux.Files;

/// <summary>What a file's MAP_SHARED mappings need to hear of its reads and writes through descriptors (they are
/// kept coherent by write-back: Memory/SharedFileMappings).</summary>
public interface IMappedFiles
{
    /// <summary>Before the file's bytes are read, written, truncated or synced through a descriptor: the stores made
    /// through its mappings reach it first.</summary>
    void BeforeAccess(SafeFd fd);

    /// <summary>After the file changed through a descriptor (write, truncate): its mappings see the change.</summary>
    void AfterChange(SafeFd fd);
}

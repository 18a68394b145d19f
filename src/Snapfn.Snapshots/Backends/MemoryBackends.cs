namespace Snapfn.Snapshots.Backends;

/// <summary>The restore modes by name. `warm` is not here: it keeps a VM, it restores nothing.</summary>
public static class MemoryBackends
{
    private static readonly Dictionary<string, IMemoryBackend> _byMode = new IMemoryBackend[]
    {
        new VanillaBackend(),
        new CachedBackend(),
        new ReapBackend(),
        new FaasnapBackend(),
    }.ToDictionary(b => b.Mode, StringComparer.Ordinal);

    public static IReadOnlyCollection<string> Modes => _byMode.Keys;

    public static bool TryGet(string mode, out IMemoryBackend backend) => _byMode.TryGetValue(mode, out backend!);
}

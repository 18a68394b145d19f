namespace Snapfn.Snapshots.Backends;

/// <summary>The restore modes by name, in the order the paper discusses them: everything that lists modes asks
/// here. A new mode is one type and one line in <see cref="_builtIn"/> (or <see cref="Register"/> at start-up).</summary>
public static class RestoreModes
{
    private static readonly IRestoreMode[] _builtIn =
    [
        new WarmMode(),
        new CachedBackend(),
        new VanillaBackend(),
        new ReapBackend(),
        new FaasnapBackend(),
        new FaasnapHotBackend(),
        new FaasnapPopulateBackend(),
    ];

    private static readonly Lock _lock = new();
    private static IRestoreMode[] _all = _builtIn;

    public static IReadOnlyList<IRestoreMode> All => _all;

    public static IReadOnlyList<string> Names => [.. _all.Select(m => m.Mode)];

    /// <summary>The modes that record something before they can restore (reap, faasnap).</summary>
    public static IReadOnlyList<string> RecordedNames => [.. _all.Where(m => m.Recorder is not null).Select(m => m.Mode)];

    public static bool TryGet(string mode, out IRestoreMode found)
    {
        found = _all.FirstOrDefault(m => m.Mode == mode)!;
        return found is not null;
    }

    /// <summary>The mode named <paramref name="mode"/>; an <see cref="ArgumentException"/> listing the modes otherwise.</summary>
    public static IRestoreMode Get(string mode) =>
        TryGet(mode, out var found) ? found : throw new ArgumentException($"unknown mode '{mode}'; modes: {string.Join(", ", Names)}");

    /// <summary>Adds a mode (one of ours beyond the paper's, a test's); its name must be new.</summary>
    public static void Register(IRestoreMode mode)
    {
        ArgumentNullException.ThrowIfNull(mode);
        lock (_lock)
        {
            if (_all.Any(m => m.Mode == mode.Mode))
                throw new ArgumentException($"a mode named '{mode.Mode}' exists already", nameof(mode));
            _all = [.. _all, mode];
        }
    }
}

/// <summary>Keep-alive: the VM stays alive between requests; nothing is restored (the platform's warm pool).</summary>
public sealed class WarmMode : IRestoreMode
{
    public const string Name = "warm";

    public string Mode => Name;

    public bool RunsCold => false;

    public IModeRecorder? Recorder => null;

    public IReadOnlyList<ModeCounter> Counters => [];
}

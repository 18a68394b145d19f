namespace Snapfn.Platform;

/// <summary>
/// How a function asks to be served: whether it keeps state between requests (its VM is then kept as it is after a
/// request and the next one runs on it, as Lambda keeps an execution environment), and how many VMs of it may run
/// at once. From snapfn.json (<see cref="FunctionManifest"/>), or from the deploy request for an ELF.
/// </summary>
public sealed record FunctionSettings
{
    /// <summary>The most <see cref="MaxInstances"/> may be: each instance may hold a VM's guest memory.</summary>
    public const int MaxInstancesCeiling = 256;

    public static FunctionSettings Default { get; } = new();

    /// <summary>snapfn.json's <c>keep_state</c>: true when a request may see what earlier ones left in memory (a
    /// counter, a cache, a connection), so an idle VM is reused as it is; false (the default) when every request
    /// must start from the snapshot's state.</summary>
    public bool KeepState { get; init; }

    /// <summary>snapfn.json's <c>max_instances</c>: VMs of this function running at once; null for the platform's
    /// default (<see cref="ServingOptions.DefaultMaxInstances"/>).</summary>
    public int? MaxInstances { get; init; }

    /// <summary>Null when <paramref name="maxInstances"/> is a possible value, else what is wrong with it.</summary>
    public static string? CheckMaxInstances(long? maxInstances) =>
        maxInstances is null or (>= 1 and <= MaxInstancesCeiling) ? null : $"must be between 1 and {MaxInstancesCeiling}, not {maxInstances}";
}

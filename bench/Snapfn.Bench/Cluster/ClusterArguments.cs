namespace Snapfn.Bench.Cluster;

/// <summary>The flags of <c>snapfn bench</c> as the cluster experiment reads them: <c>--quick</c>, <c>--requests</c>,
/// <c>--functions</c>; the flags of the restore-mode experiments mean nothing here and are refused by name.</summary>
public static class ClusterArguments
{
    /// <summary>The settings; throws <see cref="ArgumentException"/> saying which flag to change.</summary>
    public static ClusterSettings Parse(bool quick, int? requests, IReadOnlyList<string>? functions, IReadOnlyList<string>? modes, int? repeat)
    {
        if (modes is { Count: > 0 })
            throw new ArgumentException("the cluster experiment lets each worker pick how it serves a request; leave out --modes");
        if (repeat is not null)
            throw new ArgumentException("the cluster experiment runs one burst; size it with --requests, not --repeat");
        return ClusterSettings.For(quick, requests, functions: functions);
    }

    /// <summary>Where results go without <c>--out</c>: bench-results/cluster/&lt;timestamp&gt;.</summary>
    public static string DefaultFolder(DateTime now) =>
        Path.Combine("bench-results", "cluster", now.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture));
}

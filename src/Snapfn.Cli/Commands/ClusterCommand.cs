using System.CommandLine;
using System.Globalization;
using NATS.Client.Core;
using Snapfn.Cluster.Artifacts;
using Snapfn.Cluster.Serving;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn cluster gc --nats URLS [--grace 1h] [--dry-run]`: removes from a cluster's stores the manifests
/// and chunks no function uses any more (<see cref="ChunkCollector"/>; docs/cluster.md, "Collecting chunks").</summary>
public static class ClusterCommand
{
    public static Command Create()
    {
        var nats = new Option<string>("--nats")
        {
            Description = "the cluster's NATS servers (nats://HOST:PORT, comma-separated for several)", Required = true,
        };
        var grace = new Option<string>("--grace")
        {
            Description = $"keep what was written less than this long ago (90s, 45m, 1h, 2d; at least {ChunkCollector.MinGrace.TotalMinutes:0}m)",
            DefaultValueFactory = _ => "1h",
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "say what would be removed, remove nothing" };
        var gc = new Command("gc", "remove the artifacts' manifests no function record names and the chunks no manifest names, once older than the grace")
        {
            nats, grace, dryRun,
        };
        gc.SetAction(parse =>
        {
            var urls = parse.GetValue(nats)!;
            if (new ClusterServingOptions { NatsUrls = urls }.Check() is { } wrong)
                throw new UsageException(wrong);
            var keep = ParseDuration(parse.GetValue(grace)!);
            var report = CollectAsync(urls, keep, parse.GetValue(dryRun)).GetAwaiter().GetResult();
            var verb = report.DryRun ? "would remove" : "removed";
            Console.WriteLine($"{verb} {report.ManifestsDeleted} manifests and {report.ChunksDeleted} chunks ({report.BytesDeleted / (1024.0 * 1024):0.#} MiB) " +
                $"written before {report.Cutoff:u}; kept {report.ManifestsKept} manifests of {report.Records} functions' records, {report.ChunksKept} chunks in use, " +
                $"{report.ChunksTooYoung} younger than the grace, {report.ChunksChanged} uploaded again meanwhile");
            if (report.ManifestsSkipped is { } why)
                Console.Error.WriteLine($"snapfn: no manifest was removed: {why}");
            return 0;
        });
        return new Command("cluster", "operations on a cluster of Snapfn workers on NATS JetStream") { gc };
    }

    private static async Task<CollectorReport> CollectAsync(string urls, TimeSpan grace, bool dryRun)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = urls, Name = "snapfn-cluster-gc" });
        try
        {
            await connection.ConnectAsync().ConfigureAwait(false);
        }
        catch (NatsException e)
        {
            throw new ClusterUnavailableException($"cannot reach NATS at {urls} ({e.Message}): is nats-server running there, with JetStream on? (--nats)", e);
        }
        return await new ChunkCollector(connection).CollectAsync(grace, dryRun, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>"90s", "45m", "1h", "2d": a number and its unit.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        var unit = text.Length > 1 ? text[^1] : ' ';
        if (!double.TryParse(text.AsSpan(0, Math.Max(0, text.Length - 1)), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !(number > 0) || number > 1e6)
            throw new UsageException($"--grace {text}: give a number and a unit, as 90s, 45m, 1h or 2d");
        return unit switch
        {
            's' => TimeSpan.FromSeconds(number),
            'm' => TimeSpan.FromMinutes(number),
            'h' => TimeSpan.FromHours(number),
            'd' => TimeSpan.FromDays(number),
            _ => throw new UsageException($"--grace {text}: the unit is s, m, h or d (as 90s, 45m, 1h or 2d)"),
        };
    }
}

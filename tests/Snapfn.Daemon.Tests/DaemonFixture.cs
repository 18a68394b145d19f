namespace Snapfn.Daemon.Tests;

/// <summary>One daemon with an empty $SNAPFN_HOME shared by the API tests, and the user functions they register.</summary>
public sealed class DaemonFixture : IAsyncLifetime
{
    private readonly TempDirectory _home = new();
    private readonly TempDirectory _sources = new();
    private readonly Dictionary<string, Task> _snapshots = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private RunningDaemon? _daemon;

    public RunningDaemon Daemon => _daemon ?? throw new InvalidOperationException("the daemon has not started");

    public string Home => _home.Path;

    public string Sources => _sources.Path;

    public async ValueTask InitializeAsync()
    {
        var platform = new Snapfn.Platform.FunctionServiceOptions { AutoRecord = new() };
        // On the emulated CPU a VM runs for seconds, not milliseconds: a request that waits for a free instance, or
        // for room in the host memory budget (the parallel test sends more at once than either holds), waits as long
        // as a request may take (the clients' timeout) instead of KVM's few seconds.
        if (Vmm.VirtualCpu.Selected == Vmm.CpuKind.Soft)
            platform = platform with { HostMemoryWait = TimeSpan.FromMinutes(5), Serving = platform.Serving with { MaxQueueWait = TimeSpan.FromMinutes(5) } };
        _daemon = await RunningDaemon.StartAsync(_home.Path, new DaemonOptions { Listen = "http://127.0.0.1:0", Platform = platform });
    }

    /// <summary>Takes the function's snapshot once for all the tests that need it.</summary>
    public Task EnsureSnapshotAsync(string function)
    {
        lock (_lock)
        {
            if (!_snapshots.TryGetValue(function, out var task) || task.IsFaulted)
                _snapshots[function] = task = Daemon.PostTextAsync($"functions/{function}/snapshot", "");
            return task;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_daemon is not null)
            await _daemon.DisposeAsync();
        _home.Dispose();
        _sources.Dispose();
    }
}

[CollectionDefinition("daemon")]
public sealed class SharedDaemon : ICollectionFixture<DaemonFixture>;

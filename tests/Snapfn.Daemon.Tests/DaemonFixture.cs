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

    public async ValueTask InitializeAsync() => _daemon = await RunningDaemon.StartAsync(_home.Path);

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

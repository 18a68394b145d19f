using System.Diagnostics;
using Snapfn.Cluster;

namespace Snapfn.Bench.Cluster;

/// <summary>
/// What the cluster experiment runs on: a NATS cluster (<see cref="LocalNatsCluster"/>) and worker processes, each
/// with its own SNAPFN_HOME, all under one scratch folder. Disposing it kills every worker still running (and what
/// each started), stops the NATS servers and deletes the folder, so that nothing the experiment started outlives it,
/// whether it finished, failed or was cancelled (Ctrl-C) — including while it was still starting.
/// </summary>
public sealed class ClusterRig : IAsyncDisposable
{
    private readonly List<WorkerProcess> _workers = [];
    private LocalNatsCluster? _nats;

    private ClusterRig(string scratch) => Scratch = scratch;

    /// <summary>The folder everything lives in: nats/ (the servers' stores) and one home per worker.</summary>
    public string Scratch { get; }

    public LocalNatsCluster Nats => _nats ?? throw new InvalidOperationException("the NATS cluster has not started");

    public IReadOnlyList<WorkerProcess> Workers => _workers;

    /// <summary>
    /// Starts <see cref="ClusterSettings.NatsNodes"/> NATS servers, then <see cref="ClusterSettings.Workers"/> workers
    /// from <paramref name="command"/> (what to run for a worker), each waited for with <paramref name="waitReady"/>.
    /// On any failure or cancellation, what had started is stopped before this throws.
    /// </summary>
    public static async Task<ClusterRig> StartAsync(ClusterSettings settings, string parent,
        Func<WorkerSpec, ProcessStartInfo> command, Func<WorkerProcess, CancellationToken, Task> waitReady, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(waitReady);
        Directory.CreateDirectory(parent);
        var rig = new ClusterRig(Directory.CreateDirectory(Path.Combine(Path.GetFullPath(parent), $"cluster-{Guid.NewGuid():N}"[..16])).FullName);
        try
        {
            var natsFolder = Path.Combine(rig.Scratch, "nats");
            Directory.CreateDirectory(natsFolder);
            rig._nats = await LocalNatsCluster.StartAsync(settings.NatsNodes, natsFolder, ct).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            var ports = LoopbackPorts.Free(settings.Workers);
            for (var i = 0; i < settings.Workers; i++)
            {
                var id = ClusterSettings.WorkerId(i);
                var spec = new WorkerSpec(i, id, Path.Combine(rig.Scratch, id), $"http://127.0.0.1:{ports[i]}", rig._nats.ClientUrlList);
                Directory.CreateDirectory(spec.Home);
                rig._workers.Add(WorkerProcess.Start(spec, command(spec)));
            }
            foreach (var worker in rig._workers)
                await waitReady(worker, ct).ConfigureAwait(false);
            return rig;
        }
        catch
        {
            await rig.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>SIGKILLs worker <paramref name="index"/> and waits until it is gone.</summary>
    public async Task KillAsync(int index)
    {
        _workers[index].Kill();
        await _workers[index].WaitExitAsync().ConfigureAwait(false);
    }

    /// <summary>Stops the workers still running as a service manager would (SIGTERM, SIGKILL after
    /// <paramref name="grace"/>), so that their registries are closed before they are read.</summary>
    public Task StopWorkersAsync(TimeSpan grace) => Task.WhenAll(_workers.Select(w => w.StopAsync(grace)));

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
            worker.Kill();
        foreach (var worker in _workers)
        {
            await worker.WaitExitAsync().ConfigureAwait(false);
            worker.Dispose();
        }
        if (_nats is not null)
            await _nats.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(Scratch, recursive: true);
        }
        catch (IOException)
        {
            // A file still being closed by a process that just died; the folder is under the results' scratch.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

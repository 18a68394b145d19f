using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Snapfn.Bench.Inputs;
using Snapfn.Cluster;
using Snapfn.Platform;
using Snapfn.Vmm;

namespace Snapfn.Bench.Cluster;

/// <summary>
/// The cluster experiment (issue 23): a NATS cluster and three workers on loopback (<see cref="ClusterRig"/>), the
/// functions deployed through the first worker (its snapshot taken there once), a burst through every front door
/// with one worker SIGKILLed in the middle (<see cref="ClusterLoad"/>), then what the workers logged and fetched. Every
/// worker boots micro-VMs: <see cref="RequireGuests"/> refuses before anything starts where guests cannot run. On the
/// emulated CPU (<c>SNAPFN_CPU=soft</c>, which the workers inherit) the run is a labelled trial
/// (<see cref="ExperimentCpu"/>): its counts hold, its times are the emulator's, and the experiment's own timeouts on
/// guest work are scaled (<see cref="ClusterSettings.ForCpu"/>).
/// </summary>
public sealed class ClusterExperiment(ClusterSettings requested, string snapfnDll, FunctionCatalog catalog)
{
    private static readonly TimeSpan _readyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan _deployTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan _stopGrace = TimeSpan.FromSeconds(20);
    /// <summary>One /healthz or /metrics request: a worker that takes the connection and never answers must not
    /// hold the run.</summary>
    private static readonly TimeSpan _probeTimeout = TimeSpan.FromSeconds(10);

    private readonly List<string> _notes = [];

    public bool Partial { get; private set; }

    /// <summary>What the machine must have before anything starts: a CPU for guests (KVM, or the emulated one chosen
    /// explicitly) and nats-server; returns the CPU the workers run on. A seam for the test that runs the experiment's
    /// orchestration with stand-in workers.</summary>
    internal Func<ExperimentCpu> RequireMachine { get; init; } = () =>
    {
        var cpu = RequireGuests();
        if (NatsServerBinary.Find(out var reason) is null)
            throw new ClusterRunException($"the cluster experiment runs three nats-servers: {reason}");
        return cpu;
    };

    /// <summary>The command that starts a worker (<see cref="WorkerCommand"/>); a seam for the same test.</summary>
    internal Func<WorkerSpec, ProcessStartInfo>? StartWorker { get; init; }

    /// <summary>Refuses, saying what to do, on a machine where the workers' guests cannot run: no KVM, unless
    /// <c>SNAPFN_CPU=soft</c> asked for the emulated CPU (a trial, labelled so). Nothing has been started when this
    /// throws.</summary>
    public static ExperimentCpu RequireGuests() =>
        KvmRequirement.RequireGuests("the cluster experiment", "its three workers boot micro-VMs");

    /// <summary>The command that starts worker <paramref name="spec"/>: this CLI's <c>snapfn serve</c> joined to
    /// the NATS cluster, in its own home, its guests on <paramref name="cpu"/> (said explicitly, not left to whatever
    /// SNAPFN_CPU the user's shell has).</summary>
    public ProcessStartInfo WorkerCommand(WorkerSpec spec, ExperimentCpu cpu)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(cpu);
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false };
        foreach (var arg in new[] { snapfnDll, "serve", "--nats", spec.NatsUrls, "--listen", spec.ListenUrl, "--worker-id", spec.Id })
            start.ArgumentList.Add(arg);
        start.Environment["SNAPFN_HOME"] = spec.Home;
        start.Environment["SNAPFN_GUEST_DIR"] = catalog.GuestDirectory;
        start.Environment[VirtualCpu.EnvironmentVariable] = cpu.Name;
        start.Environment.Remove("SNAPFN_SERVER");
        start.Environment.Remove("SNAPFN_TOKEN");
        return start;
    }

    public async Task<ClusterRun> RunAsync(string scratchParent, string sharedHome, Action<string> progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(progress);
        var cpu = RequireMachine();
        if (cpu.Caveat is { } caveat)
            progress(caveat);
        // The settings as run: on the emulated CPU, with its timeouts on guest work scaled.
        var settings = requested.ForCpu(cpu);
        if (settings.TimeoutScale != 1)
            progress($"on the emulated CPU the experiment's own timeouts on guest work are {settings.TimeoutScale}x KVM's: a request is lost after {settings.RequestTimeout.TotalSeconds:0} s");
        var inputs = settings.Functions.ToDictionary(f => f, f => WorkloadInputs.Get(catalog, f, InputSet.B));
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        progress($"starting {settings.NatsNodes} nats-servers and {settings.Workers} workers");
        ClusterRig started;
        try
        {
            started = await ClusterRig.StartAsync(settings, scratchParent, spec =>
            {
                WorkerHome.Prepare(spec.Home, sharedHome);
                return StartWorker is { } start ? start(spec) : WorkerCommand(spec, cpu);
            }, (worker, token) => worker.WaitHealthyAsync(http, $"worker {worker.Spec.Id} (snapfn serve --nats)", _readyTimeout, _probeTimeout, reason => new ClusterRunException(reason), token), ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // StartAsync stopped what it had started before it threw.
            Partial = true;
            return new ClusterRun { Settings = settings, Cpu = cpu, WorkerIds = [], Requests = [], Notes = ["interrupted while the cluster was starting: nothing was measured"] };
        }
        await using var rig = started;
        var doors = rig.Workers.Select(w => new FrontDoor(w.Spec.Id, new Uri(w.Spec.ListenUrl + "/"),
            File.ReadAllText(Path.Combine(w.Spec.Home, "token")).Trim())).ToList();
        var workerIds = doors.Select(d => d.WorkerId).ToList();
        var snapshots = new List<SnapshotTaken>();
        var load = new ClusterLoad(settings, doors, inputs, http);
        var fetches = new Dictionary<string, IReadOnlyList<ReplicaFetchReading>>(StringComparer.Ordinal);
        try
        {
            foreach (var function in settings.Functions)
            {
                progress($"deploying {function} through {doors[0].WorkerId} (its snapshot is taken there)");
                snapshots.Add(await DeployAsync(http, doors[0], function, _deployTimeout * settings.TimeoutScale, ct).ConfigureAwait(false));
            }
            var killed = rig.Workers[settings.KillWorker];
            progress($"{settings.Requests} requests through {doors.Count} front doors; {killed.Spec.Id} is killed after {settings.KillAfter}");
            await load.RunAsync(settings.KillWorker, async () =>
            {
                // Every worker's fetches so far: the one about to die cannot be asked afterwards.
                foreach (var door in doors)
                    fetches[door.WorkerId] = await ReadFetchesAsync(http, door, ct).ConfigureAwait(false);
            }, () => rig.KillAsync(settings.KillWorker), ct).ConfigureAwait(false);
            Partial = ct.IsCancellationRequested;
            // The dead worker's were read before it died; without a kill (interrupted before it), all three now.
            foreach (var door in doors.Where((_, i) => load.KillMs is null || i != settings.KillWorker))
                fetches[door.WorkerId] = await ReadFetchesAsync(http, door, CancellationToken.None).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Partial = true;
        }
        progress("stopping the workers and reading their invocation logs");
        await rig.StopWorkersAsync(_stopGrace).ConfigureAwait(false);
        var served = rig.Workers.SelectMany(w => ReadServed(w.Spec)).ToList();
        return new ClusterRun
        {
            Settings = settings,
            Cpu = cpu,
            WorkerIds = workerIds,
            KilledWorker = load.KillMs is null ? null : workerIds[settings.KillWorker],
            KillMs = load.KillMs,
            Requests = load.Records,
            Served = served,
            Fetches = [.. fetches.Values.SelectMany(f => f)],
            Snapshots = snapshots,
            Notes = _notes,
        };
    }

    /// <summary>Takes the function's snapshot through <paramref name="door"/> (a built-in function's deploy); the
    /// worker publishes it to the cluster's object store, from which the others fetch it.</summary>
    private static async Task<SnapshotTaken> DeployAsync(HttpClient http, FrontDoor door, string function, TimeSpan deployTimeout, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(door.BaseAddress, $"functions/{function}/snapshot"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", door.Token);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(deployTimeout);
        using var response = await http.SendAsync(request, timeout.Token).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new ClusterRunException($"deploying {function} through {door.WorkerId} failed: HTTP {(int)response.StatusCode}: {(body.Length > 2000 ? body[..2000] + "…" : body)}");
        using var json = JsonDocument.Parse(body);
        double Ms(string name) => json.RootElement.TryGetProperty(name, out var v) ? v.GetDouble() : double.NaN;
        return new SnapshotTaken(function, door.WorkerId, Ms("boot_ms"), Ms("init_ms"), Ms("write_ms"));
    }

    private async Task<IReadOnlyList<ReplicaFetchReading>> ReadFetchesAsync(HttpClient http, FrontDoor door, CancellationToken ct)
    {
        try
        {
            using var probe = CancellationTokenSource.CreateLinkedTokenSource(ct);
            probe.CancelAfter(_probeTimeout);
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(door.BaseAddress, "metrics"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", door.Token);
            using var response = await http.SendAsync(request, probe.Token).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            var readings = ReplicaMetrics.Read(door.WorkerId, await response.Content.ReadAsStringAsync(probe.Token).ConfigureAwait(false));
            if (readings.Count == 0)
                Note($"{door.WorkerId}'s /metrics has no {ReplicaMetrics.Fetches}: which worker fetched a snapshot is unknown");
            return readings;
        }
        catch (HttpRequestException e)
        {
            Note($"{door.WorkerId}'s /metrics could not be read ({e.Message}): its fetches are not in the report");
            return [];
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Note($"{door.WorkerId}'s /metrics did not answer within {_probeTimeout.TotalSeconds:0} s: its fetches are not in the report");
            return [];
        }
    }

    /// <summary>The worker's invocation log, read from its home's registry once it has stopped (the dead worker's too:
    /// every entry was committed as it finished).</summary>
    private IReadOnlyList<ServedInvocation> ReadServed(WorkerSpec worker)
    {
        try
        {
            using var log = new InvocationLog(RegistryDatabase.Open(new SnapfnHome(worker.Home)));
            var entries = log.Recent(null, ClusterSettings.MaxRequests);
            var withoutId = entries.Count(e => e.InvocationId is null);
            if (withoutId > 0)
                Note($"{worker.Id} logged {withoutId} invocation(s) without an id: they cannot be counted as served twice");
            return [.. entries.Where(e => e.InvocationId is not null).Select(e => new ServedInvocation(worker.Id, e.InvocationId!, e.Function, e.Succeeded, e.Mode, e.Id))];
        }
        catch (Exception e) when (e is IOException or Microsoft.Data.Sqlite.SqliteException)
        {
            Note($"{worker.Id}'s invocation log could not be read ({e.Message}): served twice counts the others only");
            return [];
        }
    }

    private void Note(string note)
    {
        lock (_notes)
            _notes.Add(note);
    }
}

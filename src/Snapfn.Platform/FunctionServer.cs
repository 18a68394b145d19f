using System.Collections.Concurrent;
using System.Diagnostics;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Backends;
using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>
/// The serve side of the platform: invocations. Each request is resolved once, at the edge, into an
/// <see cref="InvocationPlan"/> — one registry read, a lease on its code's version, a turn on the function's
/// instances (<see cref="InstancePool{TInstance}"/>: max_instances, a bounded queue, idle VMs kept for stateful
/// functions), and the path the <see cref="ServingPolicy"/> picks — then run by the <see cref="Invoker"/> from
/// the plan alone, and written to the invocation log. Changes (register, snapshot, record, delete) are the
/// <see cref="FunctionService"/>'s; it tells this server when a function changed.
/// </summary>
public sealed class FunctionServer : IDisposable
{
    private readonly FunctionRegistry _registry;
    private readonly FileLeases _leases;
    private readonly Invoker _invoker;
    private readonly FunctionServiceOptions _options;
    private readonly Func<string, bool> _syncNewBuiltIn;
    // Bumped when a function's code or snapshot changes, so that a warm VM released afterwards is not kept.
    private readonly ConcurrentDictionary<string, int> _generations = new(StringComparer.Ordinal);
    private int _disposed;

    internal FunctionServer(FunctionRegistry registry, FileLeases leases, Invoker invoker, InvocationLog log, Logs.FunctionLogStore logs,
        FunctionServiceOptions options, Func<string, bool> syncNewBuiltIn, TimeProvider? time = null)
    {
        _registry = registry;
        _leases = leases;
        _invoker = invoker;
        _options = options;
        _syncNewBuiltIn = syncNewBuiltIn;
        Log = log;
        Logs = logs;
        Instances = new InstancePool<KeptVm>(options.Serving, time);
        // Idle kept VMs give way after pooled shells and idle warm VMs (registered before): the least recently used first.
        invoker.Budget.AddReclaimer(Instances.EvictLeastRecentlyUsed);
    }

    /// <summary>The instances of every function: busy, idle (kept), queued.</summary>
    public InstancePool<KeptVm> Instances { get; }

    public InvocationLog Log { get; }

    /// <summary>What functions wrote (stdout, stderr, LOG calls), kept per invocation.</summary>
    public Logs.FunctionLogStore Logs { get; }

    public ServingOptions Serving => _options.Serving;

    /// <summary>Raised after each invocation that succeeded, on its thread, once it is logged and its instance
    /// released, with the plan it ran from and its result (the input is <see cref="InvocationPlan.Input"/>): for
    /// what learns from real requests (recordings made in the background). A handler must return at once and not
    /// throw; it hands heavy work to its own thread.</summary>
    public event Action<InvocationPlan, InvocationResult>? Served;

    /// <summary>A seam for tests: called on the invocation's thread once its version is resolved and leased, before
    /// anything runs it (a test holds an invocation here while it redeploys the function).</summary>
    internal Action<string, FileLease>? VersionResolved { get; set; }

    /// <summary>A seam for tests: called with the version read from the registry, before it is leased (a test
    /// redeploys here to make the prune win the race).</summary>
    internal Action<string>? VersionRead { get; set; }

    /// <summary>A seam for tests without KVM: runs the plan instead of the <see cref="Invoker"/> (no VM is kept).</summary>
    internal Func<InvocationPlan, MicroVmOptions, CancellationToken, InvocationResult>? RunInvocation { get; set; }

    /// <summary>A seam for tests: whether the function's snapshot is in the page cache, instead of asking the kernel.</summary>
    internal Func<ServingFunction, bool>? SnapshotCachedProbe { get; set; }

    /// <summary>Admits and runs one request on the calling thread (the CLI, the bench): <see cref="AdmitAsync"/>
    /// then <see cref="Run"/>.</summary>
    public InvocationResult Invoke(InvokeRequest request, CancellationToken cancel = default)
    {
        using var admission = AdmitAsync(request, cancel).GetAwaiter().GetResult();
        return Run(admission, cancel);
    }

    /// <summary>
    /// Resolves <paramref name="request"/> into its plan: checks it, reads the function once and leases its version,
    /// waits for a turn on its instances (FIFO, bounded: <see cref="FunctionThrottledException"/> past the bounds),
    /// then lets the <see cref="ServingPolicy"/> pick the path from what it found. Nothing runs yet.
    /// </summary>
    public async Task<Admission> AdmitAsync(InvokeRequest request, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Input);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var name = FunctionService.CheckName(request.Function);
        if (request.Mode is { } mode && !FunctionService.Modes.Contains(mode))
            throw new InvalidRequestException($"unknown mode '{mode}'; modes: {string.Join(", ", FunctionService.Modes)}");
        // Dropping a mode's files from the page cache is the bench's tool; on the platform's paths it would only
        // falsify the facts the policy decided from.
        if (request.Cold && request.Mode is null)
            throw new InvalidRequestException("cold (drop the mode's files from the page cache first) needs a mode: give one with ?mode= (--mode)");
        var arrived = Stopwatch.GetTimestamp();
        var (function, lease) = Resolve(name);
        try
        {
            var memory = FunctionService.CheckMemory(function.MemoryMib, "the function's memory_mib", _options.MaxGuestMemoryMib);
            var maxInstances = function.Settings.MaxInstances ?? _options.Serving.DefaultMaxInstances;
            // Only the platform's own paths reuse a VM, and only one of this version and snapshot. Today only a
            // function that keeps state does; reset in place (issue 20) will be the one more case: an idle VM of any
            // function is usable (ServingFacts.CanResetInPlace true, the policy then answers Reset), the Invoker
            // resets plan.Instance before running, and InvocationPlan.KeepsVm keeps every function's VM.
            var snapshotId = function.Snapshot?.SnapshotId;
            Func<KeptVm, bool> usable = request.Mode is null && function.Settings.KeepState
                ? vm => vm.Version == function.Info.CodePath && vm.SnapshotId == snapshotId
                : _ => false;
            var turn = await Instances.AcquireAsync(name, maxInstances, usable, cancel).ConfigureAwait(false);
            try
            {
                var path = ServingPolicy.Decide(new ServingFacts
                {
                    Function = name,
                    RequestedMode = request.Mode,
                    HasSnapshot = function.Snapshot is not null,
                    KeepState = function.Settings.KeepState,
                    IdleInstance = turn.Instance is not null,
                    ValidRecordings = ValidRecordings(function),
                    SnapshotCached = () => SnapshotCached(function),
                });
                // The snapshot too is resolved once, here, and its memory file held until the run ends. Where no
                // snapshot is on disk (the policy read the registry's row), none is opened: a restore then opens it
                // itself and says what is missing; the test seam, which restores nothing, runs without one.
                var opened = path.Kind == ServePathKind.Kept || !File.Exists(_invoker.Snapshots.Home.SnapshotFolder(name).StatePath)
                    ? null
                    : _invoker.OpenSnapshot(function.Info, path.Mode);
                var plan = new InvocationPlan
                {
                    OpenedSnapshot = opened,
                    Function = function,
                    Recording = path.Kind == ServePathKind.Cold ? function.Recordings.FirstOrDefault(r => r.Mode == path.Mode) : null,
                    Path = path,
                    MemoryBytes = memory,
                    Input = request.Input,
                    Cold = request.Cold,
                    Timeout = request.Timeout,
                    MaxInstances = maxInstances,
                    QueueWait = turn.QueueWait,
                    InvocationId = request.InvocationId ?? Platform.InvocationId.New(),
                    Instance = path.Kind == ServePathKind.Kept ? turn.Instance : null,
                };
                return new Admission(plan, lease, turn, Instances, arrived);
            }
            catch
            {
                Instances.Release(turn, turn.Instance);
                throw;
            }
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    /// <summary>Runs an admitted request from its plan, ends its turn (keeping the VM for a function that keeps
    /// state) and writes the invocation log, whatever the outcome; what the guest writes is kept under the plan's
    /// <see cref="InvocationPlan.InvocationId"/> (<see cref="InvocationObserver"/>), which the result names.
    /// <paramref name="cancel"/> stops the guest mid-run.</summary>
    public InvocationResult Run(Admission admission, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(admission);
        var plan = admission.Plan;
        var name = plan.Function.Info.Name;
        var startedAt = DateTimeOffset.UtcNow - Stopwatch.GetElapsedTime(admission.StartedAt);
        var generation = _generations.GetValueOrDefault(name);
        InvocationResult result;
        KeptVm? kept = null;
        // The invocation's id, its span (the daemon's, or one of its own) and the capture of its output.
        using var observed = InvocationObserver.Begin(Logs, name, plan.InvocationId);
        try
        {
            if (admission.Version is { } version)
                VersionResolved?.Invoke(name, version);
            // The memory size matters where a VM is booted rather than restored (a warm VM); a restore takes the snapshot's.
            var options = _options.VmOptions(name, plan.Timeout) with { MemorySize = plan.MemoryBytes, Output = observed.Output };
            if (RunInvocation is { } seam)
                result = seam(plan, options, cancel);
            else
                (result, kept) = _invoker.Run(plan, options, cancel);
        }
        catch (Exception e)
        {
            admission.End(null);
            observed.Failed(e, plan.Path.Name, plan.MemoryBytes);
            Log.Append(new InvocationLogEntry
            {
                InvocationId = observed.Id, Function = name, Mode = plan.Mode, StartedAt = startedAt, Error = e.Message, InputBytes = plan.Input.Length, OutputBytes = 0,
                TotalMs = Stopwatch.GetElapsedTime(admission.StartedAt).TotalMilliseconds,
            });
            throw;
        }
        admission.End(kept);
        if (plan.Mode == WarmMode.Name && _generations.GetValueOrDefault(name) != generation)
            _invoker.Pool.Evict(name);
        result = result with { Path = plan.Path.Name, QueueMs = plan.QueueWait.TotalMilliseconds };
        result = observed.Succeeded(result, plan.MemoryBytes);
        Log.Append(new InvocationLogEntry
        {
            InvocationId = observed.Id, Function = name, Mode = result.Mode, StartedAt = startedAt, InputBytes = plan.Input.Length, OutputBytes = result.Output.Length,
            RestoreMs = result.RestoreMs, ExecuteMs = result.ExecuteMs, TotalMs = result.TotalMs,
        });
        Served?.Invoke(plan, result);
        return result;
    }

    /// <summary>Drops the files <paramref name="mode"/> reads for the function from the page cache.</summary>
    public void MakeCold(string name, string mode)
    {
        ArgumentNullException.ThrowIfNull(mode);
        if (!FunctionService.Modes.Contains(mode))
            throw new InvalidRequestException($"unknown mode '{mode}'; modes: {string.Join(", ", FunctionService.Modes)}");
        _invoker.MakeCold((_registry.FindServing(FunctionService.CheckName(name)) ?? throw _registry.Unknown(name)).Info, mode);
    }

    /// <summary>The function's code or snapshot changed, or it was deleted: no idle VM of it serves another request.</summary>
    public void Changed(string name)
    {
        _generations.AddOrUpdate(name, 1, (_, g) => g + 1);
        _invoker.Pool.Evict(name);
        Instances.Evict(name);
    }

    /// <summary>Stops every idle VM; running invocations finish on their own. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        Instances.Dispose();
    }

    /// <summary>The function as registered now (one read), with a lease on its code. A redeploy may prune the version
    /// read before the lease is taken: then it is gone, and the function is read again (now naming the new version).</summary>
    private (ServingFunction Function, FileLease Version) Resolve(string name)
    {
        string? missing = null;
        while (true)
        {
            var function = _registry.FindServing(name) ?? (_syncNewBuiltIn(name) ? _registry.FindServing(name) : null) ?? throw _registry.Unknown(name);
            var path = function.Info.CodePath;
            VersionRead?.Invoke(path);
            if (_leases.TryAcquire(path) is { } lease)
                return (function, lease);
            // Missing twice in a row: not a prune race but code gone for another reason; the run says what is missing.
            if (string.Equals(path, missing, StringComparison.Ordinal))
                return (function, _leases.Acquire(path));
            missing = path;
        }
    }

    /// <summary>Whether the function's current snapshot is wholly in this host's page cache (what a cluster's placement
    /// tells the front doors); false for an unknown function or one without a snapshot.</summary>
    public bool IsSnapshotCached(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return FunctionName.IsValid(name) && _registry.FindServing(name) is { Snapshot: not null } function && SnapshotCached(function);
    }

    /// <summary>The recorded modes whose recording was made from the current snapshot (the registry read keeps only
    /// those) and whose file is there; the restore checks the file's contents.</summary>
    private static HashSet<string> ValidRecordings(ServingFunction function) =>
        [.. function.Recordings.Where(r => File.Exists(r.Path)).Select(r => r.Mode)];

    /// <summary>Whether every data page of the snapshot's memory file is in the page cache (mincore over its data
    /// ranges, holes left out).</summary>
    private bool SnapshotCached(ServingFunction function)
    {
        if (SnapshotCachedProbe is { } probe)
            return probe(function);
        // The registry's name of the memory file, checked as a state file's is before it names a path.
        if (function.Snapshot is not { } snapshot || !SnapshotFolder.IsMemoryFileName(snapshot.MemoryFile))
            return false;
        var (cached, total) = PageCache.Count(_invoker.Snapshots.Home.SnapshotFolder(function.Info.Name).MemoryFile(snapshot.MemoryFile));
        return total > 0 && cached == total;
    }
}

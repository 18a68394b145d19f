using System.Collections.Concurrent;
using System.Diagnostics;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Backends;
using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>How a <see cref="FunctionService"/> runs guests.</summary>
public sealed record FunctionServiceOptions
{
    /// <summary>Idle warm VMs kept per function for mode=warm.</summary>
    public int WarmPoolSize { get; init; } = 8;

    /// <summary>The most guest memory one VM may have (limit "guest-memory-per-vm"), checked when a function is
    /// registered, snapshotted with another size, or invoked.</summary>
    public int MaxGuestMemoryMib { get; init; } = DefaultMaxGuestMemoryMib;

    public const int DefaultMaxGuestMemoryMib = 4096;

    /// <summary>The guest memory all VMs alive at once may declare (limit "host-memory-budget", see
    /// <see cref="HostMemoryBudget"/>); half of the host's RAM when null.</summary>
    public long? HostMemoryBudgetMib { get; init; }

    /// <summary>How long a VM that does not fit in the budget waits for others to end before its request fails.</summary>
    public TimeSpan HostMemoryWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Idle VM shells kept ready at most, all memory sizes together (limit "pooled-shells").</summary>
    public int MaxPooledShells { get; init; } = ShellPool.DefaultMaxIdle;

    /// <summary>How long a pooled shell may stay idle before it is stopped.</summary>
    public TimeSpan PooledShellIdleTimeout { get; init; } = ShellPool.DefaultIdleTimeout;

    /// <summary>Delete at start every stored version of user code that is not current: the daemon sets it (no
    /// invocation of a previous run can still hold one); a CLI beside a running daemon must not.</summary>
    public bool PruneStaleVersionsAtStart { get; init; }

    /// <summary>Receives guest log lines: (function, line). Null drops them.</summary>
    public Action<string, string>? GuestLog { get; init; }

    /// <summary>What a Python function's deploy may unpack and install, and how many deploys run at once.</summary>
    public DeployLimits Deploys { get; init; } = new();

    /// <summary>The most of an invocation's error text the invocation log keeps (UTF-8 bytes; see <see cref="ErrorText"/>).</summary>
    public int MaxErrorTextBytes { get; init; } = ErrorText.DefaultMaxBytes;

    /// <summary>Records functions by themselves (<see cref="AutoRecording.AutoRecorder"/>); null: off (a one-shot CLI,
    /// whose process would end under a background recording).</summary>
    public AutoRecording.AutoRecordOptions? AutoRecord { get; init; }
}

/// <summary>A snapshot taken through the service, with the registry row it produced.</summary>
public sealed record SnapshotOutcome(SnapshotTaken Taken, SnapshotRecord Record);

/// <summary>A recording made through the service, with the registry row it produced.</summary>
public sealed record RecordingOutcome(RecordingResult Result, RecordingRecord Record);

/// <summary>
/// The platform as one service, for the daemon and for the CLI's local path alike: the registry (built-in and
/// user functions), snapshots, recordings and invocations, each invocation written to the invocation log.
/// Changes to one function (register, delete, snapshot, record) are serialised; invocations run in parallel,
/// each restoring its own VM from the snapshot.
/// </summary>
public sealed partial class FunctionService : IDisposable
{
    private readonly FunctionServiceOptions _options;
    private readonly FunctionCatalog _catalog;
    private readonly FunctionRegistry _registry;
    private readonly UserElfStore _elves;
    private readonly SnapshotService _snapshots;
    private readonly RecordService _records;
    private readonly Invoker _invoker;
    private readonly ConcurrentDictionary<string, Lock> _changeLocks = new(StringComparer.Ordinal);
    // Bumped when a function's code or snapshot changes, so that a warm VM released afterwards is not kept.
    private readonly ConcurrentDictionary<string, int> _generations = new(StringComparer.Ordinal);
    private int _disposed;

    public FunctionService(SnapfnHome home, FunctionCatalog catalog, FunctionServiceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(home);
        ArgumentNullException.ThrowIfNull(catalog);
        _options = options ?? new FunctionServiceOptions();
        _options.Deploys.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxErrorTextBytes, 1);
        Deploys = new DeployGate(_options.Deploys);
        _catalog = catalog;
        Home = home;
        Database = RegistryDatabase.Open(home);
        _registry = new FunctionRegistry(Database);
        _registry.SyncBuiltIns(catalog);
        _elves = new UserElfStore(home);
        if (_options.PruneStaleVersionsAtStart)
        {
            _elves.PruneAllBut(_registry.List().Where(f => f.Kind == FunctionKind.User)
                .ToDictionary(f => f.Name, f => f.ElfPath, StringComparer.Ordinal));
        }
        _snapshots = new SnapshotService(home);
        _records = new RecordService(_snapshots);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxGuestMemoryMib, MemorySize.MinMiB, nameof(options));
        if (_options.HostMemoryBudgetMib < MemorySize.MinMiB)
            throw new ArgumentOutOfRangeException(nameof(options), _options.HostMemoryBudgetMib, "the host memory budget must hold at least one VM of the smallest size");
        Budget = new HostMemoryBudget(
            _options.HostMemoryBudgetMib is { } mib ? (ulong)mib << 20 : HostMemoryBudget.DefaultLimitBytes(), _options.HostMemoryWait);
        var shells = new ShellPool(maxIdle: _options.MaxPooledShells, idleTimeout: _options.PooledShellIdleTimeout, budget: Budget);
        _invoker = new Invoker(_snapshots, new WarmPool(_options.WarmPoolSize), shells, Budget);
        Log = new InvocationLog(Database, _options.MaxErrorTextBytes);
        StartAutoRecorder(); // auto-record hook: the recorder is created here
    }

    /// <summary>The host memory every VM of this service takes its guest memory from.</summary>
    public HostMemoryBudget Budget { get; }

    /// <summary>The VM shells restores take.</summary>
    public ShellPool Shells => _invoker.Shells;

    /// <summary>Stored versions of user code and the invocations holding them.</summary>
    public VersionLeases Versions => _elves.Leases;

    /// <summary>A seam for tests: called on the invocation's thread once its version is resolved and leased, before
    /// anything runs it (a test holds an invocation here while it redeploys the function).</summary>
    internal Action<string, VersionLease>? VersionResolved { get; set; }

    /// <summary>A seam for tests: called with the version read from the registry, before it is leased (a test
    /// redeploys here to make the prune win the race).</summary>
    internal Action<string>? VersionRead { get; set; }

    /// <summary>A seam for tests without KVM: runs the resolved invocation instead of the <see cref="Invoker"/>.</summary>
    internal Func<InvocationRequest, MicroVmOptions, CancellationToken, InvocationResult>? RunInvocation { get; set; }

    /// <summary>Opens the service on $SNAPFN_HOME with the built-in functions of guest/build.</summary>
    public static FunctionService OpenDefault(FunctionServiceOptions? options = null) =>
        new(SnapfnHome.Default(), FunctionCatalog.Default(), options);

    public static IReadOnlyCollection<string> Modes => RestoreModes.Names;

    public static IReadOnlyList<string> RecordModes => RecordService.Modes;

    public SnapfnHome Home { get; }

    public RegistryDatabase Database { get; }

    public InvocationLog Log { get; }

    /// <summary>The turns for Python deploys (<see cref="DeployLimits.MaxConcurrent"/>).</summary>
    public DeployGate Deploys { get; }

    public IReadOnlyList<RegisteredFunction> List() => _registry.List();

    public RegisteredFunction Get(string name) => _registry.Find(CheckName(name)) ?? FindNewBuiltIn(name, _registry.Find) ?? throw Unknown(name);

    /// <summary>Validates and stores a user function — an ELF, or a Python function's package (a zip of its folder,
    /// see <see cref="PythonPackage"/>) — then registers it, replacing an earlier version. A package's check waits
    /// for a turn of <see cref="Deploys"/> unless the caller already holds <paramref name="turn"/>.</summary>
    public RegisteredFunction Register(string name, byte[] code, int memoryMib, string? description, DeployGate.Turn? turn = null)
    {
        ArgumentNullException.ThrowIfNull(code);
        CheckName(name);
        var memorySize = CheckMemory(memoryMib, "memory_mib");
        description ??= "";
        if (description.Length > 500 || description.Any(char.IsControl))
            throw new InvalidRequestException("description must be one line of at most 500 characters");
        if (PythonPackage.IsPackage(code))
            return RegisterPython(name, code, memoryMib, description, turn);
        var elf = code;
        ElfImage image;
        try
        {
            image = ElfImage.Parse(elf, $"the ELF of '{name}'");
            image.CheckFits(memorySize, name);
            _ = GuestLayout.For(memorySize, image.ImageEnd);
        }
        catch (ElfFormatException e)
        {
            // The edge (CLI, API) adds how to build it, from the inner exception's type.
            throw new InvalidRequestException(e.Message, e);
        }
        catch (ArgumentException e)
        {
            throw new InvalidRequestException($"'{name}' does not fit in {memoryMib} MiB: {e.Message}", e);
        }
        RefuseBuiltInName(name);
        return PutUser(name, image.Sha256, memoryMib, description, _elves.PathOf(name, image.Sha256), () => _elves.Store(name, image.Sha256, elf));
    }

    private RegisteredFunction RegisterPython(string name, byte[] package, int memoryMib, string description, DeployGate.Turn? held)
    {
        RefuseBuiltInName(name);
        var limits = _options.Deploys;
        using var turn = held is null ? Deploys.Enter() : null;
        // Unpack once to check it (and learn its code hash) before anything is stored.
        var check = Directory.CreateTempSubdirectory("snapfn-package-").FullName;
        string sha;
        try
        {
            var folder = Path.Combine(check, "function");
            PythonPackage.Unpack(package, folder, limits);
            // Its snapfn.json is checked (its shape, the package list's length and names) before anything boots a VM
            // for it or apt runs.
            var runtime = PythonFunction.Runtime(folder, limits.MaxPackages);
            // A declared sample input must be usable (inside the folder, a file, no larger than a request): said now, not at recording.
            _ = AutoRecording.SampleInput.Read(folder, (long)GuestLayout.IoBufferSize);
            PythonPackage.CheckSyntax(folder, Home);
            // The packages it lists must exist: build (or find) its root now rather than at its first snapshot.
            try
            {
                new Linux.Roots.RootBuilder(Home.Path).Ensure(runtime);
            }
            catch (Linux.Roots.RootBuildException e)
            {
                throw new InvalidRequestException($"the function's packages cannot be installed: {e.Message}", e);
            }
            sha = GuestPrograms.CodeSha256(new FunctionInfo(name, folder, description, false));
        }
        finally
        {
            Directory.Delete(check, recursive: true);
        }
        return PutUser(name, sha, memoryMib, description, _elves.PythonPathOf(name, sha), () => _elves.StorePython(name, sha, package, limits));
    }

    private void RefuseBuiltInName(string name)
    {
        if (_registry.Find(name) is { Kind: FunctionKind.BuiltIn })
            throw new FunctionConflictException($"'{name}' is a built-in function: choose another name for yours");
    }

    /// <summary>Stores a user function's code at <paramref name="path"/> with <paramref name="store"/>, registers it
    /// in place of an earlier version, and retires that version's files (deleted once no invocation runs on them):
    /// one change under the function's lock.</summary>
    private RegisteredFunction PutUser(string name, string sha256, int memoryMib, string description, string path, Func<string> store)
    {
        lock (ChangeLock(name))
        {
            // The same code again is stored at the same path: a deletion waiting for its last invocation is off.
            _elves.Leases.Keep(path);
            path = store();
            var registered = _registry.PutUser(name, path, sha256, memoryMib, description);
            _elves.Prune(name, keep: path);
            Changed(name);
            return registered;
        }
    }

    /// <summary>Removes a user function with its stored code, snapshot and recordings.</summary>
    public void Delete(string name)
    {
        CheckName(name);
        lock (ChangeLock(name))
        {
            if (!_registry.DeleteUser(name))
                throw Unknown(name);
            Changed(name);
            _elves.Prune(name, keep: null);
            var folder = Home.SnapshotFolder(name).Path;
            // A VM still restoring from these files keeps them alive: they are mapped, unlinking is safe.
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Boots the function, runs init() and saves the snapshot; <paramref name="memoryMib"/> overrides the
    /// registered memory size.</summary>
    public SnapshotOutcome TakeSnapshot(string name, int? memoryMib, TimeSpan timeout)
    {
        var function = Get(name);
        var mib = memoryMib ?? function.MemoryMib;
        var options = VmOptions(name, timeout) with { MemorySize = CheckMemory(mib, "memory_mib") };
        SnapshotOutcome outcome;
        lock (ChangeLock(name))
        {
            SnapshotTaken taken;
            using (Budget.Reserve(options.MemorySize, $"the VM that takes the snapshot of '{name}'"))
                taken = _snapshots.Take(function.Info, options);
            var snapshot = _snapshots.Open(function.Info);
            var record = new SnapshotRecord
            {
                SnapshotId = snapshot.State.Id,
                ElfSha256 = snapshot.State.ElfSha256,
                StateSha256 = FunctionRegistry.Sha256Of(snapshot.Folder.StatePath),
                MemoryFile = Path.GetFileName(snapshot.MemoryPath),
                MemoryMib = mib,
                AllocatedBytes = taken.Info.AllocatedBytes,
                DataPages = (long)taken.Info.DataPages,
                TakenAt = snapshot.State.CreatedAt,
            };
            _registry.PutSnapshot(name, record);
            Changed(name);
            outcome = new SnapshotOutcome(taken, record);
        }
        AutoRecords?.Snapshotted(name); // auto-record hook: a declared sample input is recorded now
        return outcome;
    }

    /// <summary>Checks the function's snapshot memory file against the digest written with it; throws
    /// <see cref="SnapshotInvalidException"/> naming the ranges that differ.</summary>
    public MemoryVerification VerifySnapshot(string name) => SnapshotVerifier.Check(_snapshots.Open(Get(name).Info));

    /// <summary>Records the working set (reap) or loading set (faasnap) of one run with <paramref name="input"/>.</summary>
    public RecordingOutcome Record(string name, string mode, byte[] input, TimeSpan timeout, FaasnapRecordOptions? faasnap = null)
    {
        ArgumentNullException.ThrowIfNull(mode);
        if (!RecordModes.Contains(mode))
            throw new InvalidRequestException($"cannot record mode '{mode}'; recordable modes: {string.Join(", ", RecordModes)}");
        var function = Get(name);
        lock (ChangeLock(name))
        {
            var snapshot = _snapshots.Open(function.Info);
            RecordingResult result;
            using (Budget.Reserve(snapshot.State.MemorySize, $"the VM that records '{name}'"))
                result = _records.Record(function.Info, mode, input, VmOptions(name, timeout), faasnap);
            snapshot = _snapshots.Open(function.Info);
            var record = new RecordingRecord
            {
                Mode = mode,
                SnapshotId = snapshot.State.Id,
                Path = result.Path,
                Sha256 = FunctionRegistry.Sha256Of(result.Path),
                Pages = (long)result.Pages,
                Regions = result.Regions,
                FileBytes = (long)result.FileBytes,
                RecordedAt = DateTimeOffset.UtcNow,
            };
            _registry.PutRecording(name, record);
            AutoRecords?.Invalidate(name); // auto-record hook: a recording made by hand replaces an automatic one in progress
            return new RecordingOutcome(result, record);
        }
    }

    /// <summary>Runs one request on the function, restored in <paramref name="mode"/>; logged either way.</summary>
    public InvocationResult Invoke(string name, string mode, byte[] input, bool cold, TimeSpan timeout, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckMode(mode);
        // Resolved once, here: the version leased now is the one this invocation runs on to the end, whatever
        // redeploys happen meanwhile (they retire it, and it is deleted when the lease goes).
        var (function, version) = Resolve(name);
        using (version)
        {
            var startedAt = DateTimeOffset.UtcNow;
            var start = Stopwatch.GetTimestamp();
            var generation = _generations.GetValueOrDefault(name);
            InvocationResult result;
            try
            {
                var memorySize = CheckMemory(function.MemoryMib, "the function's memory_mib");
                VersionResolved?.Invoke(name, version);
                // The memory size matters where a VM is booted rather than restored (a warm VM); a restore takes the snapshot's.
                result = (RunInvocation ?? _invoker.Invoke)(new InvocationRequest(function.Info, mode, input, cold),
                    VmOptions(name, timeout) with { MemorySize = memorySize }, cancel);
            }
            catch (Exception e)
            {
                Log.Append(new InvocationLogEntry
                {
                    Function = name, Mode = mode, StartedAt = startedAt, Error = e.Message, InputBytes = input.Length, OutputBytes = 0,
                    TotalMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds,
                });
                throw;
            }
            if (mode == WarmMode.Name && _generations.GetValueOrDefault(name) != generation)
                _invoker.Pool.Evict(name);
            Log.Append(new InvocationLogEntry
            {
                Function = name, Mode = mode, StartedAt = startedAt, InputBytes = input.Length, OutputBytes = result.Output.Length,
                RestoreMs = result.RestoreMs, ExecuteMs = result.ExecuteMs, TotalMs = result.TotalMs,
            });
            ObserveForRecording(name, mode, input, result); // auto-record hook: the recorder sees every successful request
            return result;
        }
    }

    /// <summary>The function as registered now, with a lease on its code. A redeploy may prune the version read
    /// before the lease is taken: then it is gone, and the function is read again (now naming the new version).</summary>
    private (RunnableFunction Function, VersionLease Version) Resolve(string name)
    {
        string? missing = null;
        while (true)
        {
            var function = _registry.FindRunnable(CheckName(name)) ?? FindNewBuiltIn(name, _registry.FindRunnable) ?? throw Unknown(name);
            var path = function.Info.CodePath;
            VersionRead?.Invoke(path);
            if (_elves.Leases.TryAcquire(path) is { } lease)
                return (function, lease);
            // Missing twice in a row: not a prune race but code gone for another reason; the run says what is missing.
            if (string.Equals(path, missing, StringComparison.Ordinal))
                return (function, _elves.Leases.Acquire(path));
            missing = path;
        }
    }

    /// <summary>A memory size someone chose, in bytes: a possible guest size, and within the per-VM limit.</summary>
    private ulong CheckMemory(int mib, string what)
    {
        var bytes = MemorySize.Check(mib, what);
        if (mib > _options.MaxGuestMemoryMib)
        {
            throw new LimitExceededException(GuestMemoryLimit, $"{what} is {mib} MiB, above the {_options.MaxGuestMemoryMib} MiB a VM may have",
                "raise it with `snapfn serve --max-guest-memory-mib N` (FunctionServiceOptions.MaxGuestMemoryMib), or ask for less");
        }
        return bytes;
    }

    /// <summary>The limit on one VM's guest memory, as LimitExceededException names it.</summary>
    public const string GuestMemoryLimit = "guest-memory-per-vm";

    /// <summary>Drops the files <paramref name="mode"/> reads for the function from the page cache.</summary>
    public void MakeCold(string name, string mode)
    {
        CheckMode(mode);
        _invoker.MakeCold((_registry.FindRunnable(CheckName(name)) ?? throw Unknown(name)).Info, mode);
    }

    /// <summary>Stops every idle warm VM and closes the log; running invocations finish on their own. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        AutoRecords?.Dispose(); // auto-record hook: queued recordings dropped, running ones waited for
        _invoker.Dispose();
        Log.Dispose();
        Deploys.Dispose();
    }

    private static void CheckMode(string mode)
    {
        ArgumentNullException.ThrowIfNull(mode);
        if (!Modes.Contains(mode))
            throw new InvalidRequestException($"unknown mode '{mode}'; modes: {string.Join(", ", Modes)}");
    }

    /// <summary>The Invoker counts the page cache of a mode's files before it opens (and checks) the recording, so
    /// a missing recording would surface as a bare FileNotFoundException: say what is missing and how to make it.</summary>
    private static string CheckName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!FunctionName.IsValid(name))
            throw new InvalidRequestException($"'{name}' is not a valid function name: lower-case letters, digits and inner dashes, at most 64");
        return name;
    }

    /// <summary>A name the registry does not know may be a built-in built after the service started (guest/build
    /// changes under a running daemon): sync once and look again.</summary>
    private T? FindNewBuiltIn<T>(string name, Func<string, T?> find) where T : class
    {
        try
        {
            _ = _catalog.Get(name); // an ELF in guest/build or a Python folder in guest/functions
        }
        catch (UnknownFunctionException)
        {
            return null;
        }
        _registry.SyncBuiltIns(_catalog);
        return find(name);
    }

    private UnknownFunctionException Unknown(string name) => new(name, _registry.List().Select(f => f.Name));

    private MicroVmOptions VmOptions(string name, TimeSpan timeout)
    {
        var log = _options.GuestLog;
        return new MicroVmOptions
        {
            Name = name,
            Timeout = timeout,
            Log = log is null ? null : line => log(name, line),
        };
    }

    private Lock ChangeLock(string name) => _changeLocks.GetOrAdd(name, _ => new Lock());

    private void Changed(string name)
    {
        AutoRecords?.Invalidate(name); // auto-record hook: a queued recording of the old version is dropped, a running one discarded
        _generations.AddOrUpdate(name, 1, (_, g) => g + 1);
        _invoker.Pool.Evict(name);
    }
}

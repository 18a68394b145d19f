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

    /// <summary>What one Linux program's VM may keep in its /tmp and send in one channel frame.</summary>
    public GuestLimits Guests { get; init; } = new();

    /// <summary>Instances per function, their queue and keep-alive (see <see cref="InstancePool{TInstance}"/>).</summary>
    public ServingOptions Serving { get; init; } = new();

    /// <summary>The clock of keep-alive and queue waits (tests move a fake one); the system's when null.</summary>
    public TimeProvider? Time { get; init; }

    /// <summary>The options of a VM that runs <paramref name="name"/>: its timeout, and its guest log lines to
    /// <see cref="GuestLog"/> under the function's name.</summary>
    internal MicroVmOptions VmOptions(string name, TimeSpan timeout)
    {
        var log = GuestLog;
        return new MicroVmOptions
        {
            Name = name,
            Timeout = timeout,
            Log = log is null ? null : line => log(name, line),
        };
    }

    /// <summary>The most of an invocation's error text the invocation log keeps (UTF-8 bytes; see <see cref="ErrorText"/>).</summary>
    public int MaxErrorTextBytes { get; init; } = ErrorText.DefaultMaxBytes;

    /// <summary>How much of each function's output is kept, and how many clients may follow it (docs/limits.md).</summary>
    public Logs.FunctionLogLimits FunctionLogs { get; init; } = new();

    /// <summary>Records functions by themselves (<see cref="AutoRecording.AutoRecorder"/>); null: off (a one-shot CLI,
    /// whose process would end under a background recording).</summary>
    public AutoRecording.AutoRecordOptions? AutoRecord { get; init; }
}

/// <summary>A snapshot taken through the service, with the registry row it produced.</summary>
public sealed record SnapshotOutcome(SnapshotTaken Taken, SnapshotRecord Record);

/// <summary>A recording made through the service, with the registry row it produced.</summary>
public sealed record RecordingOutcome(RecordingResult Result, RecordingRecord Record);

/// <summary>
/// The platform for the daemon and for the CLI's local path alike. This type is its deploy side — the registry
/// (built-in and user functions), packaging, snapshots, recordings, deletion — and owns what both sides share; the
/// serve side, invocations, is <see cref="Server"/> (<see cref="FunctionServer"/>), which it tells when a function
/// changes. Changes to one function are serialised; invocations run in parallel.
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
    private int _disposed;

    public FunctionService(SnapfnHome home, FunctionCatalog catalog, FunctionServiceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(home);
        ArgumentNullException.ThrowIfNull(catalog);
        _options = options ?? new FunctionServiceOptions();
        _options.Deploys.Validate();
        _options.Guests.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxErrorTextBytes, 1);
        _options.FunctionLogs.Validate();
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
        _snapshots = new SnapshotService(home, _options.Guests);
        _records = new RecordService(_snapshots);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxGuestMemoryMib, MemorySize.MinMiB, nameof(options));
        if (_options.HostMemoryBudgetMib < MemorySize.MinMiB)
            throw new ArgumentOutOfRangeException(nameof(options), _options.HostMemoryBudgetMib, "the host memory budget must hold at least one VM of the smallest size");
        Budget = new HostMemoryBudget(
            _options.HostMemoryBudgetMib is { } mib ? (ulong)mib << 20 : HostMemoryBudget.DefaultLimitBytes(), _options.HostMemoryWait);
        var shells = new ShellPool(maxIdle: _options.MaxPooledShells, idleTimeout: _options.PooledShellIdleTimeout, budget: Budget);
        _invoker = new Invoker(_snapshots, new WarmPool(_options.WarmPoolSize), shells, Budget);
        Log = new InvocationLog(Database, _options.MaxErrorTextBytes);
        Logs = new Logs.FunctionLogStore(Database, _options.FunctionLogs);
        Server = new FunctionServer(_registry, _elves.Leases, _invoker, Log, Logs, _options, SyncIfNewBuiltIn, _options.Time);
        StartAutoRecorder(); // the recorder is created here, and subscribes to Server.Served
    }

    /// <summary>The serve side: invocations (<see cref="FunctionServer.Invoke"/>, <see cref="FunctionServer.AdmitAsync"/>).</summary>
    public FunctionServer Server { get; }

    /// <summary>The registry both sides read (for tests: <see cref="FunctionRegistry.Reads"/>).</summary>
    internal FunctionRegistry Registry => _registry;

    /// <summary>The host memory every VM of this service takes its guest memory from.</summary>
    public HostMemoryBudget Budget { get; }

    /// <summary>Where the service's snapshots are, and the programs its VMs run.</summary>
    internal SnapshotService Snapshots => _snapshots;

    /// <summary>The VM shells restores take.</summary>
    public ShellPool Shells => _invoker.Shells;

    /// <summary>Stored versions of user code and the invocations holding them.</summary>
    public FileLeases Versions => _elves.Leases;

    /// <summary>Opens the service on $SNAPFN_HOME with the built-in functions of guest/build.</summary>
    public static FunctionService OpenDefault(FunctionServiceOptions? options = null) =>
        new(SnapfnHome.Default(), FunctionCatalog.Default(), options);

    public static IReadOnlyCollection<string> Modes => RestoreModes.Names;

    public static IReadOnlyList<string> RecordModes => RecordService.Modes;

    public SnapfnHome Home { get; }

    public RegistryDatabase Database { get; }

    public InvocationLog Log { get; }

    /// <summary>What functions wrote (stdout, stderr), kept per invocation.</summary>
    public Logs.FunctionLogStore Logs { get; }

    /// <summary>The turns for Python deploys (<see cref="DeployLimits.MaxConcurrent"/>).</summary>
    public DeployGate Deploys { get; }

    public IReadOnlyList<RegisteredFunction> List() => _registry.List();

    public RegisteredFunction Get(string name) => Find(CheckName(name)) ?? throw _registry.Unknown(name);

    /// <summary>The function, or null when this node has none of that name (or the name is not a valid one): one row
    /// read, where <see cref="List"/> reads them all.</summary>
    public RegisteredFunction? Find(string name) =>
        _registry.Find(name) ?? (FunctionName.IsValid(name) && SyncIfNewBuiltIn(name) ? _registry.Find(name) : null);

    /// <summary>The longest description a function may have (one line).</summary>
    public const int MaxDescriptionChars = 500;

    /// <summary>Validates and stores a user function — an ELF, or a Python function's package (a zip of its folder,
    /// see <see cref="FunctionPackage"/>) — then registers it, replacing an earlier version. A package's check waits
    /// for a turn of <see cref="Deploys"/> unless the caller already holds <paramref name="turn"/>.</summary>
    /// <param name="settings">How an ELF asks to be served (keep_state, max_instances); a package's come from its
    /// snapfn.json, and giving them here too is refused.</param>
    public RegisteredFunction Register(string name, byte[] code, int memoryMib, string? description, DeployGate.Turn? turn = null,
        FunctionSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(code);
        CheckName(name);
        var memorySize = CheckMemory(memoryMib, "memory_mib");
        description ??= "";
        if (description.Length > MaxDescriptionChars || description.Any(char.IsControl))
            throw new InvalidRequestException($"description must be one line of at most {MaxDescriptionChars} characters");
        if (settings?.MaxInstances is { } max && FunctionSettings.CheckMaxInstances(max) is { } wrong)
            throw new InvalidRequestException($"max_instances {wrong}");
        if (FunctionPackage.IsPackage(code))
        {
            // One source for them: the package's own snapfn.json, which travels with the code.
            if (settings is not null)
                throw new InvalidRequestException("a script function's keep_state and max_instances come from its snapfn.json: set them there, not in the deploy request");
            return RegisterScript(name, code, memoryMib, description, turn);
        }
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
        return PutUser(name, image.Sha256, memoryMib, description, settings ?? FunctionSettings.Default, _elves.PathOf(name, image.Sha256),
            () => _elves.Store(name, image.Sha256, elf));
    }

    private RegisteredFunction RegisterScript(string name, byte[] package, int memoryMib, string description, DeployGate.Turn? held)
    {
        RefuseBuiltInName(name);
        var limits = _options.Deploys;
        using var turn = held is null ? Deploys.Enter() : null;
        // Unpack once to check it (and learn its code hash) before anything is stored.
        var check = Directory.CreateTempSubdirectory("snapfn-package-").FullName;
        string sha;
        FunctionSettings settings;
        try
        {
            var folder = Path.Combine(check, "function");
            FunctionPackage.Unpack(package, folder, limits);
            // Its snapfn.json is checked (its shape, the package list's length and names) before anything boots a VM
            // for it or apt runs.
            var manifest = ScriptFunction.Manifest(folder, limits.MaxPackages);
            var language = ScriptFunction.LanguageOf(manifest);
            if (!File.Exists(Path.Combine(folder, language.MainFile)))
                throw new InvalidRequestException($"the function's {FunctionManifest.FileName} says runtime {language.Name}, but its package has no {language.MainFile} at its top: a {language.Language} function defines handle(request) there");
            var runtime = ScriptFunction.RuntimeOf(language, manifest.Packages ?? [], Path.Combine(folder, FunctionManifest.FileName));
            settings = manifest.Settings;
            // A sample request it names must be there and small: refused now, not when the platform first reads it.
            _ = manifest.ReadSampleInput(folder);
            FunctionPackage.CheckSyntax(folder, Home, language);
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
        return PutUser(name, sha, memoryMib, description, settings, _elves.ScriptPathOf(name, sha), () => _elves.StoreScript(name, sha, package, limits));
    }

    private void RefuseBuiltInName(string name)
    {
        if (_registry.Find(name) is { Kind: FunctionKind.BuiltIn })
            throw new FunctionConflictException($"'{name}' is a built-in function: choose another name for yours");
    }

    /// <summary>Stores a user function's code at <paramref name="path"/> with <paramref name="store"/>, registers it
    /// in place of an earlier version, and retires that version's files (deleted once no invocation runs on them):
    /// one change under the function's lock.</summary>
    private RegisteredFunction PutUser(string name, string sha256, int memoryMib, string description, FunctionSettings settings, string path,
        Func<string> store)
    {
        lock (ChangeLock(name))
        {
            // The same code again is stored at the same path: a deletion waiting for its last invocation is off.
            _elves.Leases.Keep(path);
            path = store();
            var registered = _registry.PutUser(name, path, sha256, memoryMib, description, settings);
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
                throw _registry.Unknown(name);
            Changed(name);
            _elves.Prune(name, keep: null);
            Logs.Delete(name); // its output lines go with it
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
        // What init() prints is kept under an id of its own, as the snapshot's init phase.
        var initLog = Logs.Capture(name, InvocationId.New(), Snapfn.Platform.Logs.FunctionLogPhase.Init);
        var options = _options.VmOptions(name, timeout) with { MemorySize = CheckMemory(mib, "memory_mib"), Output = initLog };
        SnapshotOutcome outcome;
        lock (ChangeLock(name))
        {
            SnapshotTaken taken;
            try
            {
                using (Budget.Reserve(options.MemorySize, $"the VM that takes the snapshot of '{name}'"))
                    taken = _snapshots.Take(function.Info, options);
            }
            finally
            {
                initLog.Complete("snapshot");
            }
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
        AutoRecords?.Snapshotted(name); // a declared sample input is recorded now
        return outcome;
    }

    /// <summary>Checks the function's snapshot memory file against the digest written with it; throws
    /// <see cref="SnapshotInvalidException"/> naming the ranges that differ.</summary>
    public MemoryVerification VerifySnapshot(string name)
    {
        using var snapshot = _snapshots.OpenLeased(Get(name).Info);
        return SnapshotVerifier.Check(snapshot);
    }

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
                result = _records.Record(function.Info, mode, input, _options.VmOptions(name, timeout), faasnap);
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
            AutoRecords?.Invalidate(name); // a recording made by hand replaces an automatic one in progress
            return new RecordingOutcome(result, record);
        }
    }

    /// <summary>A memory size someone chose, in bytes: a possible guest size, and within the per-VM limit.</summary>
    private ulong CheckMemory(int mib, string what) => CheckMemory(mib, what, _options.MaxGuestMemoryMib);

    internal static ulong CheckMemory(int mib, string what, int maxMib)
    {
        var bytes = MemorySize.Check(mib, what);
        if (mib > maxMib)
        {
            throw new LimitExceededException(GuestMemoryLimit, $"{what} is {mib} MiB, above the {maxMib} MiB a VM may have",
                "raise it with `snapfn serve --max-guest-memory-mib N` (FunctionServiceOptions.MaxGuestMemoryMib), or ask for less");
        }
        return bytes;
    }

    /// <summary>The limit on one VM's guest memory, as LimitExceededException names it.</summary>
    public const string GuestMemoryLimit = "guest-memory-per-vm";

    /// <summary>Stops every idle warm VM and closes the log; running invocations finish on their own. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        AutoRecords?.Dispose(); // queued recordings dropped, running ones waited for
        Server.Dispose();
        _invoker.Dispose();
        Log.Dispose();
        Logs.Dispose();
        Deploys.Dispose();
    }

    /// <summary>A valid function name, or <see cref="InvalidRequestException"/> saying what one is.</summary>
    internal static string CheckName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!FunctionName.IsValid(name))
            throw new InvalidRequestException($"'{name}' is not a valid function name: lower-case letters, digits and inner dashes, at most 64");
        return name;
    }

    /// <summary>A name the registry does not know may be a built-in built after the service started (guest/build
    /// changes under a running daemon): true when it is one, after syncing the registry with the catalog.</summary>
    private bool SyncIfNewBuiltIn(string name)
    {
        try
        {
            _ = _catalog.Get(name); // an ELF in guest/build or a Python folder in guest/functions
        }
        catch (UnknownFunctionException)
        {
            return false;
        }
        _registry.SyncBuiltIns(_catalog);
        return true;
    }

    private Lock ChangeLock(string name) => _changeLocks.GetOrAdd(name, _ => new Lock());

    private void Changed(string name)
    {
        AutoRecords?.Invalidate(name); // a queued recording of the old version is dropped, a running one discarded
        Server.Changed(name);
    }
}

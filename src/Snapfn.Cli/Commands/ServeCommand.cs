using System.CommandLine;
using Snapfn.Daemon;
using Snapfn.Platform;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn serve`: the daemon (HTTP API, registry, metrics) until SIGTERM or Ctrl+C.</summary>
public static class ServeCommand
{
    /// <param name="run">Runs the daemon with the options parsed (<see cref="DaemonHost.Run"/>; a test captures them).</param>
    public static Command Create(Action<DaemonOptions>? run = null)
    {
        run ??= DaemonHost.Run;
        var defaults = new DaemonOptions();
        var listen = new Option<string>("--listen")
        {
            Description = "http://ADDRESS:PORT or unix:/path/to.sock; every request needs the bearer token in $SNAPFN_HOME/token (the CLI reads it there)",
            DefaultValueFactory = _ => DaemonOptions.DefaultListen,
        };
        var warmPool = new Option<int>("--warm-pool") { Description = "idle warm VMs kept per function (mode=warm)", DefaultValueFactory = _ => defaults.WarmPoolSize };
        var concurrency = new Option<int>("--max-concurrency") { Description = "invocations running at once; more wait", DefaultValueFactory = _ => defaults.MaxConcurrentInvocations };
        var drain = new Option<double>("--drain-seconds") { Description = "on SIGTERM, how long requests in flight may finish", DefaultValueFactory = _ => defaults.DrainTimeout.TotalSeconds };
        var platform = defaults.Platform;
        var maxGuestMemory = new Option<int>("--max-guest-memory-mib")
        {
            Description = "the most guest memory one VM may have (limit guest-memory-per-vm)", DefaultValueFactory = _ => platform.MaxGuestMemoryMib,
        };
        var budget = new Option<long?>("--host-memory-budget-mib")
        {
            Description = "guest memory all VMs alive at once may declare, running, warm and pooled (limit host-memory-budget; default: half of the host's RAM)",
        };
        var budgetWait = new Option<double>("--host-memory-wait-seconds")
        {
            Description = "how long a VM that does not fit in the budget waits for others to end before its request fails",
            DefaultValueFactory = _ => platform.HostMemoryWait.TotalSeconds,
        };
        var shells = new Option<int>("--max-pooled-shells")
        {
            Description = "idle VM shells kept ready, all memory sizes together (limit pooled-shells)", DefaultValueFactory = _ => platform.MaxPooledShells,
        };
        var shellIdle = new Option<double>("--pooled-shell-idle-seconds")
        {
            Description = "how long a pooled shell may stay idle before it is stopped", DefaultValueFactory = _ => platform.PooledShellIdleTimeout.TotalSeconds,
        };
        var guests = platform.Guests;
        var tmpMib = new Option<long>("--max-tmp-mib")
        {
            Description = "MiB of file data one Python function's VM may keep in its /tmp, in allocated blocks; then ENOSPC in the guest (limit tmp-per-vm)",
            DefaultValueFactory = _ => guests.Tmp.Bytes >> 20,
        };
        var tmpEntries = new Option<int>("--max-tmp-entries")
        {
            Description = "files, folders and links one Python function's VM may have in its /tmp; then ENOSPC in the guest", DefaultValueFactory = _ => guests.Tmp.Entries,
        };
        var frameMib = new Option<int>("--max-channel-frame-mib")
        {
            Description = "MiB of one request or result frame of a Python function; a larger result fails the request as the function's",
            DefaultValueFactory = _ => guests.MaxChannelFrameBytes >> 20,
        };
        var serving = platform.Serving;
        var maxInstances = new Option<int>("--max-instances")
        {
            Description = "VMs of one function running at once when its snapfn.json gives no max_instances (limit max-instances)",
            DefaultValueFactory = _ => serving.DefaultMaxInstances,
        };
        var maxQueue = new Option<int>("--max-queue")
        {
            Description = "requests of one function that may wait for an instance; more get 429 with Retry-After", DefaultValueFactory = _ => serving.MaxQueueLength,
        };
        var queueWait = new Option<double>("--queue-wait-seconds")
        {
            Description = "how long a request waits for an instance of its function before a 429 (limit queue-wait)",
            DefaultValueFactory = _ => serving.MaxQueueWait.TotalSeconds,
        };
        var keepAlive = new Option<double>("--keep-alive-seconds")
        {
            Description = "how long an idle VM (of a function with keep_state) is kept after its last request before it is stopped",
            DefaultValueFactory = _ => serving.KeepAlive.TotalSeconds,
        };
        var hosts = new Option<string[]>("--allowed-host")
        {
            Description = "a host name clients address the daemon by (besides localhost and IP addresses); others are refused, against DNS rebinding; repeatable",
            AllowMultipleArgumentsPerToken = false,
        };
        var limits = defaults.Deploys;
        var deployMib = new Option<int>("--max-deploy-mib") { Description = "the largest ELF or zip POST /functions accepts, as sent", DefaultValueFactory = _ => (int)(defaults.MaxDeployBytes >> 20) };
        var deployFiles = new Option<int>("--max-deploy-files") { Description = "files in a Python function's zip", DefaultValueFactory = _ => limits.MaxFiles };
        var fileMib = new Option<int>("--max-deploy-file-mib") { Description = "MiB one file of the zip unpacks to", DefaultValueFactory = _ => (int)(limits.MaxFileBytes >> 20) };
        var unpackedMib = new Option<int>("--max-deploy-unpacked-mib") { Description = "MiB the whole zip unpacks to", DefaultValueFactory = _ => (int)(limits.MaxUnpackedBytes >> 20) };
        var ratio = new Option<int>("--max-deploy-ratio") { Description = "unpacked bytes per zip byte (beyond 1 MiB unpacked)", DefaultValueFactory = _ => limits.MaxCompressionRatio };
        var packages = new Option<int>("--max-packages") { Description = "Debian packages a function's snapfn.json may list", DefaultValueFactory = _ => limits.MaxPackages };
        var deploys = new Option<int>("--max-concurrent-deploys") { Description = "Python deploys (compile check, apt) running at once", DefaultValueFactory = _ => limits.MaxConcurrent };
        var deployWait = new Option<double>("--deploy-wait-seconds") { Description = "how long a deploy waits for its turn before a 503 with Retry-After", DefaultValueFactory = _ => limits.Wait.TotalSeconds };
        var errorKib = new Option<int>("--max-error-text-kib") { Description = "KiB of a failure's text kept in the invocation log and the daemon's log", DefaultValueFactory = _ => defaults.MaxErrorTextBytes >> 10 };
        var resultsDir = new Option<string?>("--results-dir") { Description = "the folder of benchmark reports the web console's Results page shows (default: the checkout's docs/results)" };
        var consoleRuns = new Option<int>("--console-max-runs") { Description = "the most runs one \"run N times\" of the web console's Invoke page makes", DefaultValueFactory = _ => defaults.WebConsole.MaxInvokeRuns };
        var auto = platform.AutoRecord ?? new Platform.AutoRecording.AutoRecordOptions();
        var noAutoRecord = new Option<bool>("--no-auto-record") { Description = "do not record functions by themselves (from their first request, or when requests drift); see docs/auto-recording.md" };
        var recordQueue = new Option<int>("--max-auto-record-queue") { Description = "automatic recordings waiting for their turn (limit auto-record-queue)", DefaultValueFactory = _ => auto.MaxQueued };
        var recordInput = new Option<int>("--max-auto-record-input-kib") { Description = "KiB of a request's input kept to record from (limit auto-record-input)", DefaultValueFactory = _ => auto.MaxInputBytes >> 10 };
        var recordConcurrent = new Option<int>("--max-concurrent-auto-records") { Description = "automatic recordings running at once, all functions together", DefaultValueFactory = _ => auto.MaxConcurrent };
        var nats = new Option<string?>("--nats")
        {
            Description = "join a NATS JetStream cluster as a worker (nats://HOST:PORT, comma-separated for several servers): every invocation this node's API " +
                "takes is routed through the cluster, and this node serves the cluster's requests; its worker id is kept in $SNAPFN_HOME/worker-id",
        };
        var workerId = new Option<string?>("--worker-id")
        {
            Description = "with --nats: this worker's id in the cluster (lower-case letters, digits and inner dashes, at most 64), instead of the one kept in $SNAPFN_HOME/worker-id",
        };
        var command = new Command("serve", "run the Snapfn daemon: HTTP API, function registry, metrics")
        {
            nats, workerId,
            noAutoRecord, recordQueue, recordInput, recordConcurrent,
            listen, warmPool, concurrency, drain, hosts, deployMib, deployFiles, fileMib, unpackedMib, ratio, packages, deploys, deployWait, errorKib,
            maxGuestMemory, budget, budgetWait, shells, shellIdle, tmpMib, tmpEntries, frameMib,
            maxInstances, maxQueue, queueWait, keepAlive, resultsDir, consoleRuns,
        };
        var logs = new FunctionLogOptions();
        logs.AddTo(command);
        command.SetAction(parse =>
        {
            var options = defaults with
            {
                Listen = parse.GetValue(listen)!,
                WarmPoolSize = parse.GetValue(warmPool),
                MaxConcurrentInvocations = parse.GetValue(concurrency),
                DrainTimeout = TimeSpan.FromSeconds(parse.GetValue(drain)),
                Platform = PlatformOptions(parse.GetValue(maxGuestMemory), parse.GetValue(budget), parse.GetValue(budgetWait),
                    parse.GetValue(shells), parse.GetValue(shellIdle)) with
                {
                    AutoRecord = parse.GetValue(noAutoRecord) ? null : AutoRecordOptions(auto, parse.GetValue(recordQueue), parse.GetValue(recordInput), parse.GetValue(recordConcurrent)),
                    Guests = GuestLimitsOf(parse.GetValue(tmpMib), parse.GetValue(tmpEntries), parse.GetValue(frameMib)),
                    Serving = ServingOptions(parse.GetValue(maxInstances), parse.GetValue(maxQueue), parse.GetValue(queueWait), parse.GetValue(keepAlive)),
                    FunctionLogs = logs.Read(parse),
                },
                AllowedHosts = parse.GetValue(hosts) ?? [],
                MaxDeployBytes = (long)parse.GetValue(deployMib) << 20,
                Deploys = new Platform.DeployLimits
                {
                    MaxFiles = parse.GetValue(deployFiles),
                    MaxFileBytes = (long)parse.GetValue(fileMib) << 20,
                    MaxUnpackedBytes = (long)parse.GetValue(unpackedMib) << 20,
                    MaxCompressionRatio = parse.GetValue(ratio),
                    MaxPackages = parse.GetValue(packages),
                    MaxConcurrent = parse.GetValue(deploys),
                    Wait = TimeSpan.FromSeconds(parse.GetValue(deployWait)),
                },
                MaxErrorTextBytes = parse.GetValue(errorKib) << 10,
                WebConsole = defaults.WebConsole with
                {
                    ResultsDirectory = parse.GetValue(resultsDir) is { } dir ? Path.GetFullPath(dir) : null,
                    MaxInvokeRuns = parse.GetValue(consoleRuns),
                },
            };
            if (parse.GetValue(nats) is { } urls)
            {
                var cluster = new Cluster.Serving.ClusterServingOptions { NatsUrls = urls, WorkerId = parse.GetValue(workerId), MaxTimeout = options.MaxTimeout };
                if (cluster.Check() is { } wrong)
                    throw new UsageException(wrong);
                options = options with { Cluster = cluster };
            }
            else if (parse.GetValue(workerId) is not null)
            {
                throw new UsageException("--worker-id names this node in a cluster: give --nats URL too");
            }
            if (options.WebConsole.ResultsDirectory is { } results && !Directory.Exists(results))
                throw new UsageException($"--results-dir {results}: no such folder; give the folder of the benchmark reports (e.g. docs/results)");
            if (options.WebConsole.MaxInvokeRuns is < 1 or > 10_000)
                throw new UsageException("--console-max-runs must be between 1 and 10000");
            if (options.WarmPoolSize < 0 || options.MaxConcurrentInvocations < 1 || options.DrainTimeout < TimeSpan.Zero)
                throw new UsageException("--warm-pool must be >= 0, --max-concurrency >= 1 and --drain-seconds >= 0");
            if (parse.GetValue(deployMib) is < 1 or > 1024 || parse.GetValue(errorKib) is < 1 or > 1024)
                throw new UsageException("--max-deploy-mib and --max-error-text-kib must be between 1 and 1024");
            run(options);
            return 0;
        });
        return command;
    }

    private static Platform.AutoRecording.AutoRecordOptions AutoRecordOptions(Platform.AutoRecording.AutoRecordOptions defaults, int queue, int inputKib, int concurrent)
    {
        if (queue < 1 || concurrent < 1 || inputKib is < 0 or > 1 << 20)
            throw new UsageException("--max-auto-record-queue and --max-concurrent-auto-records must be at least 1, --max-auto-record-input-kib between 0 and 1048576");
        return defaults with { MaxQueued = queue, MaxInputBytes = inputKib << 10, MaxConcurrent = concurrent };
    }

    /// <summary>Ceilings of the options: far above any use, low enough that a typo is caught rather than served.</summary>
    private const long MaxTmpMib = 1L << 20;
    private const int MaxTmpEntries = 10_000_000;

    private static GuestLimits GuestLimitsOf(long tmpMib, int tmpEntries, int frameMib)
    {
        if (tmpMib is < 1 or > MaxTmpMib)
            throw new UsageException($"--max-tmp-mib must be between 1 and {MaxTmpMib} (got {tmpMib})");
        if (tmpEntries is < 1 or > MaxTmpEntries)
            throw new UsageException($"--max-tmp-entries must be between 1 and {MaxTmpEntries} (got {tmpEntries})");
        if (frameMib is < 1 or > GuestLimits.MaxChannelFrameCeiling >> 20)
            throw new UsageException($"--max-channel-frame-mib must be between 1 and {GuestLimits.MaxChannelFrameCeiling >> 20} (got {frameMib})");
        return new GuestLimits { Tmp = new Linux.Files.TmpQuota(tmpMib << 20, tmpEntries), MaxChannelFrameBytes = frameMib << 20 };
    }

    private static ServingOptions ServingOptions(int maxInstances, int maxQueue, double queueWaitSeconds, double keepAliveSeconds)
    {
        if (FunctionSettings.CheckMaxInstances(maxInstances) is { } wrong)
            throw new UsageException($"--max-instances {wrong}");
        if (maxQueue < 0 || !(queueWaitSeconds >= 0 && queueWaitSeconds <= 3600) || !(keepAliveSeconds > 0 && keepAliveSeconds <= 7 * 24 * 3600))
            throw new UsageException("--max-queue must be >= 0, --queue-wait-seconds between 0 and 3600, --keep-alive-seconds above 0 and at most a week");
        return new ServingOptions
        {
            DefaultMaxInstances = maxInstances,
            MaxQueueLength = maxQueue,
            MaxQueueWait = TimeSpan.FromSeconds(queueWaitSeconds),
            KeepAlive = TimeSpan.FromSeconds(keepAliveSeconds),
        };
    }

    private static FunctionServiceOptions PlatformOptions(int maxGuestMemoryMib, long? budgetMib, double waitSeconds, int shells, double shellIdleSeconds)
    {
        if (maxGuestMemoryMib is < MemorySize.MinMiB or > MemorySize.MaxMiB)
            throw new UsageException($"--max-guest-memory-mib must be between {MemorySize.MinMiB} and {MemorySize.MaxMiB}");
        if (budgetMib < MemorySize.MinMiB)
            throw new UsageException($"--host-memory-budget-mib must be at least {MemorySize.MinMiB} (one VM of the smallest size)");
        if (!(waitSeconds >= 0 && waitSeconds <= 3600) || shells < 0 || !(shellIdleSeconds > 0))
            throw new UsageException("--host-memory-wait-seconds must be between 0 and 3600, --max-pooled-shells >= 0 and --pooled-shell-idle-seconds > 0");
        return new FunctionServiceOptions
        {
            MaxGuestMemoryMib = maxGuestMemoryMib,
            HostMemoryBudgetMib = budgetMib,
            HostMemoryWait = TimeSpan.FromSeconds(waitSeconds),
            MaxPooledShells = shells,
            PooledShellIdleTimeout = TimeSpan.FromSeconds(shellIdleSeconds),
        };
    }
}

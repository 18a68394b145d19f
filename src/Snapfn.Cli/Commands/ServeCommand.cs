using System.CommandLine;
using Snapfn.Daemon;
using Snapfn.Platform;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn serve`: the daemon (HTTP API, registry, metrics) until SIGTERM or Ctrl+C.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var defaults = new DaemonOptions();
        var listen = new Option<string>("--listen")
        {
            Description = "http://ADDRESS:PORT or unix:/path/to.sock; beyond loopback, requests need the bearer token in $SNAPFN_HOME/token",
            DefaultValueFactory = _ => DaemonOptions.DefaultListen,
        };
        var warmPool = new Option<int>("--warm-pool") { Description = "idle warm VMs kept per function (mode=warm)", DefaultValueFactory = _ => defaults.WarmPoolSize };
        var concurrency = new Option<int>("--max-concurrency") { Description = "invocations running at once; more wait", DefaultValueFactory = _ => defaults.MaxConcurrentInvocations };
        var drain = new Option<double>("--drain-seconds") { Description = "on SIGTERM, how long requests in flight may finish", DefaultValueFactory = _ => defaults.DrainTimeout.TotalSeconds };
        var token = new Option<bool>("--require-token") { Description = "require the bearer token on loopback too" };
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
        var command = new Command("serve", "run the Snapfn daemon: HTTP API, function registry, metrics")
        {
            listen, warmPool, concurrency, drain, token, maxGuestMemory, budget, budgetWait, shells, shellIdle,
        };
        command.SetAction(parse =>
        {
            var options = defaults with
            {
                Listen = parse.GetValue(listen)!,
                WarmPoolSize = parse.GetValue(warmPool),
                MaxConcurrentInvocations = parse.GetValue(concurrency),
                DrainTimeout = TimeSpan.FromSeconds(parse.GetValue(drain)),
                RequireToken = parse.GetValue(token) ? true : null,
                Platform = PlatformOptions(parse.GetValue(maxGuestMemory), parse.GetValue(budget), parse.GetValue(budgetWait),
                    parse.GetValue(shells), parse.GetValue(shellIdle)),
            };
            if (options.WarmPoolSize < 0 || options.MaxConcurrentInvocations < 1 || options.DrainTimeout < TimeSpan.Zero)
                throw new UsageException("--warm-pool must be >= 0, --max-concurrency >= 1 and --drain-seconds >= 0");
            DaemonHost.Run(options);
            return 0;
        });
        return command;
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

using System.CommandLine;
using Snapfn.Platform.Logs;

namespace Snapfn.Cli;

/// <summary>`snapfn serve`'s flags for function logs (docs/limits.md, "Function logs").</summary>
public sealed class FunctionLogOptions
{
    private static readonly FunctionLogLimits _defaults = new();

    public Option<int> PerInvocationKib { get; } = new("--max-log-kib-per-invocation")
    {
        Description = "KiB of stdout and stderr one invocation keeps; the rest is dropped with a note (limit function-log-per-invocation)",
        DefaultValueFactory = _ => _defaults.MaxBytesPerInvocation >> 10,
    };

    public Option<int> PerInvocationLines { get; } = new("--max-log-lines-per-invocation")
    {
        Description = "lines one invocation keeps (limit function-log-per-invocation)",
        DefaultValueFactory = _ => _defaults.MaxLinesPerInvocation,
    };

    public Option<int> PerFunctionMib { get; } = new("--max-log-mib-per-function")
    {
        Description = "MiB of log lines kept per function; the oldest go first (limit function-log-per-function)",
        DefaultValueFactory = _ => (int)(_defaults.MaxBytesPerFunction >> 20),
    };

    public Option<int> Followers { get; } = new("--max-log-followers")
    {
        Description = "clients following logs at once (`snapfn logs --follow`; limit log-followers)",
        DefaultValueFactory = _ => _defaults.MaxFollowers,
    };

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(PerInvocationKib);
        command.Options.Add(PerInvocationLines);
        command.Options.Add(PerFunctionMib);
        command.Options.Add(Followers);
    }

    public FunctionLogLimits Read(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var kib = parse.GetValue(PerInvocationKib);
        var lines = parse.GetValue(PerInvocationLines);
        var mib = parse.GetValue(PerFunctionMib);
        var followers = parse.GetValue(Followers);
        if (kib is < 1 or > 16 * 1024 || lines < 1 || mib is < 1 or > 64 * 1024 || followers < 0)
            throw new UsageException("--max-log-kib-per-invocation must be 1 to 16384, --max-log-lines-per-invocation and --max-log-mib-per-function at least 1 (at most 65536 MiB), --max-log-followers at least 0");
        var limits = _defaults with
        {
            MaxBytesPerInvocation = kib << 10,
            MaxLinesPerInvocation = lines,
            MaxBytesPerFunction = (long)mib << 20,
            MaxFollowers = followers,
        };
        try
        {
            limits.Validate();
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new UsageException($"--max-log-mib-per-function must hold one invocation's log: at least {(limits.MaxBytesPerInvocation + (long)lines * FunctionLogLimits.RowOverhead + (1 << 20) - 1) >> 20} MiB with these per-invocation limits");
        }
        return limits;
    }
}

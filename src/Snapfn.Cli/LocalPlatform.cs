using Snapfn.Platform;

namespace Snapfn.Cli;

/// <summary>The platform in this process ($SNAPFN_HOME, guest/build): what the commands use without --server.</summary>
public static class LocalPlatform
{
    public static FunctionService Open() => FunctionService.OpenDefault(new FunctionServiceOptions
    {
        GuestLog = (_, line) => Console.Error.WriteLine($"[guest] {line}"),
    });

    /// <summary>A built-in or registered user function, for the commands that run it directly (run).</summary>
    public static FunctionInfo Resolve(string name)
    {
        using var service = Open();
        return service.Get(name).Info;
    }
}

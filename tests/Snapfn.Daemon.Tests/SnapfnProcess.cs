using System.Diagnostics;
using Snapfn.Platform;

namespace Snapfn.Daemon.Tests;

/// <summary>The CLI this test project was built with (snapfn.dll beside the tests), started as `dotnet snapfn.dll`
/// on <c>home</c> with its output redirected, the built-in guests of this checkout, and no server or token inherited
/// from the environment of whoever runs the tests.</summary>
internal static class SnapfnProcess
{
    public static Process Start(string home, string? workingDirectory, params string[] args) => Start(null, home, workingDirectory, args);

    /// <summary><see cref="Start(string, string?, string[])"/> with <paramref name="environment"/>'s variables set
    /// (a null value removes one) over what this process has.</summary>
    public static Process Start(IReadOnlyDictionary<string, string?>? environment, string home, string? workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null)
            info.WorkingDirectory = workingDirectory;
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "snapfn.dll"));
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        info.Environment["SNAPFN_HOME"] = home;
        info.Environment["SNAPFN_GUEST_DIR"] = FunctionCatalog.Default().GuestDirectory;
        info.Environment.Remove("SNAPFN_SERVER");
        info.Environment.Remove("SNAPFN_TOKEN");
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
                info.Environment.Remove(name);
            else
                info.Environment[name] = value;
        }
        return Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
    }
}

using System.Text;
using Snapfn.Linux.Roots;
using Snapfn.Platform;
using Snapfn.Tests;
using Snapfn.Vmm;

namespace Snapfn.Platform.Tests;

/// <summary>
/// A throw-away $SNAPFN_HOME for script functions (Python by default, or Node.js) written by a test, sharing the
/// machine's built runtime roots (its roots/ and apt/ are links to the shared state, so a root is built once, not
/// per test).
/// </summary>
public sealed class ScriptFunctionHome : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-pyfn-");

    private readonly ScriptRuntime _language;

    public ScriptFunctionHome(ScriptRuntime? language = null)
    {
        GuestBuild.RequireKvm();
        _language = language ?? ScriptRuntime.Python;
        var shared = SharedState;
        new RootBuilder(shared).Ensure(_language.Root);
        Directory.CreateSymbolicLink(Path.Combine(_dir.FullName, "roots"), Path.Combine(shared, "roots"));
        Directory.CreateSymbolicLink(Path.Combine(_dir.FullName, "apt"), Path.Combine(shared, "apt"));
        Home = new SnapfnHome(Path.Combine(_dir.FullName));
        Snapshots = new SnapshotService(Home);
        Records = new RecordService(Snapshots);
        Invoker = new Invoker(Snapshots);
    }

    public static string SharedState
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable("SNAPFN_HOME");
            return !string.IsNullOrEmpty(configured)
                ? Path.GetFullPath(configured)
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "snapfn");
        }
    }

    public SnapfnHome Home { get; }

    public SnapshotService Snapshots { get; }

    public RecordService Records { get; }

    public Invoker Invoker { get; }

    public List<string> Log { get; } = [];

    public MicroVmOptions Options => new()
    {
        MemorySize = 512UL << 20,
        Timeout = TimeSpan.FromSeconds(30),
        Log = line => { lock (Log) Log.Add(line); },
    };

    /// <summary>Writes a function folder with <paramref name="main"/> as its main file (main.py, index.js).</summary>
    public FunctionInfo Function(string name, string main)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir.FullName, "src", name)).FullName;
        File.WriteAllText(Path.Combine(folder, _language.MainFile), main);
        File.WriteAllText(Path.Combine(folder, "snapfn.json"), $$"""{"runtime": "{{_language.Name}}"}""");
        return new FunctionInfo(name, folder, "test function", IsTestGuest: true);
    }

    /// <summary>Snapshots <paramref name="function"/> (and records it with <paramref name="recordInput"/> for reap and
    /// faasnap), then checks that three invocations in <paramref name="mode"/> return what a fresh boot returns for
    /// <paramref name="input"/>, which must be <paramref name="expected"/>: restores never share globals.</summary>
    public void AssertModeAnswersAsABoot(FunctionInfo function, string mode, string recordInput, string input, string expected)
    {
        Snapshots.Take(function, Options);
        if (mode is "reap" or "faasnap")
            Records.Record(function, mode, Encoding.UTF8.GetBytes(recordInput), Options);
        var boot = Encoding.UTF8.GetString(BootRun.Run(function, Encoding.UTF8.GetBytes(input), Options).Output);
        Assert.Equal(expected, boot);
        for (var i = 0; i < 3; i++)
            Assert.Equal(boot, Invoke(function, mode, input, cold: mode != "cached"));
    }

    public string Invoke(FunctionInfo function, string mode, string input, bool cold = false) =>
        Encoding.UTF8.GetString(Invoker.Invoke(new InvocationRequest(function, mode, Encoding.UTF8.GetBytes(input), cold), Options).Output);

    public void Dispose()
    {
        Invoker.Dispose();
        _dir.Delete(recursive: true);
    }
}

using System.Text;
using Snapfn.Linux.Roots;
using Snapfn.Platform;
using Snapfn.Tests;
using Snapfn.Vmm;

namespace Snapfn.Platform.Tests;

/// <summary>
/// A throw-away $SNAPFN_HOME for Python functions written by a test, sharing the machine's built runtime roots
/// (its roots/ and apt/ are links to the shared state, so the python root is built once, not per test).
/// </summary>
public sealed class PythonFunctionHome : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-pyfn-");

    public PythonFunctionHome()
    {
        GuestBuild.RequireKvm();
        var shared = SharedState;
        new RootBuilder(shared).Ensure(Runtimes.Python);
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

    /// <summary>Writes a function folder with <paramref name="main"/> as its main.py.</summary>
    public FunctionInfo Function(string name, string main)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir.FullName, "src", name)).FullName;
        File.WriteAllText(Path.Combine(folder, "main.py"), main);
        File.WriteAllText(Path.Combine(folder, "snapfn.json"), """{"runtime": "python"}""");
        return new FunctionInfo(name, folder, "test function", IsTestGuest: true);
    }

    public string Invoke(FunctionInfo function, string mode, string input, bool cold = false) =>
        Encoding.UTF8.GetString(Invoker.Invoke(new InvocationRequest(function, mode, Encoding.UTF8.GetBytes(input), cold), Options).Output);

    public void Dispose()
    {
        Invoker.Dispose();
        _dir.Delete(recursive: true);
    }
}

using System.Text;

namespace Snapfn.Platform.Tests;

/// <summary>
/// The serve side on real guests (skipped, visibly, without KVM): a deployed Python function invoked with no mode is
/// served from its snapshot in the path the platform picks, and a function that keeps state counts across requests
/// on its kept VM while one that does not starts from the snapshot every time.
/// </summary>
public sealed class ServingKvmTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-serving-");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private const string Counter = "count = 0\n\ndef handle(r):\n    global count\n    count += 1\n    return str(count).encode()\n";

    private FunctionService Service(ScriptFunctionHome home) =>
        new(home.Home, new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins")));

    private static string Run(FunctionService service, string name, string input, out string? path)
    {
        var result = service.Server.Invoke(new InvokeRequest(name, Encoding.UTF8.GetBytes(input)) { Timeout = TimeSpan.FromSeconds(30) }, Cancel);
        path = result.Path;
        return Encoding.UTF8.GetString(result.Output);
    }

    [Fact]
    public void A_deployed_python_function_is_served_without_a_mode_and_moves_to_its_recording_once_there_is_one()
    {
        using var home = new ScriptFunctionHome();
        using var service = Service(home);
        service.Register("greeter", FunctionZip.Of(("main.py", "def handle(r):\n    return b'hi ' + r\n")), 512, "test");
        service.TakeSnapshot("greeter", null, TimeSpan.FromSeconds(60));

        Assert.Equal("hi ada", Run(service, "greeter", "ada", out var path));
        Assert.True(path is "cold-cached" or "cold-vanilla", path);

        service.Record("greeter", "reap", "ada"u8.ToArray(), TimeSpan.FromSeconds(60));
        Assert.Equal("hi bo", Run(service, "greeter", "bo", out path));
        Assert.Equal("cold-reap", path);
        service.Record("greeter", "faasnap", "ada"u8.ToArray(), TimeSpan.FromSeconds(60));
        Assert.Equal("hi cy", Run(service, "greeter", "cy", out path));
        Assert.Equal("cold-faasnap", path);
        Assert.Equal(default, service.Server.Instances.CountsOf("greeter")); // nothing kept: it does not keep state
    }

    [Fact]
    public void A_function_that_keeps_state_counts_across_requests_on_its_kept_vm_and_one_that_does_not_starts_fresh()
    {
        using var home = new ScriptFunctionHome();
        using var service = Service(home);
        service.Register("counter", FunctionZip.Of(("main.py", Counter), ("snapfn.json", """{"runtime": "python", "keep_state": true}""")), 512, "test");
        service.Register("fresh", FunctionZip.Of(("main.py", Counter)), 512, "test");
        Assert.True(service.Get("counter").Settings.KeepState);
        service.TakeSnapshot("counter", null, TimeSpan.FromSeconds(60));
        service.TakeSnapshot("fresh", null, TimeSpan.FromSeconds(60));

        Assert.Equal("1", Run(service, "counter", "", out var path));
        Assert.StartsWith("cold-", path, StringComparison.Ordinal);
        Assert.Equal(new InstanceCounts(0, 1, 0), service.Server.Instances.CountsOf("counter"));
        Assert.Equal("2", Run(service, "counter", "", out path));
        Assert.Equal("kept", path);
        Assert.Equal("3", Run(service, "counter", "", out path));
        Assert.Equal("kept", path);

        Assert.Equal("1", Run(service, "fresh", "", out _));
        Assert.Equal("1", Run(service, "fresh", "", out path));
        Assert.StartsWith("cold-", path, StringComparison.Ordinal);

        // A new snapshot stops the kept VM: the count starts again from the snapshot's.
        service.TakeSnapshot("counter", null, TimeSpan.FromSeconds(60));
        Assert.Equal(default, service.Server.Instances.CountsOf("counter"));
        Assert.Equal("1", Run(service, "counter", "", out path));
        Assert.StartsWith("cold-", path, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}

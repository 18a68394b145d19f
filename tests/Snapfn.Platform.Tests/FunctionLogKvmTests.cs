using System.Text;
using Snapfn.Platform.Logs;

namespace Snapfn.Platform.Tests;

/// <summary>
/// Issue 21, function logs with real guests (skipped visibly without KVM): a deployed Python function's print and
/// traceback output reach the store under the invocation's id — through python3's stdout, the system-call layer's
/// fd 1, the VM's output switch and the capture — and what init() prints is kept once, under the snapshot.
/// </summary>
public sealed class FunctionLogKvmTests : IDisposable
{
    private const string Printer = """
        import sys

        def init():
            print("warming up")

        def handle(request):
            print("handling", request.decode())
            print("careful", file=sys.stderr)
            if request == b"fail":
                raise ValueError("asked to fail")
            return b"ok"
        """;

    private readonly ScriptFunctionHome _home = new();
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-logs-kvm-");

    private FunctionService Service() => new(_home.Home, new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins")));

    private static List<(string InvocationId, string Stream, string Phase, string Path, string Text)> Lines(FunctionService service) =>
        service.Logs.Page("printer", null, 100).Reverse()
            .Select(l => (l.InvocationId, l.Stream, FunctionLogLine.PhaseName(l.Phase), l.Path, Encoding.UTF8.GetString(l.Bytes))).ToList();

    [Fact]
    public void A_python_functions_print_appears_under_its_invocation_id()
    {
        using var service = Service();
        service.Register("printer", FunctionZip.Of(("main.py", Printer)), 512, "test");
        service.TakeSnapshot("printer", null, TimeSpan.FromSeconds(60));
        var cancel = TestContext.Current.CancellationToken;
        var first = service.Invoke("printer", "vanilla", "ada"u8.ToArray(), cold: false, TimeSpan.FromSeconds(30), cancel);
        var second = service.Invoke("printer", "vanilla", "bo"u8.ToArray(), cold: false, TimeSpan.FromSeconds(30), cancel);

        var lines = Lines(service);
        var init = Assert.Single(lines, l => l.Phase == "init");
        Assert.Equal(("stdout", "snapshot", "warming up"), (init.Stream, init.Path, init.Text));
        Assert.NotEqual(first.InvocationId, init.InvocationId);
        Assert.Equal([("stdout", "handling ada"), ("stderr", "careful")], ByStream(lines, first.InvocationId));
        Assert.Equal([("stdout", "handling bo"), ("stderr", "careful")], ByStream(lines, second.InvocationId));
        // A restore starts after init: "warming up" is never printed again.
        Assert.Single(lines, l => l.Text == "warming up");
    }

    [Fact]
    public void Each_request_a_warm_vm_serves_logs_under_its_own_id_and_its_boot_as_init()
    {
        using var service = Service();
        service.Register("printer", FunctionZip.Of(("main.py", Printer)), 512, "test");
        var cancel = TestContext.Current.CancellationToken;
        var first = service.Invoke("printer", "warm", "one"u8.ToArray(), cold: false, TimeSpan.FromSeconds(30), cancel);
        var second = service.Invoke("printer", "warm", "two"u8.ToArray(), cold: false, TimeSpan.FromSeconds(30), cancel);
        Assert.True(first.ColdStart);
        Assert.False(second.ColdStart);

        var lines = Lines(service);
        Assert.Equal([("init", "warming up"), ("invoke", "handling one")], lines.Where(l => l.InvocationId == first.InvocationId && l.Stream == "stdout").Select(l => (l.Phase, l.Text)));
        Assert.Equal([("invoke", "careful")], lines.Where(l => l.InvocationId == first.InvocationId && l.Stream == "stderr").Select(l => (l.Phase, l.Text)));
        Assert.Equal([("stdout", "handling two"), ("stderr", "careful")], ByStream(lines, second.InvocationId));
        Assert.All(lines.Where(l => l.InvocationId == second.InvocationId), l => Assert.Equal("invoke", l.Phase));
        Assert.All(lines, l => Assert.Equal("mode-warm", l.Path));
    }

    [Fact]
    public void A_failed_invocations_output_is_kept()
    {
        using var service = Service();
        service.Register("printer", FunctionZip.Of(("main.py", Printer)), 512, "test");
        service.TakeSnapshot("printer", null, TimeSpan.FromSeconds(60));
        var id = InvocationId.New();
        Assert.ThrowsAny<Exception>(() =>
            service.Invoke("printer", "vanilla", "fail"u8.ToArray(), cold: false, TimeSpan.FromSeconds(30), id, TestContext.Current.CancellationToken));
        Assert.Equal([("stdout", "handling fail"), ("stderr", "careful")], ByStream(Lines(service), id));
    }

    /// <summary>An invocation's lines, stdout's then stderr's, each stream in its order. Not one order across the two
    /// streams: python3 buffers stdout written to a pipe or file (a VM's fd 1 is no terminal) and the shim flushes it
    /// after handle() returns, while stderr is written at each line, as on any Linux host.</summary>
    private static List<(string Stream, string Text)> ByStream(List<(string InvocationId, string Stream, string Phase, string Path, string Text)> lines, string? id) =>
        [.. lines.Where(l => l.InvocationId == id && l.Stream == "stdout").Select(l => (l.Stream, l.Text)),
         .. lines.Where(l => l.InvocationId == id && l.Stream == "stderr").Select(l => (l.Stream, l.Text))];

    public void Dispose()
    {
        _home.Dispose();
        _dir.Delete(recursive: true);
    }
}

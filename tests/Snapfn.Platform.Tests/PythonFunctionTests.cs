using System.Text;
using Snapfn.Linux;
using Snapfn.Snapshots;
using Snapfn.Vmm;

namespace Snapfn.Platform.Tests;

/// <summary>Python functions through snapshots, every restore mode and the errors a user can cause.</summary>
public sealed class PythonFunctionTests : IDisposable
{
    private const string Counter = """
        import json
        calls = 0
        table = None

        def init():
            global table
            table = {i: i * i for i in range(10000)}

        def handle(request):
            global calls
            calls += 1
            body = json.loads(request or b"{}")
            n = body.get("n", 3)
            return json.dumps({"calls": calls, "square": table[n], "echo": body.get("echo")}).encode()
        """;

    private readonly ScriptFunctionHome _home = new();

    public static TheoryData<string> ColdModes => new() { "vanilla", "cached", "reap", "faasnap" };

    [Theory]
    [MemberData(nameof(ColdModes))]
    public void Every_mode_returns_what_a_fresh_boot_returns_and_restores_never_share_globals(string mode) =>
        _home.AssertModeAnswersAsABoot(_home.Function("counter", Counter), mode, """{"n": 5}""", """{"n": 7, "echo": "B"}""",
            """{"calls": 1, "square": 49, "echo": "B"}""");

    [Fact]
    public void A_warm_vm_keeps_its_globals_between_requests()
    {
        var function = _home.Function("counter", Counter);
        _home.Snapshots.Take(function, _home.Options);
        Assert.Contains("\"calls\": 1", _home.Invoke(function, "warm", "{}"), StringComparison.Ordinal);
        Assert.Contains("\"calls\": 2", _home.Invoke(function, "warm", "{}"), StringComparison.Ordinal);
        Assert.Contains("\"calls\": 1", _home.Invoke(function, "vanilla", "{}"), StringComparison.Ordinal);
    }

    [Fact]
    public void Two_restores_of_one_snapshot_get_fresh_randomness_and_the_host_clock()
    {
        var function = _home.Function("random", """
            import os, random, time
            random.seed(1)
            def handle(request):
                return f"{os.urandom(8).hex()} {random.random()} {time.time()}".encode()
            """);
        _home.Snapshots.Take(function, _home.Options);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var a = _home.Invoke(function, "vanilla", "").Split(' ');
        var b = _home.Invoke(function, "vanilla", "").Split(' ');
        Assert.NotEqual(a[0], b[0]);
        Assert.NotEqual(a[1], b[1]);
        Assert.InRange(double.Parse(a[2], System.Globalization.CultureInfo.InvariantCulture), before - 1, before + 60);
    }

    [Fact]
    public void Restored_copies_draw_different_openssl_bytes_when_init_drew_before_the_snapshot()
    {
        // ssl's generator is OpenSSL's, whose state is in the snapshot: without the shim's RAND_add every restored
        // copy answered with the same bytes.
        var function = _home.Function("openssl-random", """
            import ssl
            ssl.RAND_bytes(16)
            def handle(request):
                return ssl.RAND_bytes(16).hex().encode()
            """);
        _home.Snapshots.Take(function, _home.Options);
        Assert.NotEqual(_home.Invoke(function, "vanilla", ""), _home.Invoke(function, "vanilla", ""));
    }

    [Fact]
    public void A_syntax_error_fails_the_snapshot_with_its_line_and_keeps_the_old_snapshot()
    {
        var function = _home.Function("broken", "def handle(request):\n    return b'ok'\n");
        _home.Snapshots.Take(function, _home.Options);
        File.WriteAllText(Path.Combine(function.CodePath, "main.py"), "def handle(request)\n    return b'ok'\n");
        var broken = function with { };
        var e = Assert.Throws<FunctionFailedException>(() => _home.Snapshots.Take(broken, _home.Options));
        Assert.Contains("SyntaxError", e.Message, StringComparison.Ordinal);
        Assert.Contains("main.py line 1", e.Message, StringComparison.Ordinal);
        // The snapshot on disk is the old one: it is refused as another build, not lost half-written.
        Assert.Contains("different build", Assert.Throws<SnapshotInvalidException>(() => _home.Snapshots.Open(broken)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_init_that_raises_fails_the_snapshot_with_the_exception()
    {
        var function = _home.Function("bad-init", "def init():\n    raise ValueError('no model file')\ndef handle(r):\n    return r\n");
        var e = Assert.Throws<FunctionFailedException>(() => _home.Snapshots.Take(function, _home.Options));
        Assert.Contains("init failed: ValueError: no model file", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("raise KeyError('missing')", "handle() raised KeyError")]
    [InlineData("return 'text'", "handle() returned str, not bytes")]
    [InlineData("return None", "handle() returned NoneType")]
    public void A_failing_handler_fails_the_request_and_the_warm_vm_stays_usable(string body, string expected)
    {
        var function = _home.Function("bad-handle", $"def handle(request):\n    if request == b'ok':\n        return b'fine'\n    {body}\n");
        _home.Snapshots.Take(function, _home.Options);
        foreach (var mode in new[] { "vanilla", "warm" })
        {
            var e = Assert.ThrowsAny<GuestFailureException>(() => _home.Invoke(function, mode, "boom"));
            Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        }
        Assert.Equal("fine", _home.Invoke(function, "warm", "ok"));
    }

    [Fact]
    public void A_program_that_never_reads_its_channel_times_out_at_snapshot()
    {
        var function = _home.Function("never-ready", "while True:\n    pass\n");
        var e = Assert.Throws<GuestTimeoutException>(() => _home.Snapshots.Take(function, _home.Options with { Timeout = TimeSpan.FromSeconds(2) }));
        Assert.Contains("did not finish within 2 s", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_result_larger_than_the_limit_is_refused()
    {
        var function = _home.Function("too-big", "def handle(request):\n    return b'x' * (40 << 20)\n");
        _home.Snapshots.Take(function, _home.Options);
        var e = Assert.ThrowsAny<GuestFailureException>(() => _home.Invoke(function, "vanilla", ""));
        Assert.Contains("limit of 33554432 bytes (32 MiB)", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _home.Dispose();
}

using System.Text;
using Snapfn.Vmm;
using Snapfn.Snapshots;

namespace Snapfn.Platform.Tests;

/// <summary>
/// Issue 24: Node.js functions (Debian's node from the node runtime's root, guest/node/snapfn_shim.js) through a
/// deploy, the snapshot at the shim's first read of fd 3 and every restore mode, beside the Python ones. They need
/// KVM (skipped visibly without it) and threads in the Linux layer: Node starts V8's worker threads before it runs
/// any JavaScript.
/// </summary>
public sealed class NodeFunctionTests : IDisposable
{
    private const string Counter = """
        'use strict';
        let calls = 0;
        let table = null;
        exports.init = () => {
          table = new Map();
          for (let i = 0; i < 10000; i++) table.set(i, i * i);
        };
        exports.handle = async (request) => {
          calls += 1;
          const body = JSON.parse(request.length ? request.toString() : '{}');
          const n = body.n ?? 3;
          await new Promise((resolve) => setImmediate(resolve));
          return Buffer.from(JSON.stringify({ calls, square: table.get(n), echo: body.echo ?? null }));
        };
        """;

    private readonly ScriptFunctionHome _home = new(ScriptRuntime.Node);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-nodefn-");

    [Theory]
    [MemberData(nameof(PythonFunctionTests.ColdModes), MemberType = typeof(PythonFunctionTests))]
    public void Every_mode_returns_what_a_fresh_boot_returns_and_restores_never_share_globals(string mode) =>
        _home.AssertModeAnswersAsABoot(_home.Function("node-counter", Counter), mode, """{"n": 5}""", """{"n": 7, "echo": "B"}""",
            """{"calls":1,"square":49,"echo":"B"}""");

    [Fact]
    public void A_warm_vm_keeps_its_globals_and_restores_draw_different_random_numbers()
    {
        var function = _home.Function("node-warm", Counter.Replace("calls, square", "calls, r: Math.random(), square", StringComparison.Ordinal));
        _home.Snapshots.Take(function, _home.Options);
        Assert.Contains("\"calls\":1", _home.Invoke(function, "warm", "{}"), StringComparison.Ordinal);
        Assert.Contains("\"calls\":2", _home.Invoke(function, "warm", "{}"), StringComparison.Ordinal);
        var a = _home.Invoke(function, "vanilla", "{}");
        var b = _home.Invoke(function, "vanilla", "{}");
        Assert.Contains("\"calls\":1", a, StringComparison.Ordinal);
        Assert.NotEqual(a, b); // Math.random re-seeded on FIRST_IN_VM
    }

    [Fact]
    public void Restored_copies_draw_different_openssl_bytes_and_uuids_even_when_init_drew_before_the_snapshot()
    {
        // init() draws from OpenSSL and fills randomUUID's cache before the snapshot: without the shim's reseeding
        // every restored copy answered with the same bytes and the same UUID.
        var function = _home.Function("node-entropy", """
            const crypto = require('crypto');
            exports.init = () => { crypto.randomBytes(16); crypto.randomUUID(); crypto.webcrypto.randomUUID(); };
            exports.handle = () => Buffer.from([crypto.randomBytes(16).toString('hex'), crypto.randomUUID(),
              crypto.webcrypto.randomUUID(), crypto.randomInt(1 << 30)].join(' '));
            """);
        _home.Snapshots.Take(function, _home.Options);
        var a = _home.Invoke(function, "vanilla", "").Split(' ');
        var b = _home.Invoke(function, "vanilla", "").Split(' ');
        Assert.Equal(4, a.Length);
        for (var i = 0; i < a.Length; i++)
            Assert.NotEqual(a[i], b[i]);
    }

    [Fact]
    public void A_throwing_handler_fails_the_request_with_its_line_and_the_warm_vm_stays_usable()
    {
        var function = _home.Function("node-bad", "exports.handle = (r) => {\n  if (r.toString() === 'ok') return Buffer.from('fine');\n  throw new RangeError('boom');\n};\n");
        _home.Snapshots.Take(function, _home.Options);
        var e = Assert.ThrowsAny<GuestFailureException>(() => _home.Invoke(function, "warm", "x"));
        Assert.Contains("handle() raised RangeError: boom (index.js line 3)", e.Message, StringComparison.Ordinal);
        Assert.Equal("fine", _home.Invoke(function, "warm", "ok"));
    }

    [Fact]
    public void A_deployed_node_function_snapshots_and_runs_and_a_syntax_error_is_refused_at_deploy()
    {
        using var service = new FunctionService(_home.Home, new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins")));
        service.Register("node-greeter", FunctionZip.Of(("index.js", "exports.handle = (r) => Buffer.concat([Buffer.from('hi '), r]);\n"),
            ("snapfn.json", """{"runtime": "node"}""")), 512, "test");
        Assert.Equal("node", ScriptFunction.Language(service.Get("node-greeter").ElfPath).Name);
        service.TakeSnapshot("node-greeter", null, TimeSpan.FromSeconds(60));
        foreach (var mode in new[] { "vanilla", "cached", "warm" })
        {
            var output = service.Server.Invoke(new InvokeRequest("node-greeter", "ada"u8.ToArray()) { Mode = mode, Timeout = TimeSpan.FromSeconds(30) },
                TestContext.Current.CancellationToken).Output;
            Assert.Equal("hi ada", Encoding.UTF8.GetString(output));
        }
        var e = Assert.Throws<InvalidRequestException>(() => service.Register("node-greeter",
            FunctionZip.Of(("index.js", "exports.handle = (r) => {\n  let = = 1;\n};\n"), ("snapfn.json", """{"runtime": "node"}""")), 512, "test"));
        Assert.Contains("index.js line 2: SyntaxError", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_built_in_node_hello_world_answers_beside_py_hello_world()
    {
        var catalog = FunctionCatalog.Default();
        var node = catalog.Get("node-hello-world");
        _home.Snapshots.Take(node, _home.Options);
        Assert.Equal("Hello, Ada!", _home.Invoke(node, "vanilla", """{"name": "Ada"}"""));
        _home.Records.Record(node, "faasnap", """{"name":"Alice"}"""u8.ToArray(), _home.Options);
        Assert.Equal("Hello, World!", _home.Invoke(node, "faasnap", "", cold: true));
    }

    public void Dispose()
    {
        _home.Dispose();
        _dir.Delete(recursive: true);
    }
}

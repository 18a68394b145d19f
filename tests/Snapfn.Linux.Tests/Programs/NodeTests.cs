using Snapfn.Linux.Tests.Roots;

namespace Snapfn.Linux.Tests.Programs;

/// <summary>Issue 24: Debian's unmodified node (18.x, the node runtime's root) in a VM. Needs KVM (skipped visibly
/// without it) and threads in the Linux layer: V8 starts its worker threads before any JavaScript runs.</summary>
public sealed class NodeTests
{
    /// <summary>The watchdog is generous: on the software CPU node's start alone takes a minute or more (V8
    /// deserializes its heap and JIT-compiles), and the machine may be shared; on KVM it takes well under a second.</summary>
    private static ProgramOutput Node(string code) =>
        GuestProgram.Run("/usr/bin/node", ["--v8-pool-size=1", "-e", code], mountTests: false, memory: 1UL << 30, timeout: TimeSpan.FromMinutes(5),
            environment: [.. ProcessOptions.DefaultEnvironment, "UV_THREADPOOL_SIZE=1"], root: () => NodeRoot.Directory);

    [Fact]
    public void Node_prints_a_sum_and_its_version()
    {
        var output = Node("console.log(Array.from({ length: 1000 }, (_, i) => i).reduce((a, b) => a + b), process.version.split('.')[0])");
        Assert.True(output.Exit.Status == 0, output.ToString());
        Assert.Equal("499500 v18\n", output.Stdout);
    }

    [Fact]
    public void The_runtime_smoke_test_passes()
    {
        const string script = """
            const assert = require('assert'), crypto = require('crypto'), fs = require('fs'), zlib = require('zlib');
            assert.deepStrictEqual(JSON.parse(JSON.stringify({ a: [1, 2.5, null] })), { a: [1, 2.5, null] });
            assert.strictEqual(crypto.createHash('sha256').update('abc').digest('hex').slice(0, 8), 'ba7816bf');
            assert.notDeepStrictEqual(crypto.randomBytes(16), crypto.randomBytes(16));
            const data = Buffer.from('snapfn'.repeat(1000));
            assert.ok(zlib.gunzipSync(zlib.gzipSync(data)).equals(data));
            fs.writeFileSync('/tmp/x', 'hello');
            assert.strictEqual(fs.readFileSync('/tmp/x', 'utf8'), 'hello');
            setTimeout(() => Promise.resolve().then(() => console.log('smoke ok')), 10);
            """;
        var output = Node(script);
        Assert.True(output.Exit.Status == 0, output.ToString());
        Assert.Equal("smoke ok\n", output.Stdout);
    }

    [Fact]
    public void An_uncaught_exception_exits_with_status_1_and_its_message()
    {
        var output = Node("throw new Error('boom')");
        Assert.Equal(1, output.Exit.Status);
        Assert.Contains("Error: boom", output.Stderr, StringComparison.Ordinal);
    }
}

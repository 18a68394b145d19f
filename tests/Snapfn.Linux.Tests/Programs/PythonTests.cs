namespace Snapfn.Linux.Tests.Programs;

/// <summary>Debian's unmodified python3.11 in a VM: the standard library's commonest modules work.</summary>
public sealed class PythonTests
{
    private static ProgramOutput Python(string code) => GuestProgram.Run("/usr/bin/python3", ["-c", code], mountTests: false);

    [Fact]
    public void Python_prints_the_sum_and_its_version()
    {
        var output = Python("import sys; print(sum(range(10**6)), sys.version_info[:2])");
        Assert.True(output.Exit.Status == 0, output.ToString());
        Assert.Equal("499999500000 (3, 11)\n", output.Stdout);
    }

    [Fact]
    public void The_standard_library_smoke_test_passes()
    {
        const string script = """
            import json, re, zlib, hashlib, datetime, random, os, tempfile
            assert json.loads(json.dumps({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}
            assert re.sub(r"a+", "b", "caaat") == "cbt"
            data = b"snapfn" * 1000
            assert zlib.decompress(zlib.compress(data)) == data
            assert hashlib.sha256(b"abc").hexdigest().startswith("ba7816bf")
            assert datetime.datetime.now().year >= 2024
            random.seed(7); a = random.random(); random.seed(7); assert random.random() == a
            assert os.urandom(16) != os.urandom(16)
            with tempfile.NamedTemporaryFile("w+", dir="/tmp") as f:
                f.write("hello"); f.flush(); f.seek(0); assert f.read() == "hello"
            print("smoke ok")
            """;
        var output = Python(script);
        Assert.True(output.Exit.Status == 0, output.ToString());
        Assert.Equal("smoke ok\n", output.Stdout);
    }

    /// <summary>Issue 24: threads on the VMM's scheduler — threading, a lock-protected counter, a ThreadPoolExecutor,
    /// asyncio's default executor, a thread that computes without system calls (time slices) and join.</summary>
    [Fact]
    public void Threads_a_thread_pool_and_asyncio_executors_run()
    {
        const string script = """
            import threading, concurrent.futures, asyncio, time
            lock = threading.Lock(); total = [0]
            def add(n):
                for _ in range(n):
                    with lock:
                        total[0] += 1
            threads = [threading.Thread(target=add, args=(1000,)) for _ in range(8)]
            for t in threads: t.start()
            for t in threads: t.join()
            assert total[0] == 8000, total
            with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
                squares = list(pool.map(lambda x: x * x, range(100)))
            assert squares == [x * x for x in range(100)]
            def busy():
                return sum(i * i for i in range(300000))
            async def main():
                loop = asyncio.get_running_loop()
                return await asyncio.gather(*(loop.run_in_executor(None, busy) for _ in range(3)))
            assert len(set(asyncio.run(main()))) == 1
            done = threading.Event()
            t = threading.Thread(target=lambda: (time.sleep(0.02), done.set())); t.start()
            assert done.wait(5) and (t.join() or True)
            assert threading.active_count() == 1, threading.enumerate()
            print("threads ok", threading.get_native_id() == threading.main_thread().native_id)
            """;
        var output = Python(script);
        Assert.True(output.Exit.Status == 0, output.ToString());
        Assert.Equal("threads ok True\n", output.Stdout);
    }

    [Fact]
    public void Reading_a_host_secret_fails_and_the_program_exits_non_zero()
    {
        var output = Python("open('/etc/shadow').read()");
        Assert.Equal(1, output.Exit.Status);
        Assert.Contains("FileNotFoundError", output.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void An_exception_exits_with_status_1_and_a_traceback()
    {
        var output = Python("raise SystemExit(3)");
        Assert.Equal(3, output.Exit.Status);
    }
}

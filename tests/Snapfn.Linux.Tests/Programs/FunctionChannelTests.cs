using System.Text;
using Snapfn.Linux.Tests.Roots;
using Snapfn.Tests;
using Snapfn.Vmm;

namespace Snapfn.Linux.Tests.Programs;

/// <summary>A program as a function: requests and results over fd 3, READY at its first read, and its process
/// state captured at READY and rebuilt around a copy of its memory.</summary>
public sealed class FunctionChannelTests
{
    /// <summary>A minimal server of the fd-3 protocol: answers "count:body:flags".</summary>
    private const string Server = """
        import os, struct
        def readn(n):
            b = b''
            while len(b) < n:
                c = os.read(3, n - len(b))
                if not c:
                    raise SystemExit(0)
                b += c
            return b
        count = 0
        open('/tmp/state', 'w').write('made in init')
        # what a snapshot's /tmp keeps besides contents: an owner, a second name, a time, a FIFO
        os.chown('/tmp/state', 1000, 1001)
        os.link('/tmp/state', '/tmp/state2')
        os.utime('/tmp/state', (0, 1234567))
        os.mkfifo('/tmp/fifo')
        def meta():
            st = os.stat('/tmp/state2')
            return b'%d.%d.%d.%d.%d' % (st.st_uid, st.st_gid, st.st_nlink, st.st_mtime, os.stat('/tmp/fifo').st_mode >> 12)
        while True:
            length, flags = struct.unpack('<II', readn(8))
            body = readn(length)
            count += 1
            if body == b'fail':
                out = b'it failed'
                os.write(3, struct.pack('<II', 1, len(out)) + out)
                continue
            if body == b'exit':
                raise SystemExit(4)
            out = b'%d:%s:%d:%s:%s' % (count, body, flags, open('/tmp/state', 'rb').read(), meta())
            os.write(3, struct.pack('<II', 0, len(out)) + out)
        """;

    /// <summary>Issue 24: a server whose init starts a thread pool, whose workers wait at READY; each request runs on it.</summary>
    private const string ThreadedServer = """
        import os, struct, threading, concurrent.futures
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=3)
        # Three tasks that wait for each other: the pool starts a worker for each (it reuses only an idle one), so
        # all three exist before READY, however fast the CPU runs them.
        barrier = threading.Barrier(3)
        assert sorted(pool.map(lambda x: (barrier.wait(), x)[1], range(3))) == [0, 1, 2]
        def readn(n):
            b = b''
            while len(b) < n:
                c = os.read(3, n - len(b))
                if not c:
                    raise SystemExit(0)
                b += c
            return b
        count = 0
        while True:
            length, flags = struct.unpack('<II', readn(8))
            body = readn(length)
            count += 1
            words = list(pool.map(lambda w: w.upper(), body.split(b' ')))
            out = b'%d:%s:%d' % (count, b'-'.join(words), threading.active_count())
            os.write(3, struct.pack('<II', 0, len(out)) + out)
        """;

    private static ProcessOptions Options(StringBuilder stderr, string server = Server) => new()
    {
        RootDirectory = PythonRoot.Directory,
        Program = "/usr/bin/python3",
        Arguments = ["/usr/bin/python3", "-c", server],
        VdsoPath = File.Exists(GuestProgram.VdsoPath) ? GuestProgram.VdsoPath : null,
        StandardError = bytes => stderr.Append(Encoding.UTF8.GetString(bytes)),
        Function = true,
        RootFingerprint = PythonRoot.Root.Manifest.PackagesSha256,
        Vm = new MicroVmOptions { MemorySize = 256UL << 20, Timeout = TimeSpan.FromSeconds(30), Name = "fn" },
    };

    private static string Call(MicroVm vm, string input)
    {
        var run = vm.Invoke(Encoding.UTF8.GetBytes(input));
        return Encoding.UTF8.GetString(vm.Output(run));
    }

    [Fact]
    public void Requests_and_results_travel_over_fd_3_and_the_vm_stays_warm()
    {
        GuestBuild.RequireKvm();
        var stderr = new StringBuilder();
        using var process = LinuxProcess.Start(Options(stderr));
        Assert.Equal(GuestStop.Ready, process.Vm.RunToReady().Stop);
        Assert.Equal("1:a:1:made in init:1000.1001.2.1234567.1", Call(process.Vm, "a"));
        Assert.Equal("2:bb:0:made in init:1000.1001.2.1234567.1", Call(process.Vm, "bb"));
        var failed = Assert.Throws<FunctionFailedException>(() => Call(process.Vm, "fail"));
        Assert.Contains("it failed", failed.Message, StringComparison.Ordinal);
        Assert.Equal("4:c:0:made in init:1000.1001.2.1234567.1", Call(process.Vm, "c"));
        var exited = Assert.Throws<ProgramExitedException>(() => Call(process.Vm, "exit"));
        Assert.Contains("exited with status 4 during a request", exited.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_process_captured_at_ready_resumes_from_a_copy_of_its_memory_and_state()
    {
        GuestBuild.RequireKvm();
        var stderr = new StringBuilder();
        var options = Options(stderr);
        using var original = LinuxProcess.Start(options);
        original.Vm.RunToReady();
        var vcpu = original.Vm.CaptureState();
        var state = ProcessState.Deserialize(original.Capture().Serialize());
        Assert.NotNull(state.PendingRead);
        Assert.Contains(state.Tmp, e => e.Path == "state" && e.Uid == 1000);

        for (var copy = 0; copy < 2; copy++)
        {
            var shell = VmShell.Create(options.Vm.MemorySize, "copy");
            var memory = new GuestMemory(shell.Memory);
            original.Vm.Memory.Span(0, options.Vm.MemorySize).CopyTo(memory.Span(0, options.Vm.MemorySize));
            using var restored = LinuxProcess.Restore(state, options, shell, memory, original.Vm.Layout, vcpu);
            // Each copy starts from the snapshot: its first request is number 1 and says FIRST_IN_VM.
            Assert.Equal("1:x:1:made in init:1000.1001.2.1234567.1", Call(restored.Vm, "x"));
            Assert.Equal("2:y:0:made in init:1000.1001.2.1234567.1", Call(restored.Vm, "y"));
        }
        Assert.Equal("1:z:1:made in init:1000.1001.2.1234567.1", Call(original.Vm, "z"));
    }

    [Fact]
    public void A_function_whose_thread_pool_waits_at_ready_keeps_every_thread_in_its_snapshot()
    {
        GuestBuild.RequireKvm();
        var options = Options(new StringBuilder(), ThreadedServer);
        using var original = LinuxProcess.Start(options);
        original.Vm.RunToReady();
        var vcpu = original.Vm.CaptureState();
        var state = ProcessState.Deserialize(original.Capture().Serialize());
        Assert.Equal(4, state.Threads.Count);
        Assert.All(state.Threads.Skip(1), t => Assert.NotNull(t.Wait));
        for (var copy = 0; copy < 2; copy++)
        {
            var shell = VmShell.Create(options.Vm.MemorySize, "copy");
            var memory = new GuestMemory(shell.Memory);
            original.Vm.Memory.Span(0, options.Vm.MemorySize).CopyTo(memory.Span(0, options.Vm.MemorySize));
            using var restored = LinuxProcess.Restore(state, options, shell, memory, original.Vm.Layout, vcpu);
            Assert.Equal("1:A-B-C:4", Call(restored.Vm, "a b c"));
            Assert.Equal("2:SNAP-FN:4", Call(restored.Vm, "snap fn"));
        }
        Assert.Equal("1:WARM:4", Call(original.Vm, "warm"));
    }

    [Fact]
    public void A_changed_root_is_refused()
    {
        GuestBuild.RequireKvm();
        var options = Options(new StringBuilder());
        using var original = LinuxProcess.Start(options);
        original.Vm.RunToReady();
        var vcpu = original.Vm.CaptureState();
        var state = original.Capture();
        var shell = VmShell.Create(options.Vm.MemorySize, "copy");
        var e = Assert.Throws<ProcessRestoreException>(() =>
            LinuxProcess.Restore(state, options with { RootFingerprint = "0123456789abcdef" }, shell, new GuestMemory(shell.Memory), original.Vm.Layout, vcpu));
        Assert.Contains("runtime root changed", e.Message, StringComparison.Ordinal);
    }
}

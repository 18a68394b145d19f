using System.Text;
using Snapfn.Linux.Tests.Roots;
using Snapfn.Tests;
using Snapfn.Vmm;

namespace Snapfn.Linux.Tests.Programs;

/// <summary>Issue 24: a C function (guest/linux-tests/fdsnap.c) snapshotted at READY with pipes, eventfds, an epoll
/// instance, socket pairs and a MAP_SHARED mapping of a /tmp file open, restored into fresh VMs: each copy finds them as they were (the program checks
/// them itself and answers how many checks failed). Needs KVM; it skips without.</summary>
public sealed class OpenFileSnapshotTests
{
    [Theory]
    [InlineData("fdsnap-static")]
    [InlineData("fdsnap-dynamic")]
    public void Pipes_eventfds_epoll_and_socket_pairs_come_back_in_every_copy(string program)
    {
        var output = new StringBuilder();
        using var original = GuestProgram.StartFunction(program, [], output);
        Assert.Equal(GuestStop.Ready, original.Vm.RunToReady().Stop);
        var vcpu = original.Vm.CaptureState();
        var state = ProcessState.Deserialize(original.Capture().Serialize());
        Assert.Contains(state.Descriptions, d => d.Kind == ProcessState.DescriptionKind.Epoll);
        Assert.Equal(2, state.Pipes.Count);
        Assert.Contains(state.Mappings, m => m.Shared && m.Path == "/tmp/fdsnap-shared");
        var options = original.Options;
        for (var copy = 0; copy < 2; copy++)
        {
            var shell = VmShell.Create(options.Vm.MemorySize, "copy");
            var memory = new GuestMemory(shell.Memory);
            original.Vm.Memory.Span(0, options.Vm.MemorySize).CopyTo(memory.Span(0, options.Vm.MemorySize));
            using var restored = LinuxProcess.Restore(state, options, shell, memory, original.Vm.Layout, vcpu);
            Assert.True(Call(restored.Vm) == "fdsnap: 0 failed", $"copy {copy}:\n{output}");
            Assert.Equal("fdsnap: again", Call(restored.Vm));
        }
        Assert.True(Call(original.Vm) == "fdsnap: 0 failed", output.ToString());
    }

    /// <summary>A Python function whose init runs an asyncio loop with a thread pool: at READY its selector's epoll instance
    /// watches one end of its self-pipe socket pair, which has a byte queued, and a worker waits on a futex
    /// (docs/threads.md). Checked natively with the host's python3.11 over a socket pair as fd 3.</summary>
    private const string AsyncioServer = """
        import asyncio, concurrent.futures, os, struct
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        async def shout(word):
            return await loop.run_in_executor(pool, word.upper)
        assert loop.run_until_complete(shout(b'init')) == b'INIT'
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
            async def serve():
                words = await asyncio.gather(*(shout(w) for w in body.split(b' ')))
                await asyncio.sleep(0)
                return b'-'.join(words)
            out = b'%d:%s' % (count, loop.run_until_complete(serve()))
            os.write(3, struct.pack('<II', 0, len(out)) + out)
        """;

    [Fact]
    public void An_asyncio_loop_with_a_thread_pool_comes_back_in_every_copy()
    {
        GuestBuild.RequireKvm();
        var stderr = new StringBuilder();
        var options = new ProcessOptions
        {
            RootDirectory = PythonRoot.Directory,
            Program = "/usr/bin/python3",
            Arguments = ["/usr/bin/python3", "-c", AsyncioServer],
            VdsoPath = File.Exists(GuestProgram.VdsoPath) ? GuestProgram.VdsoPath : null,
            StandardError = bytes => stderr.Append(Encoding.UTF8.GetString(bytes)),
            Function = true,
            RootFingerprint = PythonRoot.Root.Manifest.PackagesSha256,
            Vm = new MicroVmOptions { MemorySize = 256UL << 20, Timeout = TimeSpan.FromSeconds(30), Name = "fn" },
        };
        using var original = LinuxProcess.Start(options);
        Assert.Equal(GuestStop.Ready, original.Vm.RunToReady().Stop);
        var vcpu = original.Vm.CaptureState();
        var state = ProcessState.Deserialize(original.Capture().Serialize());
        Assert.Contains(state.Descriptions, d => d.Kind == ProcessState.DescriptionKind.Epoll);
        Assert.Equal(2, state.Descriptions.Count(d => d.Kind == ProcessState.DescriptionKind.Socket));
        Assert.True(state.Threads.Count >= 2, "the pool's worker is in the snapshot");
        for (var copy = 0; copy < 2; copy++)
        {
            var shell = VmShell.Create(options.Vm.MemorySize, "copy");
            var memory = new GuestMemory(shell.Memory);
            original.Vm.Memory.Span(0, options.Vm.MemorySize).CopyTo(memory.Span(0, options.Vm.MemorySize));
            using var restored = LinuxProcess.Restore(state, options, shell, memory, original.Vm.Layout, vcpu);
            Assert.True(Call(restored.Vm, "a b c") == "1:A-B-C", stderr.ToString());
            Assert.Equal("2:SNAP-FN", Call(restored.Vm, "snap fn"));
        }
        Assert.Equal("1:WARM", Call(original.Vm, "warm"));
    }

    private static string Call(MicroVm vm, string input = "go") => Encoding.UTF8.GetString(vm.Output(vm.Invoke(Encoding.UTF8.GetBytes(input))));
}

using System.Text;
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

    private static string Call(MicroVm vm) => Encoding.UTF8.GetString(vm.Output(vm.Invoke("go"u8)));
}

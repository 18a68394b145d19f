using Snapfn.Vmm;

namespace Snapfn.Snapshots;

/// <summary>A C-runtime function: a static ELF entered at CPL 3, talking to the VMM through the mailbox.</summary>
public sealed class ElfGuest : IGuestProgram
{
    public ElfGuest(ElfImage elf)
    {
        ArgumentNullException.ThrowIfNull(elf);
        Elf = elf;
    }

    public ElfImage Elf { get; }

    public string Sha256 => Elf.Sha256;

    public MicroVm Boot(MicroVmOptions options) => MicroVm.Boot(Elf, options);

    public MicroVm Restore(SnapshotState state, VmShell shell, GuestMemory memory, MicroVmOptions options)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Process is not null)
        {
            shell?.Dispose();
            throw new SnapshotInvalidException($"the snapshot of '{state.Function}' is of a Linux program, not of a C function",
                SnapshotRemedy.TakeSnapshot(state.Function));
        }
        return MicroVm.Restore(shell!, memory, state.Layout, state.Vcpu, options);
    }

    public Linux.ProcessState? CaptureProcess(MicroVm vm) => null;
}

using Snapfn.Vmm;

namespace Snapfn.Snapshots;

/// <summary>
/// What runs in a function's VM and how a VM of it is made: booted fresh, or rebuilt from a snapshot around memory
/// a restore mode has mapped. A C-runtime ELF (<see cref="ElfGuest"/>) needs only its vCPU state; a Linux program
/// (<see cref="LinuxGuest"/>) also needs the guest kernel's state the system-call layer keeps.
/// </summary>
public interface IGuestProgram
{
    /// <summary>Identifies the code a snapshot was taken of; a snapshot of other code is refused.</summary>
    string Sha256 { get; }

    /// <summary>Boots a VM of the program; nothing runs yet.</summary>
    MicroVm Boot(MicroVmOptions options);

    /// <summary>Makes the VM of a snapshot; it owns <paramref name="shell"/> from here on, also when this throws.</summary>
    MicroVm Restore(SnapshotState state, VmShell shell, GuestMemory memory, MicroVmOptions options);

    /// <summary>The guest kernel's state of a VM stopped at READY, for its snapshot; null where there is none.</summary>
    Linux.ProcessState? CaptureProcess(MicroVm vm);
}

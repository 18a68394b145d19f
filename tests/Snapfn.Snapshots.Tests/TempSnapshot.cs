using System.Text;
using Snapfn.Snapshots.Backends;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Tests;

/// <summary>A snapshot of a built guest in a temporary folder, deleted afterwards.</summary>
public sealed class TempSnapshot : IDisposable
{
    public const ulong MemorySize = 512UL << 20;

    public TempSnapshot(string guest, ulong memorySize = MemorySize)
    {
        Root = Directory.CreateTempSubdirectory("snapfn-snap-").FullName;
        Folder = new SnapshotFolder(Path.Combine(Root, guest), guest);
        Elf = Guests.Elf(guest);
        Take(memorySize);
    }

    public string Root { get; }

    public SnapshotFolder Folder { get; }

    public ElfImage Elf { get; }

    public static MicroVmOptions Options => new() { MemorySize = MemorySize, Timeout = TimeSpan.FromSeconds(60) };

    public SnapshotInfo Take(ulong memorySize = MemorySize)
    {
        using var vm = MicroVm.Boot(Elf, Options with { MemorySize = memorySize });
        vm.RunToReady();
        return SnapshotWriter.Write(vm, new ElfGuest(Elf), Folder);
    }

    public Snapshot Open() => Snapshot.Open(Folder, new ElfGuest(Elf));

    /// <summary>Restores with <paramref name="backend"/> and runs one request.</summary>
    public string Invoke(IMemoryBackend backend, string input)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var snapshot = Open();
        backend.Prepare(snapshot);
        var (shell, memory) = Restore(backend, snapshot);
        using var owned = memory;
        var (_, output) = SnapshotRun.Run(snapshot, shell, memory, Encoding.UTF8.GetBytes(input), Options);
        return Encoding.UTF8.GetString(output);
    }

    /// <summary>A new shell with the snapshot's memory brought back by <paramref name="backend"/>.</summary>
    public static (VmShell Shell, RestoredMemory Memory) Restore(IMemoryBackend backend, Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(snapshot);
        var shell = VmShell.Create(snapshot.State.MemorySize);
        try
        {
            return (shell, backend.Restore(snapshot, shell.Memory));
        }
        catch
        {
            shell.Dispose();
            throw;
        }
    }

    /// <summary>Boots the guest fresh (no snapshot) and runs one request.</summary>
    public string BootAndInvoke(string input)
    {
        using var vm = MicroVm.Boot(Elf, Options);
        vm.RunToReady();
        var run = vm.Invoke(Encoding.UTF8.GetBytes(input));
        return Encoding.UTF8.GetString(vm.Output(run));
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

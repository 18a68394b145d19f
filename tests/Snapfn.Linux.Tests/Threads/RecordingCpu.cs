using Snapfn.Linux.Threads;

namespace Snapfn.Linux.Tests.Threads;

/// <summary>A CPU for thread switches without KVM: it holds an FS base and an "FPU state" (a few bytes the test can
/// recognise) and records what the scheduler loaded.</summary>
internal sealed class RecordingCpu : IThreadCpu
{
    public ulong FsBase { get; private set; }

    /// <summary>The FPU state now in the CPU; tests write a thread's mark here while it runs.</summary>
    public byte[] Fpu { get; set; } = [1];

    public List<byte[]> Loads { get; } = [];

    public int Saves { get; private set; }

    public void SetFsBase(ulong value) => FsBase = value;

    public byte[]? SaveFpu()
    {
        Saves++;
        return [.. Fpu];
    }

    public void LoadFpu(byte[] state)
    {
        Loads.Add(state);
        Fpu = [.. state];
    }
}

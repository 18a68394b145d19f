namespace Snapfn.Vmm;

/// <summary>How a micro-VM is built and watched.</summary>
public sealed record MicroVmOptions
{
    public const ulong DefaultMemorySize = 2UL << 30;

    public ulong MemorySize { get; init; } = DefaultMemorySize;

    /// <summary>How long init() or one request may run before the watchdog stops the guest (a time on KVM; the emulated
    /// CPU stretches it, see <see cref="VirtualCpu.WatchdogDelay"/>).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Receives the guest's log lines (the LOG hypercall); null drops them.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Receives the guest's stdout, stderr and LOG hypercalls as bytes, by stream (a function's log, kept per
    /// invocation); null drops them. <see cref="Log"/> still gets the lines too.</summary>
    public IGuestOutput? Output { get; init; }

    /// <summary>KVM stores the registers in the run page at every exit (KVM_CAP_SYNC_REGS): a system call then needs no
    /// register ioctl. Always on for Linux programs; off only to measure what it costs a C-runtime guest.</summary>
    public bool SyncRegisters { get; init; } = true;

    /// <summary>A name for the vCPU thread and for messages.</summary>
    public string Name { get; init; } = "guest";
}

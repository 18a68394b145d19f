using System.Runtime.InteropServices;
using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>KVM cannot be used on this machine; the message says why and what to do.</summary>
public sealed class KvmUnavailableException : Exception
{
    public KvmUnavailableException(string message) : base(message) { }

    public KvmUnavailableException() { }

    public KvmUnavailableException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>The open /dev/kvm and the facts about it that every VM needs; one per process.</summary>
public sealed unsafe class KvmSystem : IDisposable
{
    public const string DevicePath = "/dev/kvm";
    private static readonly Lazy<KvmSystem> _shared = new(() => Open(DevicePath));
    private readonly SafeFd _fd;
    private readonly byte[] _supportedCpuid;

    private KvmSystem(SafeFd fd, string path)
    {
        _fd = fd;
        var version = Libc.ioctl(fd, Kvm.KVM_GET_API_VERSION, 0);
        if (version < 0)
            throw new KvmUnavailableException($"{path} is not a KVM device ({Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())})");
        if (version != Kvm.KVM_API_VERSION)
            throw new KvmUnavailableException($"{path} speaks KVM API version {version}, not {Kvm.KVM_API_VERSION}");
        VcpuMmapSize = SyscallException.Check(Libc.ioctl(fd, Kvm.KVM_GET_VCPU_MMAP_SIZE, 0), "ioctl(KVM_GET_VCPU_MMAP_SIZE)");
        if (Libc.ioctl(fd, Kvm.KVM_CHECK_EXTENSION, Kvm.KVM_CAP_IMMEDIATE_EXIT) <= 0)
            throw new KvmUnavailableException("this KVM lacks KVM_CAP_IMMEDIATE_EXIT, which Snapfn needs to stop and snapshot guests");
        SupportsSyncRegs = (Libc.ioctl(fd, Kvm.KVM_CHECK_EXTENSION, Kvm.KVM_CAP_SYNC_REGS) & (int)Kvm.KVM_SYNC_X86_REGS) != 0;
        var xsave2 = Libc.ioctl(fd, Kvm.KVM_CHECK_EXTENSION, Kvm.KVM_CAP_XSAVE2);
        XsaveSize = Math.Max(4096, xsave2);
        _supportedCpuid = ReadSupportedCpuid(fd);
    }

    /// <summary>The process-wide instance; throws <see cref="KvmUnavailableException"/> when KVM cannot be used.</summary>
    public static KvmSystem Shared => _shared.Value;

    public static bool IsAvailable(out string reason)
    {
        try
        {
            _ = Shared;
            reason = "";
            return true;
        }
        catch (KvmUnavailableException e)
        {
            reason = e.Message;
            return false;
        }
    }

    public int VcpuMmapSize { get; }

    public int XsaveSize { get; }

    /// <summary>KVM_CAP_SYNC_REGS with the general registers: needed to serve a Linux program's system calls.</summary>
    public bool SupportsSyncRegs { get; }

    /// <summary>A kvm_cpuid2 buffer with what this KVM supports, ready for KVM_SET_CPUID2.</summary>
    public ReadOnlySpan<byte> SupportedCpuid => _supportedCpuid;

    public SafeFd CreateVm()
    {
        var fd = Libc.ioctl(_fd, Kvm.KVM_CREATE_VM, 0);
        if (fd < 0)
            SyscallException.Throw("ioctl(KVM_CREATE_VM)", Marshal.GetLastPInvokeError());
        return new SafeFd(fd);
    }

    /// <summary>Opens a KVM device; <paramref name="path"/> is /dev/kvm but for tests of the failure messages.</summary>
    internal static KvmSystem Open(string path)
    {
        if (!File.Exists(path))
            throw new KvmUnavailableException($"{path} does not exist: this machine has no KVM; run Snapfn on a Linux host with KVM enabled");
        var fd = Libc.open(path, Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new KvmUnavailableException(errno == Libc.EACCES
                ? $"permission denied on {path}: add your user to the 'kvm' group (or run as root), then try again"
                : $"cannot open {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        var handle = new SafeFd(fd);
        try
        {
            return new KvmSystem(handle, path);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static byte[] ReadSupportedCpuid(SafeFd fd)
    {
        for (var entries = 64; ; entries *= 2)
        {
            var buffer = new byte[sizeof(Kvm.kvm_cpuid2) + entries * sizeof(Kvm.kvm_cpuid_entry2)];
            fixed (byte* p = buffer)
            {
                ((Kvm.kvm_cpuid2*)p)->nent = (uint)entries;
                if (Libc.ioctl(fd, Kvm.KVM_GET_SUPPORTED_CPUID, (nint)p) >= 0)
                    return buffer;
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Libc.E2BIG || entries > 4096)
                    SyscallException.Throw("ioctl(KVM_GET_SUPPORTED_CPUID)", errno);
            }
        }
    }

    public void Dispose() => _fd.Dispose();
}

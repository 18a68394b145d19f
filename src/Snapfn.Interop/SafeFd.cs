using System.Runtime.InteropServices;

namespace Snapfn.Interop;

/// <summary>Owns a Linux file descriptor (a KVM VM or vCPU, a userfaultfd, an eventfd) and closes it once.</summary>
public sealed class SafeFd : SafeHandle
{
    public SafeFd() : base(-1, ownsHandle: true) { }

    public SafeFd(int fd) : base(-1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => (int)handle < 0;

    /// <summary>The raw descriptor, for ioctls on hot paths; valid while this handle is not disposed.</summary>
    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;
}

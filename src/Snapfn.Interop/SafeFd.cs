using System.Runtime.InteropServices;

namespace Snapfn.Interop;

/// <summary>
/// Owns a Linux file descriptor (a KVM VM or vCPU, a userfaultfd, an eventfd) and closes it once. It has no
/// accessor for the number on purpose: pass the handle itself to <see cref="Libc"/>, whose marshaller holds a
/// reference across each call: a Dispose on another thread then defers the close until the call returns, rather
/// than closing the number under it (and letting the kernel hand it out again).
/// </summary>
public sealed class SafeFd : SafeHandle
{
    public SafeFd() : base(-1, ownsHandle: true) { }

    public SafeFd(int fd) : base(-1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => (int)handle < 0;

    protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;
}

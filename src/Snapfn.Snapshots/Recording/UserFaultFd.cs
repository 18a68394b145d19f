using System.Runtime.InteropServices;
using Snapfn.Interop;

namespace Snapfn.Snapshots.Recording;

/// <summary>
/// A userfaultfd in missing mode over one address range: page faults there wait until a page is installed
/// with <see cref="Copy"/> or <see cref="Zero"/>. Faults by the kernel on the process's behalf (KVM reading
/// guest memory, a host write of the input) arrive here too.
/// </summary>
public sealed unsafe class UserFaultFd : IDisposable
{
    private readonly SafeFd _fd;

    public UserFaultFd(nint address, ulong length)
    {
        var fd = (int)Libc.syscall(Uffd.SYS_userfaultfd, Libc.O_CLOEXEC | Libc.O_NONBLOCK);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new SyscallException(errno == 1 /* EPERM */
                ? "userfaultfd is not permitted: run as root or set vm.unprivileged_userfaultfd=1"
                : $"userfaultfd failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        _fd = new SafeFd(fd);
        var api = new Uffd.uffdio_api { api = Uffd.UFFD_API };
        SyscallException.Check(Libc.ioctl(_fd, Uffd.UFFDIO_API, (nint)(&api)), "ioctl(UFFDIO_API)");
        var register = new Uffd.uffdio_register
        {
            range = new Uffd.uffdio_range { start = (ulong)address, len = length },
            mode = Uffd.UFFDIO_REGISTER_MODE_MISSING,
        };
        SyscallException.Check(Libc.ioctl(_fd, Uffd.UFFDIO_REGISTER, (nint)(&register)), "ioctl(UFFDIO_REGISTER)");
    }

    /// <summary>The descriptor, for the fault server to poll.</summary>
    internal SafeFd Handle => _fd;

    /// <summary>Reads one pending fault's address, or returns false when none is pending.</summary>
    public bool TryReadFault(out ulong address)
    {
        Uffd.uffd_msg message;
        var read = Libc.read(_fd, &message, (nuint)sizeof(Uffd.uffd_msg));
        if (read < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EAGAIN)
            {
                address = 0;
                return false;
            }
            SyscallException.Throw("read(userfaultfd)", errno);
        }
        if (read != sizeof(Uffd.uffd_msg) || message.@event != Uffd.UFFD_EVENT_PAGEFAULT)
            throw new SyscallException($"read(userfaultfd) returned an unexpected event {message.@event}");
        address = message.pagefault_address;
        return true;
    }

    /// <summary>Installs <paramref name="source"/> (whole pages) at <paramref name="destination"/> and wakes the
    /// faulting threads. Pages already there (EEXIST: faulted in meanwhile) are skipped, not overwritten.</summary>
    public void Copy(ulong destination, ReadOnlySpan<byte> source)
    {
        var (start, total) = (destination, (ulong)source.Length);
        var length = total;
        fixed (byte* pinned = source)
        {
            var from = pinned;
            while (length > 0)
            {
                var copy = new Uffd.uffdio_copy { dst = destination, src = (ulong)from, len = length };
                if (Libc.ioctl(_fd, Uffd.UFFDIO_COPY, (nint)(&copy)) >= 0)
                    return;
                var errno = Marshal.GetLastPInvokeError();
                if (errno is not (Libc.EEXIST or Libc.EAGAIN))
                    SyscallException.Throw($"ioctl(UFFDIO_COPY, 0x{destination:x}+{length})", errno);
                // copy.copy holds the bytes installed before the stop; on EEXIST the next page is the one that exists.
                var advance = (ulong)Math.Max(copy.copy, 0) + (errno == Libc.EEXIST ? 4096UL : 0);
                advance = Math.Min(advance, length);
                destination += advance;
                from += advance;
                length -= advance;
            }
        }
        Wake(start, total);
    }

    /// <summary>Installs zero pages at <paramref name="destination"/> and wakes the faulting threads.</summary>
    public void Zero(ulong destination, ulong length)
    {
        var zero = new Uffd.uffdio_zeropage { range = new Uffd.uffdio_range { start = destination, len = length } };
        if (Libc.ioctl(_fd, Uffd.UFFDIO_ZEROPAGE, (nint)(&zero)) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != Libc.EEXIST)
                SyscallException.Throw($"ioctl(UFFDIO_ZEROPAGE, 0x{destination:x}+{length})", errno);
            Wake(destination, length);
        }
    }

    private void Wake(ulong start, ulong length)
    {
        var range = new Uffd.uffdio_range { start = start, len = length };
        _ = Libc.ioctl(_fd, Uffd.UFFDIO_WAKE, (nint)(&range));
    }

    public void Dispose() => _fd.Dispose();
}

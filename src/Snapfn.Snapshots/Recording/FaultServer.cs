using System.Diagnostics;
using System.Runtime.InteropServices;
using Snapfn.Interop;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Recording;

/// <summary>
/// The thread that serves a guest's missing-page faults from the snapshot memory file (UFFDIO_COPY from a
/// read-only mapping of it, as vHive does), optionally logging the order of faulted pages. If serving fails, it
/// calls <see cref="OnFailure"/> (which stops the guest) instead of leaving the faulting vCPU waiting forever.
/// </summary>
public sealed unsafe class FaultServer : IDisposable
{
    private const ulong Page = GuestLayout.PageSize;
    private readonly UserFaultFd _uffd;
    private readonly nint _guestBase;
    private readonly ulong _guestSize;
    private readonly SafeFd _stop;
    private readonly Thread _thread;
    private readonly List<ulong>? _faultLog;
    private readonly MemoryMapping _memoryView;
    private readonly ulong _fileLength;
    private long _served;
    private long _nanoseconds;

    public FaultServer(UserFaultFd uffd, nint guestBase, ulong guestSize, string memoryFile, bool logFaults)
    {
        _uffd = uffd;
        _guestBase = guestBase;
        _guestSize = guestSize;
        // vHive's REAP serves faults from a PROT_READ, MAP_PRIVATE mapping of the memory file rather than by pread:
        // the copy faults the mapping's page in, and the kernel's read-around on the file comes with it.
        using (var file = Backends.SnapshotMapping.OpenReadOnly(memoryFile))
        {
            _fileLength = Math.Min((ulong)new FileInfo(memoryFile).Length, guestSize) & ~(Page - 1);
            _memoryView = MemoryMapping.OfFile(file, Math.Max(_fileLength, Page), Libc.PROT_READ, Libc.MAP_PRIVATE, $"memory file {memoryFile}");
        }
        var stop = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (stop < 0)
            SyscallException.Throw("eventfd", Marshal.GetLastPInvokeError());
        _stop = new SafeFd(stop);
        _faultLog = logFaults ? new List<ulong>() : null;
        _thread = new Thread(Serve) { IsBackground = true, Name = "uffd-server" };
        _thread.Start();
    }

    /// <summary>Called on the server thread if serving a fault fails; must stop the guest.</summary>
    public Action<Exception>? OnFailure { get; set; }

    /// <summary>The first error, if serving failed.</summary>
    public Exception? Failure { get; private set; }

    public long PagesServed => Interlocked.Read(ref _served);

    public double ServeMilliseconds => Interlocked.Read(ref _nanoseconds) / 1e6;

    /// <summary>Guest offsets of the faulted pages, in fault order (only when logging). Read after <see cref="Stop"/>.</summary>
    public IReadOnlyList<ulong> FaultLog => _faultLog ?? [];

    private void Serve()
    {
        var fds = stackalloc Libc.pollfd[2];
        bool uffdHeld = false, stopHeld = false;
        try
        {
            _uffd.Handle.DangerousAddRef(ref uffdHeld);
            _stop.DangerousAddRef(ref stopHeld);
            // pollfd takes raw numbers: the references above keep both open (the numbers ours) while this thread polls.
            fds[0] = new Libc.pollfd { fd = (int)_uffd.Handle.DangerousGetHandle(), events = Libc.POLLIN };
            fds[1] = new Libc.pollfd { fd = (int)_stop.DangerousGetHandle(), events = Libc.POLLIN };
            while (true)
            {
                if (Libc.poll(fds, 2, -1) < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Libc.EINTR)
                        continue;
                    SyscallException.Throw("poll(userfaultfd)", Marshal.GetLastPInvokeError());
                }
                if (fds[1].revents != 0)
                    return;
                while (_uffd.TryReadFault(out var address))
                    ServeOne(address & ~(Page - 1));
            }
        }
        catch (Exception e)
        {
            Failure = e;
            OnFailure?.Invoke(e);
        }
        finally
        {
            if (stopHeld)
                _stop.DangerousRelease();
            if (uffdHeld)
                _uffd.Handle.DangerousRelease();
        }
    }

    private void ServeOne(ulong address)
    {
        var start = Stopwatch.GetTimestamp();
        var offset = address - (ulong)_guestBase;
        if (offset >= _guestSize)
            throw new InvalidOperationException($"userfaultfd reported a fault at 0x{address:x}, outside guest memory");
        // Past the file's end (a memory file shorter than the guest) there is nothing to map: a zero page. A file
        // truncated since it was mapped makes the copy fail with EFAULT, which stops the guest.
        if (offset + Page > _fileLength)
            _uffd.Zero(address, Page);
        else
            _uffd.Copy(address, new ReadOnlySpan<byte>((byte*)_memoryView.Address + offset, (int)Page));
        _faultLog?.Add(offset);
        Interlocked.Increment(ref _served);
        Interlocked.Add(ref _nanoseconds, (long)Stopwatch.GetElapsedTime(start).TotalNanoseconds);
    }

    /// <summary>Stops the thread and waits for it.</summary>
    public void Stop()
    {
        if (!_thread.IsAlive)
            return;
        ulong one = 1;
        _ = Libc.write(_stop, &one, sizeof(ulong));
        _thread.Join();
    }

    public void Dispose()
    {
        Stop();
        _stop.Dispose();
        _memoryView.Dispose();
    }
}

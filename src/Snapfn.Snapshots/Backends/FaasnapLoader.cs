using System.Diagnostics;
using System.Runtime.InteropServices;
using Snapfn.Interop;
using Snapfn.Snapshots.Recording;

namespace Snapfn.Snapshots.Backends;

/// <summary>How the loader thread brings the loading-set file into the page cache.</summary>
public enum LoaderMethod
{
    /// <summary>pread into a scratch buffer, in file order.</summary>
    Pread,
    /// <summary>readahead(2) per chunk, in file order.</summary>
    Readahead,
    /// <summary>madvise(MADV_WILLNEED) on the guest's mapping of each region.</summary>
    WillNeed,
    /// <summary>madvise(MADV_POPULATE_READ) on the guest's mapping: also fills the host page tables.</summary>
    PopulateRead,
}

/// <summary>
/// FaaSnap's concurrent paging: a thread that walks the loading-set file in recorded order while the guest
/// already runs, so that the pages the guest will want are (mostly) in memory by the time it wants them.
/// </summary>
public sealed unsafe class FaasnapLoader : IDisposable
{
    /// <summary>2 MiB: one page-cache folio here, and a read size the disk serves near its peak (measured: 1 MiB
    /// reads 1.3 GB/s, 4 MiB 1.6 GB/s, 16 MiB slower again).</summary>
    private const ulong Chunk = 2UL << 20;
    private readonly RecordingFile _recording;
    private readonly SafeFd _file;
    private readonly nint _guestBase;
    private readonly LoaderMethod _method;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _bytesLoaded;
    private double _loadMs;

    public FaasnapLoader(RecordingFile recording, string path, nint guestBase, LoaderMethod method)
    {
        _recording = recording;
        _file = SnapshotMapping.OpenReadOnly(path);
        _guestBase = guestBase;
        _method = method;
        _thread = new Thread(Load) { IsBackground = true, Name = "faasnap-loader" };
        _thread.Start();
    }

    /// <summary>The method from $SNAPFN_FAASNAP_LOADER (pread, readahead, willneed, populate), else the default.</summary>
    public static LoaderMethod ConfiguredMethod()
    {
        var configured = Environment.GetEnvironmentVariable("SNAPFN_FAASNAP_LOADER");
        return configured?.ToUpperInvariant() switch
        {
            // Measured here (docs/results/loader.md): populate beat pread on 4 of 5 functions; readahead and
            // willneed only hint, the guest then faults ahead of the I/O and read-list took 2.5x longer.
            null or "" => LoaderMethod.PopulateRead,
            "PREAD" => LoaderMethod.Pread,
            "READAHEAD" => LoaderMethod.Readahead,
            "WILLNEED" => LoaderMethod.WillNeed,
            "POPULATE" => LoaderMethod.PopulateRead,
            _ => throw new ArgumentException($"SNAPFN_FAASNAP_LOADER='{configured}' is not one of pread, readahead, willneed, populate"),
        };
    }

    public long BytesLoaded => Interlocked.Read(ref _bytesLoaded);

    public double LoadMilliseconds => Volatile.Read(ref _loadMs);

    public Exception? Failure { get; private set; }

    private void Load()
    {
        var start = Stopwatch.GetTimestamp();
        var buffer = _method == LoaderMethod.Pread ? (byte*)NativeMemory.AlignedAlloc((nuint)Chunk, 4096) : null;
        try
        {
            foreach (var region in _recording.Regions)
            {
                for (ulong done = 0; done < region.Length && !_stop; done += Chunk)
                {
                    var length = Math.Min(Chunk, region.Length - done);
                    LoadChunk(region, done, length, buffer);
                    Interlocked.Add(ref _bytesLoaded, (long)length);
                }
                if (_stop)
                    break;
            }
        }
        catch (Exception e)
        {
            // A failed loader only costs speed: the guest's own faults still read the file.
            Failure = e;
        }
        finally
        {
            if (buffer != null)
                NativeMemory.AlignedFree(buffer);
            Volatile.Write(ref _loadMs, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    }

    private void LoadChunk(RecordedRegion region, ulong done, ulong length, byte* buffer)
    {
        var fileOffset = (long)(region.FileOffset + done);
        var guest = _guestBase + (nint)(region.GuestOffset + done);
        switch (_method)
        {
            case LoaderMethod.Pread:
                SyscallException.Check(Libc.pread(_file, buffer, (nuint)length, fileOffset), "pread(loading set)");
                break;
            case LoaderMethod.Readahead:
                SyscallException.Check(Libc.readahead(_file, fileOffset, (nuint)length), "readahead(loading set)");
                break;
            case LoaderMethod.WillNeed:
                SyscallException.Check(Libc.madvise(guest, (nuint)length, Libc.MADV_WILLNEED), "madvise(WILLNEED)");
                break;
            case LoaderMethod.PopulateRead:
                SyscallException.Check(Libc.madvise(guest, (nuint)length, Libc.MADV_POPULATE_READ), "madvise(POPULATE_READ)");
                break;
        }
    }

    /// <summary>Stops the loader (if it is still going) and waits for it.</summary>
    public void Stop()
    {
        _stop = true;
        _thread.Join();
    }

    public void Dispose()
    {
        Stop();
        _file.Dispose();
    }
}

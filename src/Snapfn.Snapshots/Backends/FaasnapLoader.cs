using System.Diagnostics;
using Snapfn.Interop;
using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Backends;

/// <summary>One chunk of the loading set as the loader thread sees it: where it is in the loader's own read-only
/// view of the loading-set file, and where the guest maps it.</summary>
public readonly record struct LoaderChunk(nint FileView, nint Guest, ulong Length);

/// <summary>How FaaSnap's loader thread brings one chunk of the loading set in.</summary>
public interface IChunkLoader
{
    /// <summary>True when it fills only the page cache (not the guest's own mapping), so that concurrent restores
    /// of one snapshot can share one loader, as FaaSnap's daemon does.</summary>
    bool PageCacheOnly { get; }

    /// <summary>Runs on the loader thread; throws if the chunk cannot be loaded.</summary>
    void Load(in LoaderChunk chunk);
}

/// <summary>FaaSnap's own loader: read one byte of every page of the loading-set file, in file order, through a
/// mapping of its own. The page cache fills (with the kernel's read-ahead around each touch); the guest's
/// mapping is left alone, so its first touch of a page still faults, but finds the page cached.</summary>
public sealed unsafe class TouchChunkLoader : IChunkLoader
{
    public bool PageCacheOnly => true;

    public void Load(in LoaderChunk chunk)
    {
        var page = (byte*)chunk.FileView;
        var sum = 0;
        for (ulong offset = 0; offset < chunk.Length; offset += GuestLayout.PageSize)
            sum += Volatile.Read(ref page[offset]);
        // The sum only keeps the reads from being optimised away.
        GC.KeepAlive(sum);
    }
}

/// <summary>Ours, beyond the paper: MADV_POPULATE_READ on the guest's own mapping of the chunk. It waits for the
/// I/O as a touch does, and also fills the guest's host page tables (2 MiB entries where the loading-set file
/// keeps the congruence), so that the guest's first touch does not fault at all.</summary>
public sealed class PopulateChunkLoader : IChunkLoader
{
    public bool PageCacheOnly => false;

    public void Load(in LoaderChunk chunk) =>
        SyscallException.Check(Libc.madvise(chunk.Guest, (nuint)chunk.Length, Libc.MADV_POPULATE_READ), "madvise(MADV_POPULATE_READ)");
}

/// <summary>
/// FaaSnap's concurrent paging: a thread that walks the loading-set file in recorded order while the guest
/// already runs, so that the pages the guest will want are (mostly) in memory by the time it wants them.
/// </summary>
public sealed class FaasnapLoader : IDisposable
{
    /// <summary>2 MiB: one page-cache folio here, and a read size the disk serves near its peak (measured: 1 MiB
    /// reads 1.3 GB/s, 4 MiB 1.6 GB/s, 16 MiB slower again).</summary>
    private const ulong Chunk = 2UL << 20;
    private readonly RecordingFile _recording;
    private readonly MemoryMapping _fileView;
    private readonly nint _guestBase;
    private readonly IChunkLoader _method;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _bytesLoaded;
    private double _loadMs;

    /// <summary>Starts loading <paramref name="path"/> (the loading-set file of <paramref name="recording"/>) with
    /// <paramref name="method"/>; <paramref name="guestBase"/> is where the guest's memory is mapped.</summary>
    public FaasnapLoader(RecordingFile recording, string path, nint guestBase, IChunkLoader method)
        : this(recording, null, path, guestBase, method)
    {
    }

    /// <summary>Starts loading the loading-set file open as <paramref name="file"/> (named <paramref name="path"/>;
    /// opened from the path when null): the file whose index <paramref name="recording"/> was read from.</summary>
    public FaasnapLoader(RecordingFile recording, System.Runtime.InteropServices.SafeHandle? file, string path, nint guestBase, IChunkLoader method)
    {
        ArgumentNullException.ThrowIfNull(recording);
        ArgumentNullException.ThrowIfNull(method);
        _recording = recording;
        using (var opened = file is null ? SnapshotMapping.OpenReadOnly(path) : null)
            _fileView = MemoryMapping.OfFile(file ?? opened!, Math.Max(recording.FileLength, GuestLayout.PageSize), Libc.PROT_READ, Libc.MAP_SHARED, $"loading set {path}");
        _guestBase = guestBase;
        _method = method;
        _thread = new Thread(Load) { IsBackground = true, Name = "faasnap-loader" };
        _thread.Start();
    }

    public long BytesLoaded => Interlocked.Read(ref _bytesLoaded);

    public double LoadMilliseconds => Volatile.Read(ref _loadMs);

    /// <summary>Why the loader gave up, if it did; the guest's own faults then read what it did not load.</summary>
    public Exception? Failure { get; private set; }

    private void Load()
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            foreach (var region in _recording.Regions)
            {
                for (ulong done = 0; done < region.Length && !_stop; done += Chunk)
                {
                    var length = Math.Min(Chunk, region.Length - done);
                    _method.Load(new LoaderChunk(_fileView.Address + (nint)(region.FileOffset + done), _guestBase + (nint)(region.GuestOffset + done), length));
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
            Volatile.Write(ref _loadMs, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
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
        _fileView.Dispose();
    }
}

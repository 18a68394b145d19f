using System.Diagnostics;
using System.Runtime.InteropServices;
using Snapfn.Interop;
using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Backends;

/// <summary>
/// REAP (ASPLOS'21), as vHive runs it: before the vCPU starts, read the whole recorded working-set file with one
/// O_DIRECT read (shared by concurrent restores of the snapshot) and install it with UFFDIO_COPY; every other
/// page is served on fault by UFFDIO_COPY from a read-only mapping of the memory file.
/// </summary>
public sealed class ReapBackend : IMemoryBackend
{
    public const string FileName = "reap.ws";

    public string Mode => "reap";

    public bool RunsCold => true;

    public IModeRecorder? Recorder { get; } = new ReapRecording();

    public IReadOnlyList<ModeCounter> Counters { get; } =
    [
        new("uffd_faults", "pages outside the working set, served on fault by UFFDIO_COPY from a mapping of the memory file", 1, "uffd", OutsideRecording: true),
        new("uffd_serve_ms", "time the fault-serving thread spent serving them"),
        new("working_set_pages", "pages of the recorded working set, installed before the vCPU starts", 1, "reap_prefetch"),
        new("bytes_prefetched", "bytes of the working-set file read (one O_DIRECT read)"),
        new("prefetch_ms", "time to read (or wait for a concurrent restore's read of) and install the working set"),
        new("read_ms", "time of the one O_DIRECT read of the working set, when this restore made it"),
        new("working_set_shared", "1 when a concurrent restore of the snapshot had read the working set (vHive's wsSingleRead)"),
    ];

    /// <summary>REAP's record phase: one invocation on userfaultfd-served memory, its faults written down.</summary>
    private sealed class ReapRecording : IModeRecorder
    {
        public string FileName => ReapBackend.FileName;

        public RecordingResult Record(Snapshot snapshot, byte[] input, MicroVmOptions options, FaasnapRecordOptions recordOptions, string? path = null) =>
            ReapRecorder.Record(snapshot, input, options, path);

        public void Check(Snapshot snapshot, byte[]? input = null, FaasnapRecordOptions? recordOptions = null)
        {
            ArgumentNullException.ThrowIfNull(snapshot);
            RecordingFile.Check(snapshot.Folder.File(FileName), "reap", snapshot,
                input is null ? null : RecordingProvenance.Of(input, ReapRecorder.Options));
        }
    }

    public IReadOnlyList<string> Files(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return [snapshot.MemoryPath, snapshot.Folder.File(FileName)];
    }

    public void Prepare(Snapshot snapshot)
    {
    }

    public RestoredMemory Restore(Snapshot snapshot, MemoryMapping target)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var path = snapshot.Folder.File(FileName);
        // The index checked here and the pages read later come from one file, even if a new recording replaces it meanwhile.
        var pinned = RecordingFile.Pin(path, Mode, snapshot);
        var handedOver = false;
        try
        {
            var lease = _workingSets.Join(path, pinned.Version, () =>
            {
                handedOver = true;
                return new WorkingSetRead(path, pinned);
            });
            return ReapMemory.Create(snapshot, target, pinned.Recording, lease);
        }
        finally
        {
            if (!handedOver)
                pinned.Dispose();
        }
    }

    /// <summary>vHive's wsSingleRead: concurrent restores of one snapshot read its working-set file once, into one
    /// buffer, and each installs its copy from there; the first to need it reads it, the others wait for that read.</summary>
    private readonly RestoreShare<WorkingSetRead> _workingSets = new();

    /// <summary>The one read of a working set, made by whichever restore needs the bytes first.</summary>
    private sealed class WorkingSetRead(string path, PinnedRecording pinned) : IDisposable
    {
        private readonly Lazy<WorkingSetBuffer> _buffer = new(() => WorkingSetBuffer.Read(path, pinned));

        public WorkingSetBuffer Buffer => _buffer.Value;

        public void Dispose()
        {
            if (_buffer.IsValueCreated)
                _buffer.Value.Dispose();
            pinned.Dispose();
        }
    }

    /// <summary>The working-set file's page data, read with O_DIRECT (one read: the page cache plays no part).</summary>
    private sealed unsafe class WorkingSetBuffer : IDisposable
    {
        private byte* _data;

        private WorkingSetBuffer(byte* data, ulong length, double readMs)
        {
            _data = data;
            Length = length;
            ReadMs = readMs;
        }

        public ulong Length { get; }

        public double ReadMs { get; }

        /// <summary>The bytes at <paramref name="fileOffset"/> of the file (which must be in the page data).</summary>
        public byte* At(ulong fileOffset, RecordingFile recording) => _data + (fileOffset - recording.DataOffset);

        public static WorkingSetBuffer Read(string path, PinnedRecording pinned)
        {
            var start = Stopwatch.GetTimestamp();
            var recording = pinned.Recording;
            var length = recording.DataBytes;
            var data = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(length, 4096), 4096);
            try
            {
                // Reopened through the pinned descriptor: the same inode as the index, now with O_DIRECT.
                var added = false;
                int fd;
                try
                {
                    pinned.File.DangerousAddRef(ref added);
                    fd = Libc.open($"/proc/self/fd/{pinned.File.DangerousGetHandle()}", Libc.O_RDONLY | Libc.O_DIRECT | Libc.O_CLOEXEC, 0);
                }
                finally
                {
                    if (added)
                        pinned.File.DangerousRelease();
                }
                if (fd < 0)
                    SyscallException.Throw($"open({path}, O_DIRECT)", Marshal.GetLastPInvokeError());
                using var file = new SafeFd(fd);
                // One read of the whole page data; the loop only continues a short read (Linux returns at most
                // 2 GiB - 4 KiB per call).
                for (ulong done = 0; done < length;)
                {
                    var read = Libc.pread(file, new Span<byte>(data + done, (int)Math.Min(length - done, int.MaxValue & ~4095UL)),
                        (long)(recording.DataOffset + done));
                    if (read <= 0)
                        throw new IOException($"reading the working set {path} at {done} returned {read}: the file is truncated or unreadable");
                    done += (ulong)read;
                }
            }
            catch
            {
                NativeMemory.AlignedFree(data);
                throw;
            }
            return new WorkingSetBuffer(data, length, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        public void Dispose()
        {
            var data = _data;
            _data = null;
            if (data != null)
                NativeMemory.AlignedFree(data);
        }
    }

    private sealed unsafe class ReapMemory : UffdMemory
    {
        private readonly RecordingFile _recording;
        private readonly RestoreLease<WorkingSetRead> _workingSet;
        private double _prefetchMs;
        private double _readMs;

        private ReapMemory(GuestMemory memory, UserFaultFd uffd, FaultServer server, RecordingFile recording, RestoreLease<WorkingSetRead> workingSet)
            : base(memory, uffd, server)
        {
            _recording = recording;
            _workingSet = workingSet;
        }

        public static ReapMemory Create(Snapshot snapshot, MemoryMapping target, RecordingFile recording, RestoreLease<WorkingSetRead> workingSet)
        {
            try
            {
                var (memory, uffd, server) = Create(snapshot, target, logFaults: false);
                return new ReapMemory(memory, uffd, server, recording, workingSet);
            }
            catch
            {
                workingSet.Release();
                throw;
            }
        }

        /// <summary>The blocking prefetch: the whole working set (read once, one O_DIRECT read), installed before
        /// the guest runs.</summary>
        public override void BeforeFirstRun()
        {
            var start = Stopwatch.GetTimestamp();
            if (_recording.DataBytes == 0)
                return;
            var buffer = _workingSet.Value.Buffer;
            _readMs = _workingSet.Joined ? 0 : buffer.ReadMs;
            foreach (var region in _recording.Regions)
            {
                var source = buffer.At(region.FileOffset, _recording);
                // In spans of at most 1 GiB: a span's length is an int, and a region of a large guest can be longer.
                for (ulong done = 0; done < region.Length; done += 1UL << 30)
                {
                    var part = (int)Math.Min(region.Length - done, 1UL << 30);
                    Uffd.Copy((ulong)Memory.HostAddress + region.GuestOffset + done, new ReadOnlySpan<byte>(source + done, part));
                }
            }
            // Installed: this restore needs the buffer no longer.
            _workingSet.Release();
            _prefetchMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        public override IReadOnlyDictionary<string, double> Counters => new Dictionary<string, double>(base.Counters)
        {
            ["working_set_pages"] = _recording.Pages,
            ["bytes_prefetched"] = _recording.DataBytes,
            ["prefetch_ms"] = _prefetchMs,
            ["read_ms"] = _readMs,
            ["working_set_shared"] = _workingSet.Joined ? 1 : 0,
        };

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _workingSet.Release();
            base.Dispose(disposing);
        }
    }
}

using System.Diagnostics;
using System.Runtime.InteropServices;
using Snapfn.Interop;
using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Backends;

/// <summary>
/// REAP (ASPLOS'21): before the vCPU starts, read the whole recorded working-set file with O_DIRECT and install
/// it with UFFDIO_COPY; every other page is served on fault from the memory file.
/// </summary>
public sealed class ReapBackend : IMemoryBackend
{
    public const string FileName = "reap.ws";

    public string Mode => "reap";

    public bool RunsCold => true;

    public IModeRecorder? Recorder { get; } = new ReapRecording();

    public IReadOnlyList<ModeCounter> Counters { get; } =
    [
        new("uffd_faults", "pages outside the working set, served on fault from the memory file", 1, "uffd"),
        new("uffd_zero_faults", "of those, zero pages (UFFDIO_ZEROPAGE)", 1, "uffd_zero"),
        new("uffd_serve_ms", "time the fault-serving thread spent serving them"),
        new("working_set_pages", "pages of the recorded working set, installed before the vCPU starts", 1, "reap_prefetch"),
        new("bytes_prefetched", "bytes of the working-set file read (one O_DIRECT read)"),
        new("prefetch_ms", "time to read and install the working set"),
    ];

    /// <summary>REAP's record phase: one invocation on userfaultfd-served memory, its faults written down.</summary>
    private sealed class ReapRecording : IModeRecorder
    {
        public string FileName => ReapBackend.FileName;

        public RecordingResult Record(Snapshot snapshot, byte[] input, MicroVmOptions options, FaasnapRecordOptions recordOptions) =>
            ReapRecorder.Record(snapshot, input, options);

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
        var recording = RecordingFile.Open(path, Mode, snapshot);
        return ReapMemory.Create(snapshot, target, recording, path);
    }

    private sealed unsafe class ReapMemory : UffdMemory
    {
        private readonly RecordingFile _recording;
        private readonly string _path;
        private double _prefetchMs;

        private ReapMemory(GuestMemory memory, UserFaultFd uffd, FaultServer server, RecordingFile recording, string path)
            : base(memory, uffd, server)
        {
            _recording = recording;
            _path = path;
        }

        public static ReapMemory Create(Snapshot snapshot, MemoryMapping target, RecordingFile recording, string path)
        {
            var (memory, uffd, server) = Create(snapshot, target, logFaults: false);
            return new ReapMemory(memory, uffd, server, recording, path);
        }

        /// <summary>The blocking prefetch: the whole working set, one sequential O_DIRECT read, then installed.</summary>
        public override void BeforeFirstRun()
        {
            var start = Stopwatch.GetTimestamp();
            var length = _recording.DataBytes;
            if (length == 0)
                return;
            var buffer = (byte*)NativeMemory.AlignedAlloc((nuint)length, 4096);
            try
            {
                var fd = Libc.open(_path, Libc.O_RDONLY | Libc.O_DIRECT | Libc.O_CLOEXEC, 0);
                if (fd < 0)
                    SyscallException.Throw($"open({_path}, O_DIRECT)", Marshal.GetLastPInvokeError());
                using (var file = new SafeFd(fd))
                {
                    for (ulong done = 0; done < length;)
                    {
                        var chunk = Math.Min(length - done, 64UL << 20);
                        var read = Libc.pread(file, buffer + done, (nuint)chunk, (long)(_recording.DataOffset + done));
                        if (read <= 0)
                            throw new IOException($"reading the working set {_path} at {done} returned {read}: record it again");
                        done += (ulong)read;
                    }
                }
                foreach (var region in _recording.Regions)
                {
                    var source = buffer + (region.FileOffset - _recording.DataOffset);
                    // In spans of at most 1 GiB: a span's length is an int, and a region of a large guest can be longer.
                    for (ulong done = 0; done < region.Length; done += 1UL << 30)
                    {
                        var part = (int)Math.Min(region.Length - done, 1UL << 30);
                        Uffd.Copy((ulong)Memory.HostAddress + region.GuestOffset + done, new ReadOnlySpan<byte>(source + done, part));
                    }
                }
            }
            finally
            {
                NativeMemory.AlignedFree(buffer);
            }
            _prefetchMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        public override IReadOnlyDictionary<string, double> Counters => new Dictionary<string, double>(base.Counters)
        {
            ["working_set_pages"] = _recording.Pages,
            ["bytes_prefetched"] = _recording.DataBytes,
            ["prefetch_ms"] = _prefetchMs,
        };
    }
}

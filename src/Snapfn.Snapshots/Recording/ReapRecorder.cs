using System.Diagnostics;
using Snapfn.Snapshots.Backends;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Recording;

/// <summary>What a recording run produced.</summary>
public sealed record RecordingResult(string Path, string Mode, byte[] Output, ulong Pages, int Regions, ulong FileBytes, double RunMs);

/// <summary>
/// REAP's record phase: run one invocation on empty memory whose every first touch faults to userfaultfd,
/// serve each fault from the memory file and log it; then write the faulted pages, sorted by offset (as vHive
/// does), with each run's first-fault rank in the index.
/// </summary>
public static class ReapRecorder
{
    /// <summary>Records into <paramref name="path"/> when given, else into the snapshot folder's working-set file.</summary>
    public static RecordingResult Record(Snapshot snapshot, byte[] input, MicroVmOptions options, string? path = null)
    {
        var (output, log, runMs) = Trace(snapshot, input, options);
        var firstFault = new Dictionary<ulong, int>();
        for (var i = 0; i < log.Count; i++)
            firstFault.TryAdd(log[i], i);
        var pages = firstFault.Keys.Order().ToList();

        var runs = new List<(ulong Offset, ulong Length, uint Order)>();
        for (var i = 0; i < pages.Count;)
        {
            var j = i;
            var rank = firstFault[pages[i]];
            while (j + 1 < pages.Count && pages[j + 1] == pages[j] + GuestLayout.PageSize)
                rank = Math.Min(rank, firstFault[pages[++j]]);
            runs.Add((pages[i], (ulong)(j - i + 1) * GuestLayout.PageSize, (uint)rank));
            i = j + 1;
        }
        path ??= snapshot.Folder.File(ReapBackend.FileName);
        // REAP installs pages by copying them into anonymous memory: its file is read, never mapped, so it is packed.
        var file = RecordingWriter.Write(path, "reap", snapshot, runs, [], alignLargePages: false, RecordingProvenance.Of(input, Options));
        return new RecordingResult(path, "reap", output, file.Pages, file.Regions.Count, file.FileLength, runMs);
    }

    /// <summary>REAP's recorder has no options; the text names the format so that it can change.</summary>
    public const string Options = "reap";

    /// <summary>The pages one request with <paramref name="input"/> touches (its working set), counted by
    /// userfaultfd as the recording does, without writing a recording.</summary>
    public static ulong CountWorkingSet(Snapshot snapshot, byte[] input, MicroVmOptions options) =>
        (ulong)Trace(snapshot, input, options).Log.Distinct().Count();

    /// <summary>Runs one request on empty memory whose every first touch faults to userfaultfd, logging the faults.</summary>
    private static (byte[] Output, IReadOnlyList<ulong> Log, double RunMs) Trace(Snapshot snapshot, byte[] input, MicroVmOptions options)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(options);
        var shell = VmShell.Create(snapshot.State.MemorySize, snapshot.Folder.Function);
        RecordingMemory memory;
        try
        {
            memory = RecordingMemory.Create(snapshot, shell.Memory);
        }
        catch
        {
            shell.Dispose();
            throw;
        }
        using var owned = memory;
        var start = Stopwatch.GetTimestamp();
        var (_, output) = SnapshotRun.Run(snapshot, shell, memory, input, options with { Name = snapshot.Folder.Function });
        return (output, memory.FaultLog, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    private sealed class RecordingMemory : UffdMemory
    {
        private RecordingMemory(GuestMemory memory, UserFaultFd uffd, FaultServer server) : base(memory, uffd, server)
        {
        }

        public IReadOnlyList<ulong> FaultLog => Server.FaultLog;

        public static RecordingMemory Create(Snapshot snapshot, MemoryMapping target)
        {
            var (memory, uffd, server) = Create(snapshot, target, logFaults: true);
            return new RecordingMemory(memory, uffd, server);
        }
    }
}

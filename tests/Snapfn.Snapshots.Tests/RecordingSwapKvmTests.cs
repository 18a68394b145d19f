using System.Text;
using Snapfn.Snapshots.Backends;
using Snapfn.Snapshots.Recording;

namespace Snapfn.Snapshots.Tests;

/// <summary>
/// Issue 21 on real guests (KVM): a recording made again and swapped in while a restore of the old one is under way
/// leaves that restore on the old file — REAP reads its working set after the swap, FaaSnap's loader runs beside the
/// guest — and both answer as a fresh boot does; the next restore uses the new recording.
/// </summary>
public sealed class RecordingSwapKvmTests
{
    public static TheoryData<string> Modes => new() { "reap", "faasnap" };

    [Theory]
    [MemberData(nameof(Modes))]
    public void A_restore_that_opened_the_old_recording_finishes_on_it_after_a_new_one_is_swapped_in(string mode)
    {
        Guests.RequireKvm();
        using var snap = new TempSnapshot("touch");
        var snapshot = snap.Open();
        var backend = (IMemoryBackend)RestoreModes.Get(mode);
        var recorder = backend.Recorder!;
        var small = recorder.Record(snapshot, Encoding.UTF8.GetBytes("""{"seed":1}"""), TempSnapshot.Options, new FaasnapRecordOptions());
        var expected = snap.BootAndInvoke("""{"seed":3}""");

        PageCache.Drop(snapshot.MemoryPath);
        var (shell, memory) = TempSnapshot.Restore(backend, snapshot);
        using (memory)
        {
            // Made again with another input and renamed over the live file before the old restore's guest has run
            // (REAP has not even read its working set yet).
            var live = snapshot.Folder.File(recorder.FileName);
            var staged = RecordingSwap.StagingPath(live);
            var again = recorder.Record(snapshot, Encoding.UTF8.GetBytes("""{"seed":2}"""), TempSnapshot.Options, new FaasnapRecordOptions(), staged);
            Assert.Equal(staged, again.Path);
            RecordingSwap.Swap(staged, live);

            var (_, output) = SnapshotRun.Run(snapshot, shell, memory, Encoding.UTF8.GetBytes("""{"seed":3}"""), TempSnapshot.Options,
                cancel: TestContext.Current.CancellationToken);
            Assert.Equal(expected, Encoding.UTF8.GetString(output));
            var recordedPages = mode == "reap" ? "working_set_pages" : "loading_set_pages";
            Assert.Equal(small.Pages, (ulong)memory.Counters[recordedPages]);
            Assert.Contains(memory.Counters.Keys, k => backend.Counters.Any(c => c.OutsideRecording && c.Name == k));
        }
        Assert.Equal(expected, snap.Invoke(backend, """{"seed":3}"""));
    }
}

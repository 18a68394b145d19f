using Snapfn.Platform.AutoRecording;
using Snapfn.Snapshots.Backends;
using Snapfn.Snapshots.Recording;

namespace Snapfn.Platform;

// Issue 21, automatic recordings: the platform side of the AutoRecorder. Kept in its own file so that it can move
// with the serve side of FunctionService; the hooks in FunctionService.cs are marked "auto-record hook".
public sealed partial class FunctionService
{
    /// <summary>The recorder that records functions by itself; null when <see cref="FunctionServiceOptions.AutoRecord"/> is off.</summary>
    public AutoRecorder? AutoRecords { get; private set; }

    /// <summary>Where the function's automatic recording stands (null when automatic recording is off).</summary>
    public AutoRecordStatus? AutoRecordStatus(RegisteredFunction function) => AutoRecords?.Status(function);

    private void StartAutoRecorder()
    {
        if (_options.AutoRecord is { } options)
            AutoRecords = new AutoRecorder(options, new AutoRecordTarget(this));
    }

    /// <summary>Shows a successful request to the recorder; whatever happens there, the request is not affected.</summary>
    private void ObserveForRecording(string name, string mode, byte[] input, InvocationResult result)
    {
        try
        {
            AutoRecords?.Observe(name, mode, input, result);
        }
        catch (Exception e)
        {
            _options.AutoRecord?.Log?.Invoke(name, $"the recorder failed to look at a request: {e.Message}");
        }
    }

    /// <summary>The platform's side of automatic recording: the registry, a recording run (a VM) into a staging file,
    /// and the swap under the function's change lock.</summary>
    private sealed class AutoRecordTarget(FunctionService service) : IAutoRecordTarget
    {
        public AutoRecordFacts? Facts(string function)
        {
            if (service._registry.Find(function) is not { Snapshot: { } snapshot } registered)
                return null;
            var pages = registered.Recordings.Where(r => r.SnapshotId == snapshot.SnapshotId)
                .ToDictionary(r => r.Mode, r => r.Pages, StringComparer.Ordinal);
            byte[]? sample = null;
            string? error = null;
            if (Directory.Exists(registered.Info.CodePath))
            {
                try
                {
                    sample = SampleInput.Read(registered.Info.CodePath, service._options.AutoRecord!.MaxInputBytes);
                }
                catch (Exception e) when (e is InvalidRequestException or IOException or UnauthorizedAccessException)
                {
                    error = e.Message;
                }
            }
            return new AutoRecordFacts(snapshot.SnapshotId, pages, sample, error);
        }

        public StagedRecording Stage(AutoRecordJob job, string mode)
        {
            var input = job.Input ?? throw new InvalidOperationException("a finished job was run again");
            // The version's code stays while it is recorded, whatever redeploy happens meanwhile (the swap is refused then).
            var (function, version) = service.Resolve(job.Function);
            using (version)
            {
                var snapshot = service._snapshots.Open(function.Info);
                if (snapshot.State.Id != job.SnapshotId)
                    throw new InvalidOperationException("the function has another snapshot now");
                var recorder = RestoreModes.Get(mode).Recorder ?? throw new ArgumentException($"'{mode}' does not record", nameof(mode));
                var live = snapshot.Folder.File(recorder.FileName);
                RecordingSwap.DeleteStale(live);
                var staged = RecordingSwap.StagingPath(live);
                try
                {
                    RecordingResult result;
                    using (service.Budget.Reserve(snapshot.State.MemorySize, $"the VM that records '{job.Function}' in the background"))
                        result = recorder.Record(snapshot, input, service.VmOptions(job.Function, service._options.AutoRecord!.RecordTimeout), new FaasnapRecordOptions(), staged);
                    return new StagedRecording(mode, staged, live, result, FunctionRegistry.Sha256Of(staged));
                }
                catch
                {
                    File.Delete(staged);
                    throw;
                }
            }
        }

        public bool Commit(AutoRecordJob job, StagedRecording staged, Func<bool> stillCurrent)
        {
            lock (service.ChangeLock(job.Function))
            {
                if (!stillCurrent())
                {
                    RecordingSwap.Discard(staged.StagedPath);
                    return false;
                }
                RecordingSwap.Swap(staged.StagedPath, staged.LivePath);
                service._registry.PutRecording(job.Function, new RecordingRecord
                {
                    Mode = staged.Mode,
                    SnapshotId = job.SnapshotId,
                    Path = staged.LivePath,
                    Sha256 = staged.Sha256,
                    Pages = (long)staged.Result.Pages,
                    Regions = staged.Result.Regions,
                    FileBytes = (long)staged.Result.FileBytes,
                    RecordedAt = DateTimeOffset.UtcNow,
                });
                return true;
            }
        }
    }
}

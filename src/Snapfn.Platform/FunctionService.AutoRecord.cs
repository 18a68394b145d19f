using Snapfn.Platform.AutoRecording;
using Snapfn.Snapshots.Backends;
using Snapfn.Snapshots.Recording;

namespace Snapfn.Platform;

// Issue 21, automatic recordings: the platform side of the AutoRecorder. It watches the serve side through
// FunctionServer.Served and records on the deploy side (registry, snapshots, change locks); the hooks in
// FunctionService.cs are the calls on AutoRecords.
public sealed partial class FunctionService
{
    /// <summary>The recorder that records functions by itself; null when <see cref="FunctionServiceOptions.AutoRecord"/> is off.</summary>
    public AutoRecorder? AutoRecords { get; private set; }

    /// <summary>Where the function's automatic recording stands (null when automatic recording is off).</summary>
    public AutoRecordStatus? AutoRecordStatus(RegisteredFunction function) => AutoRecords?.Status(function);

    private void StartAutoRecorder()
    {
        if (_options.AutoRecord is not { } options)
            return;
        AutoRecords = new AutoRecorder(options, new AutoRecordTarget(this));
        Server.Served += ObserveForRecording;
    }

    /// <summary>Shows a successful request to the recorder (the real request's input, and the mode that ran); whatever
    /// happens there, the request is not affected.</summary>
    private void ObserveForRecording(InvocationPlan plan, InvocationResult result)
    {
        var name = plan.Function.Info.Name;
        try
        {
            AutoRecords?.Observe(name, plan.Mode, plan.Input, result);
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
            // A Python function's folder holds its snapfn.json; a C function (an ELF) declares no sample.
            if (File.Exists(Path.Combine(registered.Info.CodePath, FunctionManifest.FileName)))
            {
                try
                {
                    sample = ScriptFunction.Manifest(registered.Info.CodePath).ReadSampleInput(registered.Info.CodePath);
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
            // The version's code stays while it is recorded, whatever redeploy happens meanwhile (the swap is refused
            // then), and so does the snapshot's memory file, whatever retake happens meanwhile.
            var function = service._registry.Find(job.Function) ?? throw new InvalidOperationException("the function was deleted");
            using var version = service._elves.Leases.TryAcquire(function.Info.CodePath)
                ?? throw new InvalidOperationException("the function's code changed");
            using (var snapshot = service._snapshots.OpenLeased(function.Info))
            {
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
                        result = recorder.Record(snapshot, input, service._options.VmOptions(job.Function, service._options.AutoRecord!.RecordTimeout), new FaasnapRecordOptions(), staged);
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

using Snapfn.Platform.AutoRecording;
using Snapfn.Snapshots.Recording;

namespace Snapfn.Platform.Tests;

/// <summary>
/// Issue 21, automatic recordings: the recorder's decisions, with a stand-in for the recording run (which needs KVM),
/// a clock the test moves and workers the test runs. Nothing here sleeps or races.
/// </summary>
public sealed class AutoRecorderTests : IDisposable
{
    private const string Fn = "fn";
    private static readonly byte[] _inputA = "{\"n\": 1}"u8.ToArray();
    private static readonly byte[] _inputB = "{\"n\": 2}"u8.ToArray();
    private readonly FakeTarget _target = new();
    private readonly FakeClock _clock = new();
    private readonly Queue<Action> _workers = new();
    private readonly List<string> _log = [];
    private readonly List<string> _counted = [];
    private AutoRecorder? _recorder;

    private AutoRecorder Recorder(AutoRecordOptions? options = null)
    {
        _recorder = new AutoRecorder((options ?? new AutoRecordOptions()) with
        {
            Log = (f, m) => _log.Add($"{f}: {m}"),
            Recorded = (f, m, ok) => _counted.Add($"{f} {m} {(ok ? "ok" : "error")}"),
        }, _target, _clock);
        _recorder.StartWorker = work =>
        {
            _workers.Enqueue(work);
            return Task.CompletedTask;
        };
        return _recorder;
    }

    /// <summary>Runs the workers started so far, each until the queue is empty (what the thread pool would do).</summary>
    private void RunWorkers()
    {
        while (_workers.TryDequeue(out var work))
            work();
    }

    private static InvocationResult Result(string mode, double? outsidePages = null)
    {
        var counters = new Dictionary<string, double> { ["vm_exits"] = 10 };
        if (outsidePages is { } pages)
            counters[mode == "reap" ? "uffd_faults" : "pages_outside_loading_set"] = pages;
        return new InvocationResult
        {
            Function = Fn, Mode = mode, Output = [], RestoreMs = 1, ExecuteMs = 1, TotalMs = 2, CachedPagesBefore = 0, Counters = counters,
        };
    }

    private static RegisteredFunction Registered(AutoRecordFacts? facts) => new()
    {
        Name = Fn, Kind = FunctionKind.User, ElfPath = "/nowhere", ElfSha256 = "", MemoryMib = 512, Description = "", IsTestGuest = false,
        RegisteredAt = DateTimeOffset.UnixEpoch,
        Snapshot = facts is null ? null : new SnapshotRecord
        {
            SnapshotId = facts.SnapshotId, ElfSha256 = "", StateSha256 = "", MemoryFile = "memory", MemoryMib = 512, AllocatedBytes = 0,
            DataPages = 0, TakenAt = DateTimeOffset.UnixEpoch,
        },
        Recordings = facts is null ? [] : [.. facts.RecordedPages.Select(r => new RecordingRecord
        {
            Mode = r.Key, SnapshotId = facts.SnapshotId, Path = "", Sha256 = "", Pages = r.Value, Regions = 1, FileBytes = 0, RecordedAt = DateTimeOffset.UnixEpoch,
        })],
    };

    private AutoRecordStatus Status() => _recorder!.Status(Registered(_target.Current));

    [Fact]
    public void The_first_invocation_queues_one_recording_of_every_mode_with_its_input_and_nothing_runs_on_the_request()
    {
        var recorder = Recorder();
        recorder.Observe(Fn, "vanilla", _inputA, Result("vanilla"));

        Assert.Empty(_target.Staged); // queued, not run: the request returned before any recording
        Assert.Equal(1, recorder.Queued);
        Assert.Equal(AutoRecordStatus.Pending, Status().State);
        Assert.Equal("first-invocation", Status().Trigger);

        RunWorkers();
        Assert.Equal([("reap", "{\"n\": 1}"), ("faasnap", "{\"n\": 1}")], _target.Staged);
        Assert.Equal(["reap", "faasnap"], _target.Committed);
        Assert.Equal(AutoRecordStatus.Recorded, Status().State);
        Assert.Equal("first-invocation", Status().Trigger);
        Assert.Equal(0, recorder.Queued);
        // Counted as recordings made (the daemon's snapfn_recordings_total), as one made by hand is.
        Assert.Equal(["fn reap ok", "fn faasnap ok"], _counted);
    }

    [Fact]
    public void A_function_without_a_snapshot_records_nothing()
    {
        _target.Current = null;
        var recorder = Recorder();
        recorder.Observe(Fn, "vanilla", _inputA, Result("vanilla"));
        Assert.Equal(0, recorder.Queued);
        Assert.Equal(AutoRecordStatus.NoSnapshot, Status().State);
    }

    [Fact]
    public void A_declared_sample_input_is_preferred_to_the_request_and_recorded_as_soon_as_the_snapshot_is_taken()
    {
        _target.Current = _target.Current! with { SampleInput = "sample"u8.ToArray() };
        var recorder = Recorder();
        recorder.Snapshotted(Fn);
        Assert.Equal(1, recorder.Queued);
        recorder.Observe(Fn, "vanilla", _inputA, Result("vanilla"));
        Assert.Equal(1, recorder.Queued);

        RunWorkers();
        Assert.Equal([("reap", "sample"), ("faasnap", "sample")], _target.Staged);
        Assert.Equal("sample-input", Status().Trigger);
    }

    [Fact]
    public void A_sample_input_that_cannot_be_used_gives_way_to_the_request_and_says_why()
    {
        _target.Current = _target.Current! with { SampleInputError = "sample.json is not a file" };
        var recorder = Recorder(new AutoRecordOptions { MaxInputBytes = 4 });
        recorder.Observe(Fn, "vanilla", _inputA, Result("vanilla")); // too large to keep: the note shows
        Assert.Equal(AutoRecordStatus.Waiting, Status().State);
        Assert.Contains("at most 4 bytes", Status().Reason, StringComparison.Ordinal);
        Assert.Contains(_log, l => l.Contains("sample input is not usable (sample.json is not a file)", StringComparison.Ordinal));
        recorder.Invalidate(Fn);
        recorder.Observe(Fn, "vanilla", "{}"u8.ToArray(), Result("vanilla"));
        RunWorkers();
        Assert.Equal([("reap", "{}"), ("faasnap", "{}")], _target.Staged);
    }

    [Fact]
    public void A_second_invocation_while_one_is_pending_or_recording_queues_nothing_more()
    {
        var recorder = Recorder();
        recorder.Observe(Fn, "vanilla", _inputA, Result("vanilla"));
        recorder.Observe(Fn, "vanilla", _inputB, Result("vanilla"));
        Assert.Equal(1, recorder.Queued);
        Assert.Single(_workers);

        _target.OnStage = (_, _) => recorder.Observe(Fn, "vanilla", _inputB, Result("vanilla")); // while it records
        RunWorkers();
        Assert.Equal(2, _target.Staged.Count);
        Assert.All(_target.Staged, s => Assert.Equal("{\"n\": 1}", s.Input));
        Assert.Equal(0, recorder.Queued);
    }

    [Fact]
    public void A_redeploy_drops_a_queued_recording_and_makes_a_running_one_discard_what_it_made()
    {
        var recorder = Recorder();
        recorder.Observe(Fn, "vanilla", _inputA, Result("vanilla"));
        recorder.Invalidate(Fn); // redeployed before its turn
        Assert.Equal(0, recorder.Queued);
        RunWorkers();
        Assert.Empty(_target.Staged);

        recorder.Observe(Fn, "vanilla", _inputB, Result("vanilla"));
        _target.OnStage = (_, _) => recorder.Invalidate(Fn); // redeployed while the VM records
        RunWorkers();
        Assert.Single(_target.Staged);
        Assert.Empty(_target.Committed);
        Assert.Equal(["reap"], _target.Discarded);
        Assert.Empty(_counted); // neither made nor failed
        Assert.Equal(AutoRecordStatus.Waiting, Status().State);
        Assert.Contains(_log, l => l.Contains("discarded", StringComparison.Ordinal));
    }

    [Fact]
    public void Drift_beyond_the_threshold_over_the_window_records_again_from_a_drifted_request()
    {
        _target.Current = _target.Current! with { RecordedPages = new Dictionary<string, long> { ["reap"] = 1000, ["faasnap"] = 1000 } };
        var recorder = Recorder();
        // Threshold: max(256 pages, 10% of 1000) = 256. Four drifted requests are not yet a window (5 at least).
        for (var i = 0; i < 4; i++)
            recorder.Observe(Fn, "reap", _inputA, Result("reap", 400));
        Assert.Equal(0, recorder.Queued);
        recorder.Observe(Fn, "reap", _inputB, Result("reap", 400));
        Assert.Equal(1, recorder.Queued);
        Assert.Equal("drift", Status().Trigger);

        RunWorkers();
        Assert.Equal([("reap", "{\"n\": 2}")], _target.Staged); // only the drifted mode, from the latest drifted request
        Assert.Equal(["reap"], _target.Committed);

        // The window starts again with the new recording: one more drifted request does not record at once,
        for (var i = 0; i < 5; i++)
            recorder.Observe(Fn, "reap", _inputA, Result("reap", 400));
        // ... nor a full window of them within the least interval between drift recordings (requests alternating
        // between two kinds must not have the function recorded after every few of them),
        Assert.Equal(0, recorder.Queued);
        // ... but after it, they do.
        _clock.Advance(TimeSpan.FromMinutes(5));
        recorder.Observe(Fn, "reap", _inputA, Result("reap", 400));
        Assert.Equal(1, recorder.Queued);
    }

    [Fact]
    public void Faasnap_restores_drift_on_the_loading_set_and_faasnap_hot_counts_for_it()
    {
        _target.Current = _target.Current! with { RecordedPages = new Dictionary<string, long> { ["reap"] = 100, ["faasnap"] = 100 } };
        var recorder = Recorder();
        for (var i = 0; i < 3; i++)
            recorder.Observe(Fn, "faasnap", _inputA, Result("faasnap", 300));
        for (var i = 0; i < 2; i++)
            recorder.Observe(Fn, "faasnap-hot", _inputB, Result("faasnap-hot", 300));
        RunWorkers();
        Assert.Equal([("faasnap", "{\"n\": 2}")], _target.Staged);
    }

    [Fact]
    public void Requests_below_the_threshold_or_one_odd_request_record_nothing()
    {
        _target.Current = _target.Current! with { RecordedPages = new Dictionary<string, long> { ["reap"] = 1000, ["faasnap"] = 1000 } };
        var recorder = Recorder();
        for (var i = 0; i < 40; i++)
            recorder.Observe(Fn, "reap", _inputA, Result("reap", i % 10 == 0 ? 5000 : 200));
        recorder.Observe(Fn, "vanilla", _inputA, Result("vanilla")); // no recording involved
        recorder.Observe(Fn, "reap", _inputA, Result("reap")); // no counter (an older backend): ignored
        Assert.Equal(0, recorder.Queued);
        Assert.Equal(AutoRecordStatus.Recorded, Status().State);
    }

    [Fact]
    public void Samples_older_than_the_window_s_age_do_not_count()
    {
        _target.Current = _target.Current! with { RecordedPages = new Dictionary<string, long> { ["reap"] = 1000, ["faasnap"] = 1000 } };
        var recorder = Recorder();
        for (var i = 0; i < 4; i++)
            recorder.Observe(Fn, "reap", _inputA, Result("reap", 400));
        _clock.Advance(TimeSpan.FromMinutes(11));
        recorder.Observe(Fn, "reap", _inputA, Result("reap", 400));
        Assert.Equal(0, recorder.Queued);
        for (var i = 0; i < 4; i++)
            recorder.Observe(Fn, "reap", _inputA, Result("reap", 400));
        Assert.Equal(1, recorder.Queued);
    }

    [Fact]
    public void A_failed_recording_is_shown_with_its_reason_and_tried_again_only_after_a_while()
    {
        var recorder = Recorder();
        _target.OnStage = (_, _) => throw new InvalidOperationException("no KVM here");
        recorder.Observe(Fn, "vanilla", _inputA, Result("vanilla")); // returns: the request is not affected
        RunWorkers();
        var status = Status();
        Assert.Equal(AutoRecordStatus.Failed, status.State);
        Assert.Contains("no KVM here", status.Reason, StringComparison.Ordinal);
        Assert.Contains(_log, l => l.Contains("no KVM here", StringComparison.Ordinal));
        Assert.Equal(["fn reap error"], _counted);

        recorder.Observe(Fn, "vanilla", _inputB, Result("vanilla"));
        Assert.Equal(0, recorder.Queued);
        _clock.Advance(TimeSpan.FromMinutes(10));
        _target.OnStage = null;
        recorder.Observe(Fn, "vanilla", _inputB, Result("vanilla"));
        Assert.Equal(1, recorder.Queued);
        RunWorkers();
        Assert.Equal(AutoRecordStatus.Recorded, Status().State);
    }

    [Fact]
    public void The_queue_the_input_size_and_the_recordings_at_once_are_bounded()
    {
        var recorder = Recorder(new AutoRecordOptions { MaxQueued = 2, MaxConcurrent = 1, MaxInputBytes = 8 });
        recorder.Observe(Fn, "vanilla", "123456789"u8.ToArray(), Result("vanilla")); // 9 bytes: not kept
        Assert.Equal(0, recorder.Queued);
        Assert.Contains("at most 8 bytes", Status().Reason, StringComparison.Ordinal);

        foreach (var name in new[] { "a", "b", "c" })
            recorder.Observe(name, "vanilla", "{}"u8.ToArray(), Result("vanilla"));
        Assert.Equal(2, recorder.Queued);
        Assert.Single(_workers); // one recording at a time overall
        Assert.Contains(_log, l => l.StartsWith("c: ", StringComparison.Ordinal) && l.Contains("queue was full", StringComparison.Ordinal));
        RunWorkers();
        Assert.Equal(4, _target.Staged.Count);
        // The function turned away by the full queue is recorded from a later request.
        recorder.Observe("c", "vanilla", "{}"u8.ToArray(), Result("vanilla"));
        Assert.Equal(1, recorder.Queued);
    }

    [Fact]
    public void Disposing_drops_queued_jobs_and_a_running_one_discards_its_recording()
    {
        var recorder = Recorder();
        recorder.Observe(Fn, "vanilla", _inputA, Result("vanilla"));
        recorder.Observe("other", "vanilla", _inputA, Result("vanilla"));
        _target.OnStage = (_, _) => recorder.Dispose();
        RunWorkers();
        Assert.Single(_target.Staged);
        Assert.Empty(_target.Committed);
        Assert.Equal(0, recorder.Queued);
    }

    public void Dispose() => _recorder?.Dispose();

    private sealed class FakeClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    /// <summary>The platform without VMs: a function with a snapshot and no recordings, recordings that "run" at once.</summary>
    private sealed class FakeTarget : IAutoRecordTarget
    {
        public AutoRecordFacts? Current { get; set; } = new(Guid.NewGuid(), new Dictionary<string, long>());

        public List<(string Mode, string Input)> Staged { get; } = [];

        public List<string> Committed { get; } = [];

        public List<string> Discarded { get; } = [];

        public Action<AutoRecordJob, string>? OnStage { get; set; }

        public AutoRecordFacts? Facts(string function) => Current;

        public StagedRecording Stage(AutoRecordJob job, string mode)
        {
            Staged.Add((mode, System.Text.Encoding.UTF8.GetString(job.Input!)));
            OnStage?.Invoke(job, mode);
            return new StagedRecording(mode, $"{mode}.staged", mode, new RecordingResult(mode, mode, [], 50, 1, 4096, 1), "sha");
        }

        public bool Commit(AutoRecordJob job, StagedRecording staged, Func<bool> stillCurrent)
        {
            if (!stillCurrent())
            {
                Discarded.Add(staged.Mode);
                return false;
            }
            Committed.Add(staged.Mode);
            if (Current is { } current)
                Current = current with { RecordedPages = new Dictionary<string, long>(current.RecordedPages) { [staged.Mode] = 50 } };
            return true;
        }
    }
}

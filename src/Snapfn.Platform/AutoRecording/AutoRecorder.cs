using Snapfn.Snapshots.Backends;

namespace Snapfn.Platform.AutoRecording;

/// <summary>
/// Records functions by itself, off the requests' path, so that nobody has to run `snapfn record` with an input they
/// invent (issue 21). After a function's snapshot, its first real request (or the sample input its snapfn.json
/// declares) is recorded in every mode of <see cref="AutoRecordOptions.Modes"/>; afterwards the requests restored
/// from a recording are compared with it (the pages each faulted outside it, a counter of its mode), and when they
/// have drifted (<see cref="DriftPolicy"/>) the recording is made again from a recent request that drifted, and
/// swapped in atomically.
/// Bounds: one recording at a time per function, <see cref="AutoRecordOptions.MaxConcurrent"/> at once overall, at
/// most <see cref="AutoRecordOptions.MaxQueued"/> waiting, each holding an input of at most
/// <see cref="AutoRecordOptions.MaxInputBytes"/> only until it is recorded. A change of the function (redeploy, new
/// snapshot, a manual recording, deletion: <see cref="Invalidate"/>) drops its queued job and makes a running one
/// discard what it made. A failure never reaches a request: it is logged and shown (<see cref="Status"/>), and a
/// later request may try again after <see cref="AutoRecordOptions.RetryAfter"/>.
/// </summary>
public sealed class AutoRecorder : IDisposable
{
    private readonly AutoRecordOptions _options;
    private readonly IAutoRecordTarget _target;
    private readonly TimeProvider _clock;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, FunctionState> _functions = new(StringComparer.Ordinal);
    private readonly LinkedList<AutoRecordJob> _queue = new();
    private readonly List<Task> _workers = [];
    private int _running;
    private bool _disposed;

    internal AutoRecorder(AutoRecordOptions options, IAutoRecordTarget target, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(target);
        options.Validate();
        _options = options;
        _target = target;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>A seam for tests: starts a worker (a loop that runs queued jobs until none is left). The default runs it
    /// on the thread pool; a test keeps it and runs it when it chooses.</summary>
    internal Func<Action, Task> StartWorker { get; set; } = work => Task.Run(work);

    public AutoRecordOptions Options => _options;

    /// <summary>Jobs waiting for a worker.</summary>
    public int Queued
    {
        get
        {
            lock (_lock)
                return _queue.Count;
        }
    }

    /// <summary>Completes when the recordings queued or running now are done (a test, a graceful stop).</summary>
    public Task WhenIdle()
    {
        lock (_lock)
            return Task.WhenAll([.. _workers]);
    }

    /// <summary>Called once a request on <paramref name="function"/> succeeded, with its input and result: may queue a
    /// recording (never waits for one). Throws nothing a request should see.</summary>
    public void Observe(string function, string mode, byte[] input, InvocationResult result)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(mode);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(result);
        if (Facts(function) is not (var state, { } facts))
            return;
        var now = _clock.GetUtcNow();
        lock (_lock)
        {
            if (_disposed || !ReferenceEquals(_functions.GetValueOrDefault(function), state) || state.Facts != facts)
                return;
            var missing = _options.Modes.Where(m => !facts.RecordedPages.ContainsKey(m)).ToList();
            if (missing.Count > 0)
            {
                var sample = facts.SampleInput is not null;
                TryQueue(state, function, missing, facts.SampleInput ?? input, sample ? AutoRecordTrigger.SampleInput : AutoRecordTrigger.FirstInvocation, now);
                return;
            }
            if (RecordingOf(mode) is not { } recorded || OutsideCounter(mode) is not { } counter
                || !result.Counters.TryGetValue(counter, out var outside) || !facts.RecordedPages.TryGetValue(recorded, out var pages))
                return;
            var window = state.Window(recorded, _options.Drift);
            window.Add(now, outside);
            // Drifted, and this request is one of those that drifted: it is what the new recording is made from.
            if (window.Drifted(now, pages) && outside > _options.Drift.Threshold(pages) && !(now - state.RecordedAt < _options.Drift.MinInterval))
                TryQueue(state, function, [recorded], input, AutoRecordTrigger.Drift, now);
        }
    }

    /// <summary>The function changed (registered again, snapshotted, recorded by hand, deleted). Call it under the
    /// function's change lock: a running job checks the same generation under that lock before it swaps.</summary>
    public void Invalidate(string function)
    {
        ArgumentNullException.ThrowIfNull(function);
        lock (_lock)
        {
            var state = State(function);
            state.Generation++;
            state.Facts = null;
            state.Loaded = false;
            state.Windows.Clear();
            state.Failure = null;
            state.Note = null;
            state.Since = _clock.GetUtcNow();
            if (state.Job is { Running: false } queued)
            {
                _queue.Remove(queued);
                queued.Input = null;
                state.Job = null;
            }
        }
    }

    /// <summary>A snapshot of the function was just taken: when its snapfn.json declares a sample input, it is recorded
    /// now rather than at the first request.</summary>
    public void Snapshotted(string function)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (Facts(function) is not (var state, { SampleInput: { } sample } facts))
            return;
        var missing = _options.Modes.Where(m => !facts.RecordedPages.ContainsKey(m)).ToList();
        lock (_lock)
        {
            if (!_disposed && ReferenceEquals(_functions.GetValueOrDefault(function), state) && state.Facts == facts && missing.Count > 0)
                TryQueue(state, function, missing, sample, AutoRecordTrigger.SampleInput, _clock.GetUtcNow());
        }
    }

    /// <summary>Where the function's automatic recording stands; <paramref name="registered"/> (the registry's row) says
    /// it for a function the recorder has not seen since it started.</summary>
    public AutoRecordStatus Status(RegisteredFunction registered)
    {
        ArgumentNullException.ThrowIfNull(registered);
        lock (_lock)
        {
            var state = _functions.GetValueOrDefault(registered.Name);
            var trigger = state?.LastTrigger is { } t ? AutoRecordStatus.Name(t) : null;
            if (state?.Job is { } job)
                return new AutoRecordStatus(job.Running ? AutoRecordStatus.Recording : AutoRecordStatus.Pending, null, AutoRecordStatus.Name(job.Trigger), state.Since);
            if (state?.Failure is { } failure)
                return new AutoRecordStatus(AutoRecordStatus.Failed, failure, trigger, state.Since);
            if (registered.Snapshot is not { } snapshot)
                return new AutoRecordStatus(AutoRecordStatus.NoSnapshot, "deploy or `snapfn snapshot` takes one; recordings follow", trigger, state?.Since);
            var recorded = registered.Recordings.Where(r => r.SnapshotId == snapshot.SnapshotId).Select(r => r.Mode).ToHashSet(StringComparer.Ordinal);
            if (_options.Modes.All(recorded.Contains))
                return new AutoRecordStatus(AutoRecordStatus.Recorded, null, trigger, state?.Since);
            return new AutoRecordStatus(AutoRecordStatus.Waiting, state?.Note ?? "recorded from the first request (or the sample input in snapfn.json)",
                trigger, state?.Since);
        }
    }

    /// <summary>Stops taking jobs, drops the queued ones and waits (up to a recording's timeout) for the running ones,
    /// which discard what they made. Idempotent.</summary>
    public void Dispose()
    {
        Task[] running;
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            foreach (var job in _queue)
            {
                job.Input = null;
                if (_functions.TryGetValue(job.Function, out var state) && state.Job == job)
                    state.Job = null;
            }
            _queue.Clear();
            running = [.. _workers];
        }
        Task.WaitAll(running, _options.RecordTimeout + TimeSpan.FromSeconds(10));
    }

    /// <summary>The function's state and what it has now, read from the platform once per change of the function.</summary>
    private (FunctionState State, AutoRecordFacts? Facts)? Facts(string function)
    {
        FunctionState state;
        long generation;
        lock (_lock)
        {
            if (_disposed)
                return null;
            state = State(function);
            if (state.Loaded)
                return (state, state.Facts);
            generation = state.Generation;
        }
        AutoRecordFacts? facts;
        try
        {
            facts = _target.Facts(function);
        }
        catch (Exception e)
        {
            Log(function, $"cannot read what it has recorded: {e.Message}");
            return null;
        }
        lock (_lock)
        {
            // Changed while it was read: the next request reads it again.
            if (state.Generation != generation)
                return null;
            state.Facts = facts;
            state.Loaded = true;
        }
        if (facts?.SampleInputError is { } error)
        {
            lock (_lock)
                state.Note = $"the sample input is not usable ({error}); recording from a request instead";
            Log(function, $"the sample input is not usable ({error}); recording from a request instead");
        }
        return (state, facts);
    }

    /// <summary>Queues a job unless the function has one, failed too recently, the input is too large or the queue is
    /// full (each of which it notes). Under the lock.</summary>
    private void TryQueue(FunctionState state, string function, IReadOnlyList<string> modes, byte[] input, AutoRecordTrigger trigger, DateTimeOffset now)
    {
        if (state.Job is not null || state.Facts is not { } facts)
            return;
        if (state.Failure is not null && now - state.FailedAt < _options.RetryAfter)
            return;
        if (input.Length > _options.MaxInputBytes)
        {
            state.Note = $"waiting for a request of at most {_options.MaxInputBytes} bytes to record from (limit auto-record-input)";
            return;
        }
        if (_queue.Count >= _options.MaxQueued)
        {
            state.Note = $"the recording queue was full ({_options.MaxQueued} waiting, limit auto-record-queue): a later request queues it";
            Log(function, state.Note);
            return;
        }
        var job = new AutoRecordJob(function, state.Generation, facts.SnapshotId, modes, input, trigger);
        state.Job = job;
        state.Since = now;
        _queue.AddLast(job);
        Log(function, $"queued a recording of {string.Join(", ", modes)} ({AutoRecordStatus.Name(trigger)})");
        if (_running < _options.MaxConcurrent)
        {
            _running++;
            var worker = StartWorker(Work);
            _workers.Add(worker);
            _workers.RemoveAll(w => w.IsCompleted);
        }
    }

    /// <summary>A worker: runs queued jobs one after another until the queue is empty.</summary>
    private void Work()
    {
        while (true)
        {
            AutoRecordJob job;
            lock (_lock)
            {
                if (_disposed || _queue.First is not { } first)
                {
                    _running--;
                    return;
                }
                job = first.Value;
                _queue.RemoveFirst();
                job.Running = true;
                State(job.Function).Since = _clock.GetUtcNow();
            }
            Run(job);
        }
    }

    private void Run(AutoRecordJob job)
    {
        string? failure = null;
        var discarded = false;
        foreach (var mode in job.Modes)
        {
            if (!Current(job))
            {
                discarded = true;
                break;
            }
            StagedRecording staged;
            try
            {
                staged = _target.Stage(job, mode);
            }
            catch (Exception e)
            {
                failure = $"recording {mode} from the {AutoRecordStatus.Name(job.Trigger)} input failed: {e.Message}";
                Counted(job.Function, mode, ok: false);
                break;
            }
            bool swapped;
            try
            {
                swapped = _target.Commit(job, staged, () => Current(job));
            }
            catch (Exception e)
            {
                failure = $"swapping in the {mode} recording failed: {e.Message}";
                Counted(job.Function, mode, ok: false);
                break;
            }
            if (!swapped)
            {
                discarded = true;
                break;
            }
            lock (_lock)
            {
                var state = State(job.Function);
                if (state.Generation == job.Generation && state.Facts is { } facts)
                {
                    state.Facts = facts with { RecordedPages = new Dictionary<string, long>(facts.RecordedPages, StringComparer.Ordinal) { [mode] = (long)staged.Result.Pages } };
                    state.Windows.Remove(mode);
                    state.RecordedAt = _clock.GetUtcNow();
                }
            }
            Log(job.Function, $"recorded {mode} ({AutoRecordStatus.Name(job.Trigger)}): {staged.Result.Pages} pages in {staged.Result.Regions} regions");
            Counted(job.Function, mode, ok: true);
        }
        var now = _clock.GetUtcNow();
        lock (_lock)
        {
            job.Input = null;
            var state = State(job.Function);
            if (state.Job == job)
            {
                state.Job = null;
                state.Since = now;
                if (failure is not null && state.Generation == job.Generation)
                {
                    state.Failure = failure;
                    state.FailedAt = now;
                }
                else if (!discarded)
                {
                    state.Failure = null;
                    state.Note = null;
                    state.LastTrigger = job.Trigger;
                }
            }
        }
        if (failure is not null)
            Log(job.Function, failure);
        else if (discarded)
            Log(job.Function, "discarded a recording: the function changed while it was made");
        // A job made stale by a new snapshot held the function's turn: the sample input is recorded now, if it has one.
        if (discarded)
            Snapshotted(job.Function);
    }

    /// <summary>Whether the function is as it was when <paramref name="job"/> was queued.</summary>
    private bool Current(AutoRecordJob job)
    {
        lock (_lock)
            return !_disposed && _functions.TryGetValue(job.Function, out var state) && state.Generation == job.Generation;
    }

    /// <summary>The recording a restore in <paramref name="mode"/> uses, named as <see cref="AutoRecordOptions.Modes"/>
    /// names it (faasnap-hot restores from faasnap's loading set); null for modes without one.</summary>
    private string? RecordingOf(string mode)
    {
        if (!RestoreModes.TryGet(mode, out var found) || found.Recorder is not { } recorder)
            return null;
        return _options.Modes.FirstOrDefault(m => RestoreModes.TryGet(m, out var own) && own.Recorder?.FileName == recorder.FileName);
    }

    /// <summary>The counter of pages a restore in <paramref name="mode"/> faulted outside its recording.</summary>
    private static string? OutsideCounter(string mode) =>
        RestoreModes.TryGet(mode, out var found) ? found.Counters.FirstOrDefault(c => c.OutsideRecording)?.Name : null;

    private FunctionState State(string function)
    {
        if (!_functions.TryGetValue(function, out var state))
            _functions[function] = state = new FunctionState();
        return state;
    }

    private void Log(string function, string message) => _options.Log?.Invoke(function, message);

    private void Counted(string function, string mode, bool ok) => _options.Recorded?.Invoke(function, mode, ok);

    /// <summary>What the recorder knows of one function (under <see cref="_lock"/>).</summary>
    private sealed class FunctionState
    {
        public long Generation;
        public AutoRecordFacts? Facts;
        /// <summary>Facts were read since the last change (they may be null: no snapshot).</summary>
        public bool Loaded;
        public AutoRecordJob? Job;
        public string? Failure;
        public DateTimeOffset FailedAt;
        public string? Note;
        public AutoRecordTrigger? LastTrigger;
        /// <summary>When the recorder last swapped in a recording of the function (drift waits <see cref="DriftPolicy.MinInterval"/> after it).</summary>
        public DateTimeOffset? RecordedAt;
        public DateTimeOffset? Since;
        public readonly Dictionary<string, DriftWindow> Windows = new(StringComparer.Ordinal);

        public DriftWindow Window(string mode, DriftPolicy policy)
        {
            if (!Windows.TryGetValue(mode, out var window))
                Windows[mode] = window = new DriftWindow(policy);
            return window;
        }
    }
}

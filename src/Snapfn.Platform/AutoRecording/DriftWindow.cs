namespace Snapfn.Platform.AutoRecording;

/// <summary>The recent invocations restored from one recording: when each ran and how many pages it faulted outside
/// the recording. Bounded by <see cref="DriftPolicy.Window"/> samples; not thread-safe (the recorder's lock guards it).</summary>
internal sealed class DriftWindow(DriftPolicy policy)
{
    private readonly Queue<(DateTimeOffset At, double Pages)> _samples = new();

    public int Count => _samples.Count;

    public void Add(DateTimeOffset at, double pagesOutside)
    {
        _samples.Enqueue((at, pagesOutside));
        while (_samples.Count > policy.Window)
            _samples.Dequeue();
    }

    /// <summary>Whether the samples of the last <see cref="DriftPolicy.MaxAge"/> say the requests drifted from a recording
    /// of <paramref name="recordedPages"/> pages (older samples are dropped on the way).</summary>
    public bool Drifted(DateTimeOffset now, long recordedPages)
    {
        while (_samples.Count > 0 && now - _samples.Peek().At > policy.MaxAge)
            _samples.Dequeue();
        if (_samples.Count < policy.MinSamples)
            return false;
        return Median() > policy.Threshold(recordedPages);
    }

    public void Clear() => _samples.Clear();

    private double Median()
    {
        var sorted = _samples.Select(s => s.Pages).Order().ToArray();
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}

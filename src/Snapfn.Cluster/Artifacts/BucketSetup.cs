using NATS.Client.JetStream;

namespace Snapfn.Cluster.Artifacts;

/// <summary>
/// Creating or opening a replicated bucket right after the cluster starts (or loses a server) can go unanswered
/// while JetStream elects the stream's leader: the client's request times out with no response. Tried again a few
/// times, with a growing pause, before the error reaches the caller.
/// </summary>
internal static class BucketSetup
{
    private const int Attempts = 5;

    public static async Task<T> RetryAsync<T>(Func<Task<T>> open, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await open().ConfigureAwait(false);
            }
            catch (NatsJSApiNoResponseException) when (attempt < Attempts)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt), ct).ConfigureAwait(false);
            }
        }
    }
}

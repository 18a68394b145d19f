namespace Snapfn.Platform.Logs;

/// <summary>
/// Hands new log lines to the clients following a function's logs (`snapfn logs --follow`, the SSE stream). Each
/// follower gets a bounded queue (<see cref="FunctionLogLimits.FollowerBufferLines"/>): a follower that falls that
/// far behind is dropped (its queue completed, <see cref="FunctionLogSubscription.Dropped"/> set) rather than let
/// grow, and the number of followers is bounded (<see cref="FunctionLogLimits.MaxFollowers"/>). Publishing never
/// waits for a follower.
/// </summary>
public sealed class FunctionLogFeed
{
    private readonly FunctionLogLimits _limits;
    private readonly Lock _lock = new();
    private readonly List<FunctionLogSubscription> _followers = [];

    public FunctionLogFeed(FunctionLogLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _limits = limits;
    }

    /// <summary>Followers now.</summary>
    public int Followers
    {
        get
        {
            lock (_lock)
                return _followers.Count;
        }
    }

    /// <summary>Starts following <paramref name="function"/>'s new lines; dispose the subscription to stop.</summary>
    /// <exception cref="LimitExceededException">as many clients as the limit allows already follow (limit "log-followers").</exception>
    public FunctionLogSubscription Follow(string function)
    {
        ArgumentNullException.ThrowIfNull(function);
        lock (_lock)
        {
            if (_followers.Count >= _limits.MaxFollowers)
            {
                throw new LimitExceededException(FollowersLimit, $"{_followers.Count} clients already follow function logs, the most this daemon allows",
                    "raise it with `snapfn serve --max-log-followers N`, or stop a `snapfn logs --follow`", TimeSpan.FromSeconds(5));
            }
            var subscription = new FunctionLogSubscription(this, function, _limits.FollowerBufferLines);
            _followers.Add(subscription);
            return subscription;
        }
    }

    public const string FollowersLimit = "log-followers";

    /// <summary>Hands <paramref name="lines"/> (stored, with their ids, in order) to the followers of their functions.</summary>
    public void Publish(IReadOnlyList<FunctionLogLine> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count == 0)
            return;
        lock (_lock)
        {
            for (var i = _followers.Count - 1; i >= 0; i--)
            {
                var follower = _followers[i];
                foreach (var line in lines)
                {
                    if (line.Function != follower.Function || follower.Offer(line))
                        continue;
                    _followers.RemoveAt(i);
                    break;
                }
            }
        }
    }

    internal void Remove(FunctionLogSubscription subscription)
    {
        lock (_lock)
            _followers.Remove(subscription);
    }
}

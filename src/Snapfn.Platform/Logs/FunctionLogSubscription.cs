using System.Threading.Channels;

namespace Snapfn.Platform.Logs;

/// <summary>One client following a function's logs: the lines published since it started, in order.</summary>
public sealed class FunctionLogSubscription : IDisposable
{
    private readonly FunctionLogFeed _feed;
    private readonly Channel<FunctionLogLine> _lines;
    private volatile bool _dropped;

    internal FunctionLogSubscription(FunctionLogFeed feed, string function, int capacity)
    {
        _feed = feed;
        Function = function;
        _lines = Channel.CreateBounded<FunctionLogLine>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = false });
    }

    public string Function { get; }

    /// <summary>The lines, in the order they were stored; completes when the follower is dropped or disposed.</summary>
    public ChannelReader<FunctionLogLine> Lines => _lines.Reader;

    /// <summary>True once the follower fell <see cref="FunctionLogLimits.FollowerBufferLines"/> behind and was dropped.</summary>
    public bool Dropped => _dropped;

    /// <summary>Queues a line; false (and the follower is done) when its queue is full.</summary>
    internal bool Offer(FunctionLogLine line)
    {
        if (_lines.Writer.TryWrite(line))
            return true;
        _dropped = true;
        _lines.Writer.TryComplete();
        return false;
    }

    public void Dispose()
    {
        _feed.Remove(this);
        _lines.Writer.TryComplete();
    }
}

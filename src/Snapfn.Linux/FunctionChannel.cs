using Snapfn.Linux.Files;

namespace Snapfn.Linux;

/// <summary>
/// A function's side of its program: the channel file at fd 3, the read the program waits in between requests
/// (READY), and the result of the request in progress (RESULT). See <see cref="ChannelFile"/> for the framing.
/// </summary>
public sealed class FunctionChannel
{
    /// <summary>What a read of the empty channel returns to the dispatcher: stop at READY, finish the call later.</summary>
    public const long Waiting = long.MinValue;

    private (ulong Buffer, ulong Count)? _pendingRead;

    public FunctionChannel(ChannelFile file)
    {
        File = file;
    }

    public ChannelFile File { get; }

    /// <summary>True once this VM instance has been given a request (a restored copy starts again at false).</summary>
    public bool HasServed { get; private set; }

    /// <summary>The result frame of the last request that ended at RESULT.</summary>
    public ChannelResult? LastResult { get; private set; }

    public ReadOnlySpan<byte> Output => LastResult is { Status: ChannelResult.Ok } result ? result.Body : [];

    /// <summary>The read the program is waiting in, for a snapshot.</summary>
    public (ulong Buffer, ulong Count)? PendingRead
    {
        get => _pendingRead;
        internal set => _pendingRead = value;
    }

    /// <summary>The program read the empty channel into [buffer, buffer+count): it waits for a request.</summary>
    public long Wait(ulong buffer, ulong count)
    {
        _pendingRead = (buffer, count);
        return Waiting;
    }

    public (ulong Buffer, ulong Count)? TakePendingRead()
    {
        var pending = _pendingRead;
        _pendingRead = null;
        return pending;
    }

    /// <summary>Hands over the next request; the first one in this VM carries the FIRST_IN_VM flag.</summary>
    public void Deliver(ReadOnlySpan<byte> input)
    {
        File.Deliver(input, firstInVm: !HasServed);
        HasServed = true;
        LastResult = null;
    }

    /// <summary>The result frame, once the program has written all of it.</summary>
    public ChannelResult? TakeResult()
    {
        if (File.Result is not { } result)
            return null;
        File.ClearResult();
        LastResult = result;
        return result;
    }
}

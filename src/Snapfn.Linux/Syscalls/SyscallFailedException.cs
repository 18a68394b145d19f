using Snapfn.Vmm;

namespace Snapfn.Linux.Syscalls;

/// <summary>
/// A system call could not be served and no errno says why: a handler met something it did not expect (the host
/// refused an mmap, a range it thought checked was not). The program is stopped and the request fails as the
/// function's failure, naming the call and its arguments; the host's exception is kept as the inner exception for
/// the log. Never a VMM or daemon error: whatever a guest passes, it only ever ends its own run.
/// </summary>
public sealed class SyscallFailedException : GuestFailureException
{
    public SyscallFailedException(string call, Exception innerException)
        : base($"the program's system call {call} could not be served ({innerException?.Message}); the program was stopped. " +
               "If the program is correct, this is a bug of Snapfn's system-call layer: report it with this message", innerException!)
    {
        Call = call;
    }

    /// <summary>The call as strace would show it: name and raw arguments.</summary>
    public string Call { get; }
}

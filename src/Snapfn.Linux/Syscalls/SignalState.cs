using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Syscalls;

/// <summary>Signal dispositions, the mask and the alternate stack: kept so that programs read back what they set,
/// never delivered (a guest has no asynchronous events; a signal it sends itself ends it, see ProcessCalls.Kill).</summary>
public sealed class SignalState
{
    public const int Count = 64;
    public const ulong Default = 0;
    public const ulong Ignore = 1;

    private readonly Kernel.kernel_sigaction[] _actions = new Kernel.kernel_sigaction[Count + 1];

    public ulong Mask { get; set; }

    public Kernel.stack_t AlternateStack { get; set; } = new() { ss_flags = 2 /* SS_DISABLE */ };

    public ref Kernel.kernel_sigaction Action(int signal) => ref _actions[signal];

    /// <summary>Linux's default action for <paramref name="signal"/> is to ignore it.</summary>
    public static bool IgnoredByDefault(int signal) => signal is 17 or 18 or 23 or 28; // SIGCHLD SIGCONT SIGURG SIGWINCH
}

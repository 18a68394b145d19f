namespace Snapfn.Linux.Threads;

/// <summary>
/// Thrown by a system call of a program with several threads when the running thread has to wait
/// (<see cref="Wait"/>) or has exited (<see cref="Wait"/> null): <see cref="LinuxProcess"/> catches it and switches
/// to another thread. Unwinding, rather than a special result, makes every call that waits — however it passes its
/// result on — leave the vCPU the same way, and runs its finally blocks (a temporary signal mask is put back);
/// a <see cref="WaitKind.Retry"/> call is served again from the start when the thread runs next. It never leaves
/// the system-call layer: one that did would be a bug of Snapfn's (the error model's "internal").
/// </summary>
public sealed class ThreadBlockedException : Exception
{
    public ThreadBlockedException(ThreadWait? wait)
        : base(wait is null ? "the thread exited" : $"the thread {wait.What}")
    {
        Wait = wait;
    }

    public ThreadBlockedException()
    {
    }

    public ThreadBlockedException(string message)
        : base(message)
    {
    }

    public ThreadBlockedException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>What the thread waits for; null when it exited.</summary>
    public ThreadWait? Wait { get; }
}

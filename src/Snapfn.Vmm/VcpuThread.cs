using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>
/// The thread a vCPU runs on. It keeps <see cref="KickSignal"/> blocked at all times; KVM unblocks it only
/// inside KVM_RUN (KVM_SET_SIGNAL_MASK), so a kick makes KVM_RUN return EINTR and is never delivered to a
/// handler. The pending signal is then consumed with sigtimedwait. This stops a guest that never exits
/// without leaving a thread stuck in KVM_RUN.
/// </summary>
public sealed unsafe class VcpuThread : IDisposable
{
    /// <summary>SIGRTMIN+7: .NET itself uses SIGRTMIN; nothing else in the process uses this one.</summary>
    public static readonly int KickSignal = Libc.__libc_current_sigrtmin() + 7;

    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _started = new();
    private volatile int _tid;

    public VcpuThread(string name)
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
        _thread.Start();
        _started.Wait();
    }

    /// <summary>Runs <paramref name="work"/> on the vCPU thread and waits for it, rethrowing what it throws.</summary>
    public T Invoke<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (Environment.CurrentManagedThreadId == _thread.ManagedThreadId)
            return work();
        T result = default!;
        ExceptionDispatchInfo? error = null;
        using var done = new ManualResetEventSlim();
        _work.Add(() =>
        {
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                error = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                done.Set();
            }
        });
        done.Wait();
        error?.Throw();
        return result;
    }

    public void Invoke(Action work) => Invoke(() =>
    {
        work();
        return true;
    });

    /// <summary>Interrupts a KVM_RUN in progress (or the next one, if the signal arrives between two).</summary>
    public void Kick()
    {
        if (_tid != 0)
            _ = Libc.tgkill(Libc.getpid(), _tid, KickSignal);
    }

    /// <summary>Takes a pending kick off the thread; called on the vCPU thread after KVM_RUN returned EINTR.</summary>
    public static void ConsumeKick()
    {
        Libc.sigset_t set = default;
        set.Add(KickSignal);
        Libc.timespec zero = default;
        while (Libc.sigtimedwait(&set, null, &zero) == KickSignal)
        {
        }
    }

    private void Loop()
    {
        Libc.sigset_t set = default;
        set.Add(KickSignal);
        SyscallException.Check(Libc.pthread_sigmask(Libc.SIG_BLOCK, &set, null), "pthread_sigmask");
        _tid = Libc.gettid();
        _started.Set();
        foreach (var work in _work.GetConsumingEnumerable())
            work();
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        if (Environment.CurrentManagedThreadId != _thread.ManagedThreadId)
            _thread.Join();
        _work.Dispose();
        _started.Dispose();
    }
}

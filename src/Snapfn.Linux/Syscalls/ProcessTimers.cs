namespace Snapfn.Linux.Syscalls;

/// <summary>
/// The program's timers: the three interval timers of setitimer (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF) and the
/// POSIX timers of timer_create, all kept as expiry times on the program's CLOCK_MONOTONIC. A timer that has
/// expired raises its signal the next time the program makes a system call, or at once if it is waiting in one
/// (<see cref="Waits"/>); a program that computes without system calls sees it at its next one, not mid-loop.
/// ITIMER_VIRTUAL and ITIMER_PROF run on the same clock as ITIMER_REAL: a guest's time is all its own.
/// </summary>
public sealed class ProcessTimers
{
    /// <summary>POSIX timers one program may hold (timer_create is EAGAIN past it, as past Linux's signal limits).</summary>
    public const int MaxPosixTimers = 256;

    public const int SIGALRM = 14, SIGVTALRM = 26, SIGPROF = 27;

    private readonly Timer[] _interval = [new(SIGALRM, 0, -1), new(SIGVTALRM, 0, -1), new(SIGPROF, 0, -1)];
    private readonly SortedDictionary<int, Timer> _posix = [];

    /// <summary>One timer: its signal (0 for SIGEV_NONE), its sigev_value, its POSIX id (-1 for an interval
    /// timer), when it next expires (0: disarmed) and its period (0: once).</summary>
    public sealed class Timer(int signal, ulong value, int id)
    {
        public int Signal { get; } = signal;

        public ulong Value { get; } = value;

        public int Id { get; } = id;

        /// <summary>The clock a POSIX timer was made on (its absolute times are read on it).</summary>
        public int ClockId { get; init; }

        public long Expiry { get; set; }

        public long Interval { get; set; }

        /// <summary>Expirations that raised no signal of their own at the last delivery (timer_getoverrun).</summary>
        public int Overrun { get; set; }

        public bool Armed => Expiry != 0;
    }

    /// <summary>ITIMER_REAL (0), ITIMER_VIRTUAL (1) or ITIMER_PROF (2).</summary>
    public Timer Interval(int which) => _interval[which];

    public Timer? Posix(int id) => _posix.GetValueOrDefault(id);

    /// <summary>A new POSIX timer with the lowest free id, or null when <see cref="MaxPosixTimers"/> are in use.</summary>
    public Timer? CreatePosix(int signal, ulong? value, int clockId)
    {
        if (_posix.Count >= MaxPosixTimers)
            return null;
        var id = 0;
        while (_posix.ContainsKey(id))
            id++;
        // Without a sigevent the timer's value is its own id, as Linux's.
        return _posix[id] = new Timer(signal, value ?? (ulong)id, id) { ClockId = clockId };
    }

    public bool DeletePosix(int id) => _posix.Remove(id);

    /// <summary>True when any timer is armed (a snapshot cannot keep them).</summary>
    public bool AnyArmed => _interval.Any(t => t.Armed) || _posix.Values.Any(t => t.Armed);

    /// <summary>The earliest expiry of an armed timer whose signal <paramref name="wakes"/> says would end a wait
    /// (not blocked, not ignored), or null when none could.</summary>
    public long? NextExpiry(Func<int, bool> wakes)
    {
        ArgumentNullException.ThrowIfNull(wakes);
        long? next = null;
        foreach (var t in _interval)
            next = Earlier(next, t, wakes);
        foreach (var t in _posix.Values)
            next = Earlier(next, t, wakes);
        return next;
    }

    private static long? Earlier(long? next, Timer t, Func<int, bool> wakes) =>
        t.Armed && t.Signal != 0 && (next is null || t.Expiry < next) && wakes(t.Signal) ? t.Expiry : next;

    /// <summary>Arms <paramref name="timer"/> to expire at <paramref name="expiry"/> (0 disarms) and then every
    /// <paramref name="interval"/> ns.</summary>
    public static void Arm(Timer timer, long expiry, long interval)
    {
        ArgumentNullException.ThrowIfNull(timer);
        timer.Expiry = expiry;
        timer.Interval = expiry == 0 ? 0 : interval;
        timer.Overrun = 0;
    }

    /// <summary>Raises the signal of every timer that has expired by now, and rearms the periodic ones past now
    /// (expirations missed meanwhile are counted as overruns, as Linux does).</summary>
    public void Expire(LinuxProcess p)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (NextExpiryOfAny() is not { } next)
            return;
        var now = p.Clock.Monotonic;
        if (now < next)
            return;
        foreach (var t in _interval)
            Fire(p, t, now);
        foreach (var t in _posix.Values)
            Fire(p, t, now);
    }

    private long? NextExpiryOfAny()
    {
        long? next = null;
        foreach (var t in _interval)
            next = t.Armed && (next is null || t.Expiry < next) ? t.Expiry : next;
        foreach (var t in _posix.Values)
            next = t.Armed && (next is null || t.Expiry < next) ? t.Expiry : next;
        return next;
    }

    private static void Fire(LinuxProcess p, Timer t, long now)
    {
        if (!t.Armed || t.Expiry > now)
            return;
        long missed = 0;
        if (t.Interval > 0)
        {
            missed = (now - t.Expiry) / t.Interval;
            t.Expiry += (missed + 1) * t.Interval;
        }
        else
        {
            t.Expiry = 0;
        }
        if (t.Signal == 0)
            return;
        // A signal still pending from the last expiry takes this one as an overrun instead of a second signal.
        var pending = (p.Signals.Pending & SignalState.Bit(t.Signal)) != 0;
        t.Overrun = (int)Math.Min(int.MaxValue, missed + (pending ? 1 : 0));
        p.Signals.Raise(t.Signal, t.Id < 0 ? SignalInfo.Kernel : new SignalInfo(SignalInfo.SI_TIMER, t.Id, t.Overrun, t.Value));
    }
}

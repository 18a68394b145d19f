namespace Snapfn.Workloads.Tests;

/// <summary>
/// The checkers' own copy of WORKLOADS.md's generators (snapfn_rng, xorshift64*, and mix64), kept apart from the
/// input generators' so that a checker never shares code with what it checks.
/// </summary>
public sealed class SpecRng(ulong seed)
{
    /// <summary>2^64 / φ, made odd: the seed that stands for 0, and the multiplier that spreads the counters of mmap,
    /// py-read-list, py-mmap and py-matmul.</summary>
    public const ulong Golden = 0x9e3779b97f4a7c15;

    private ulong _state = seed != 0 ? seed : Golden;

    public ulong Next()
    {
        var x = _state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        _state = x;
        return unchecked(x * 0x2545f4914f6cdd1d);
    }

    public double NextDouble() => (Next() >> 11) * (1.0 / 9007199254740992.0);

    public static ulong Mix64(ulong z)
    {
        unchecked
        {
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
            z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
            return z ^ (z >> 31);
        }
    }
}

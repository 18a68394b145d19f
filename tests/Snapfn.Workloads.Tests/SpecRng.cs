namespace Snapfn.Workloads.Tests;

/// <summary>
/// The checkers' own copy of WORKLOADS.md's generators (snapfn_rng, xorshift64*, and mix64), kept apart from the
/// input generators' so that a checker never shares code with what it checks.
/// </summary>
public sealed class SpecRng(ulong seed)
{
    private ulong _state = seed != 0 ? seed : 0x9e3779b97f4a7c15;

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

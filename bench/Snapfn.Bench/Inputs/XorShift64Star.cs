namespace Snapfn.Bench.Inputs;

/// <summary>
/// snapfn_rng (guest/runtime/include/snapfn.h), xorshift64*: the generator of every input, as WORKLOADS.md
/// defines it, so that the guests' own generators and the Python reference draw the same numbers.
/// </summary>
internal sealed class XorShift64Star
{
    private ulong _state;

    public XorShift64Star(ulong seed)
    {
        _state = seed != 0 ? seed : 0x9e3779b97f4a7c15;
    }

    public ulong Next()
    {
        var x = _state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        _state = x;
        return unchecked(x * 0x2545f4914f6cdd1d);
    }

    /// <summary>next() % n, as make_inputs.py's below(n): modulo bias included, it is part of the sequence.</summary>
    public int Below(int n) => (int)(Next() % (ulong)n);

    /// <summary>Uniform in [0, 1): the top 53 bits, exact in a double.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / 9007199254740992.0);

    public T Pick<T>(IReadOnlyList<T> items) => items[Below(items.Count)];

    /// <summary>The SplitMix64 finaliser: a hash of a lattice point for the pictures' noise.</summary>
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

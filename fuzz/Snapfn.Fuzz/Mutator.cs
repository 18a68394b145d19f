using System.Buffers.Binary;

namespace Snapfn.Fuzz;

/// <summary>
/// AFL-style havoc mutations without AFL, for the short run inside the tests and as a fallback where afl-fuzz is
/// missing: bit flips, interesting values, arithmetic, byte runs inserted, deleted and copied, splices of two
/// corpus entries. Deterministic for a seed, so a failing test names an input that can be made again.
/// </summary>
public sealed class Mutator(int seed)
{
    private const int MaxLength = 64 << 10;
    private static readonly long[] _interesting = [0, 1, -1, 16, 32, 64, 100, 127, 128, 255, 256, 4096, 32767, 32768, 65535, 65536, int.MaxValue, int.MinValue, long.MaxValue, long.MinValue];
    /// <summary>Bytes that matter to the text formats (JSON, paths).</summary>
    private const string Tokens = "\0\"{}[]:,/.\\-0123456789aenrstlu\u00ff";
    private readonly Random _random = new(seed);

    /// <summary>A mutation of <paramref name="input"/>, spliced at times with <paramref name="other"/>.</summary>
    public byte[] Mutate(byte[] input, byte[] other)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(other);
        var data = new List<byte>(input);
        var rounds = 1 << _random.Next(1, 6);
        for (var i = 0; i < rounds; i++)
            MutateOnce(data, other);
        if (data.Count > MaxLength)
            data.RemoveRange(MaxLength, data.Count - MaxLength);
        return [.. data];
    }

    private void MutateOnce(List<byte> data, byte[] other)
    {
        if (data.Count == 0)
        {
            data.Add((byte)_random.Next(256));
            return;
        }
        var at = _random.Next(data.Count);
        switch (_random.Next(10))
        {
            case 0:
                data[at] ^= (byte)(1 << _random.Next(8));
                break;
            case 1:
                data[at] = (byte)_random.Next(256);
                break;
            case 2:
                data[at] = (byte)(data[at] + _random.Next(-35, 36));
                break;
            case 3:
                WriteInteresting(data, at);
                break;
            case 4:
                data.RemoveRange(at, Math.Min(data.Count - at, 1 + _random.Next(16)));
                break;
            case 5:
                data.InsertRange(at, Enumerable.Repeat((byte)_random.Next(256), 1 + _random.Next(16)));
                break;
            case 6:
                var from = _random.Next(data.Count);
                var length = Math.Min(data.Count - from, 1 + _random.Next(32));
                data.InsertRange(at, data.GetRange(from, length));
                break;
            case 7:
                if (other.Length > 0)
                {
                    var start = _random.Next(other.Length);
                    data.RemoveRange(at, data.Count - at);
                    data.AddRange(other.AsSpan(start, Math.Min(other.Length - start, 256)).ToArray());
                }
                break;
            case 8:
                data.RemoveRange(at, data.Count - at);
                break;
            default:
                data[at] = (byte)Tokens[_random.Next(Tokens.Length)];
                break;
        }
    }

    private void WriteInteresting(List<byte> data, int at)
    {
        var value = _interesting[_random.Next(_interesting.Length)];
        var width = 1 << _random.Next(4); // 1, 2, 4 or 8 bytes, little-endian
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        for (var i = 0; i < width && at + i < data.Count; i++)
            data[at + i] = bytes[i];
    }
}

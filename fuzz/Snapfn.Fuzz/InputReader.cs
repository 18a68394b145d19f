using System.Buffers.Binary;

namespace Snapfn.Fuzz;

/// <summary>Reads a fuzz input front to back as the numbers a target decodes its calls from; past its end every
/// read is 0, so that every input, however short, decodes to something.</summary>
internal ref struct InputReader(ReadOnlySpan<byte> input)
{
    private readonly ReadOnlySpan<byte> _input = input;
    private int _at;

    public readonly bool Done => _at >= _input.Length;

    public byte Byte() => _at < _input.Length ? _input[_at++] : (byte)0;

    public uint UInt32()
    {
        Span<byte> b = stackalloc byte[4];
        for (var i = 0; i < 4; i++)
            b[i] = Byte();
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    public ulong UInt64() => UInt32() | (ulong)UInt32() << 32;
}

using System.Text;
using System.Text.Unicode;

namespace Snapfn.Linux.Files;

/// <summary>
/// Paths and names between the guest's bytes, the layer's strings and the host's *at calls. Linux names are bytes,
/// not text: a byte that is not part of valid UTF-8 is held as the lone surrogate U+DC80..U+DCFF (Python's
/// "surrogateescape"), which valid UTF-8 can never decode to, so that every name comes back byte for byte — from
/// getdents64 as it was created, to the host as the guest wrote it.
/// </summary>
internal static class CString
{
    private const char EscapeFirst = '\uDC80', EscapeLast = '\uDCFF';

    /// <summary><paramref name="text"/> as bytes for a host call, with a NUL at the end.</summary>
    public static byte[] Of(string text)
    {
        var bytes = new byte[ByteCount(text) + 1];
        Encode(text, bytes);
        return bytes;
    }

    /// <summary><paramref name="text"/> as the bytes it was decoded from, without a NUL.</summary>
    public static byte[] Bytes(string text)
    {
        var bytes = new byte[ByteCount(text)];
        Encode(text, bytes);
        return bytes;
    }

    /// <summary>Bytes (a name, a path) as a string that <see cref="Of"/> turns back into the same bytes.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        if (Utf8.IsValid(bytes))
            return Encoding.UTF8.GetString(bytes);
        var text = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            var status = System.Text.Rune.DecodeFromUtf8(bytes, out var rune, out var consumed);
            if (status == System.Buffers.OperationStatus.Done)
                text.Append(rune.ToString());
            else
                (text, consumed) = (text.Append((char)(0xDC00 + bytes[0])), 1); // an invalid byte is always >= 0x80
            bytes = bytes[consumed..];
        }
        return text.ToString();
    }

    private static int ByteCount(string text) =>
        text.AsSpan().IndexOfAnyInRange(EscapeFirst, EscapeLast) < 0 ? Encoding.UTF8.GetByteCount(text) : Escaped(text, []);

    private static void Encode(string text, Span<byte> bytes)
    {
        if (text.AsSpan().IndexOfAnyInRange(EscapeFirst, EscapeLast) < 0)
            Encoding.UTF8.GetBytes(text, bytes);
        else
            Escaped(text, bytes);
    }

    /// <summary>An escaped byte: a low surrogate in the escape range that is not the second half of a pair (U+10080
    /// is D800 DC80).</summary>
    private static bool IsEscape(string text, int i) =>
        text[i] is >= EscapeFirst and <= EscapeLast && (i == 0 || !char.IsHighSurrogate(text[i - 1]));

    /// <summary>Writes (when <paramref name="bytes"/> is not empty) and counts the bytes of a text holding escaped bytes.</summary>
    private static int Escaped(string text, Span<byte> bytes)
    {
        var count = 0;
        var write = !bytes.IsEmpty;
        for (var i = 0; i < text.Length;)
        {
            if (IsEscape(text, i))
            {
                if (write)
                    bytes[count] = (byte)(text[i] - 0xDC00);
                count++;
                i++;
                continue;
            }
            var start = i;
            while (i < text.Length && !IsEscape(text, i))
                i++;
            var run = text.AsSpan(start, i - start);
            count += write ? Encoding.UTF8.GetBytes(run, bytes[count..]) : Encoding.UTF8.GetByteCount(run);
        }
        return count;
    }
}

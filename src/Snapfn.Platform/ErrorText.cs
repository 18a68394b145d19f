using System.Text;

namespace Snapfn.Platform;

/// <summary>
/// Bounds an error's text where it is kept or logged: a guest writes its failure message (a traceback, or 16 MB of
/// anything), and storing that whole in the invocation log and the daemon's log at every failure would let one
/// function fill the host's disk. The head is kept, cut at a character boundary, with how much was left out.
/// </summary>
public static class ErrorText
{
    /// <summary>The default bound, in UTF-8 bytes (`snapfn serve --max-error-text-kib`).</summary>
    public const int DefaultMaxBytes = 4096;

    public static string Bound(string text, int maxBytes = DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        // Cheap exit without counting: a UTF-8 character is at most 3 bytes per UTF-16 unit.
        if ((long)text.Length * 3 <= maxBytes)
            return text;
        var total = Encoding.UTF8.GetByteCount(text);
        if (total <= maxBytes)
            return text;
        // Encodes whole characters (never half a surrogate pair) until the bound is full.
        var buffer = new byte[maxBytes];
        System.Text.Unicode.Utf8.FromUtf16(text, buffer, out var keep, out var bytes, replaceInvalidSequences: true, isFinalBlock: true);
        return $"{text[..keep]}… ({total - bytes} bytes more)";
    }
}

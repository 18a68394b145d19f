using System.Globalization;
using System.Text;
using Snapfn.Daemon.Contracts;

namespace Snapfn.Cli;

/// <summary>
/// A function's log line for a terminal. The bytes are the guest's: printed raw they could move the cursor, rewrite
/// earlier lines, change the terminal's title or hide text (ANSI escapes, carriage returns, bidirectional overrides),
/// so every control or format character is shown escaped — \t, \r, \e, \xNN, \u{XXXX} — as are bytes that are not
/// UTF-8 (\xNN) and the backslash itself (\\), so that what is printed says exactly what was written.
/// </summary>
public static class LogText
{
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(bytes, out var rune, out var used);
            if (status != System.Buffers.OperationStatus.Done)
            {
                // Not UTF-8 (or cut short): each byte of the bad sequence as itself.
                for (var i = 0; i < Math.Max(used, 1); i++)
                    text.Append(CultureInfo.InvariantCulture, $"\\x{bytes[i]:x2}");
                bytes = bytes[Math.Max(used, 1)..];
                continue;
            }
            Append(text, rune);
            bytes = bytes[used..];
        }
        return text.ToString();
    }

    /// <summary>One line as `snapfn logs` prints it: time, invocation id, path (and init), stream, escaped text.</summary>
    public static string Format(FunctionLogLineResponse line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var phase = line.Phase == "init" ? " init" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{line.Time.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} {line.InvocationId} {Escape(Encoding.UTF8.GetBytes(line.Path))}{phase} {line.Stream}: {Escape(line.Bytes())}");
    }

    private static void Append(StringBuilder text, Rune rune)
    {
        switch (rune.Value)
        {
            case '\\':
                text.Append("\\\\");
                return;
            case '\t':
                text.Append("\\t");
                return;
            case '\r':
                text.Append("\\r");
                return;
            case '\n':
                text.Append("\\n");
                return;
            case 0x1b:
                text.Append("\\e");
                return;
        }
        var category = Rune.GetUnicodeCategory(rune);
        if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned)
        {
            if (rune.Value < 0x100)
                text.Append(CultureInfo.InvariantCulture, $"\\x{rune.Value:x2}");
            else
                text.Append(CultureInfo.InvariantCulture, $"\\u{{{rune.Value:x4}}}");
            return;
        }
        text.Append(rune.ToString());
    }
}

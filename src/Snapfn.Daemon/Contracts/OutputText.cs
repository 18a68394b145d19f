using System.Text;

namespace Snapfn.Daemon.Contracts;

/// <summary>A function's output inside JSON: as text when it is UTF-8, otherwise base64 (images, gzip).</summary>
public static class OutputText
{
    private static readonly UTF8Encoding _strictUtf8 = new(false, true);

    public static (string Text, string Encoding) Encode(byte[] output)
    {
        ArgumentNullException.ThrowIfNull(output);
        try
        {
            return (_strictUtf8.GetString(output), "utf-8");
        }
        catch (DecoderFallbackException)
        {
            return (Convert.ToBase64String(output), "base64");
        }
    }

    public static byte[] Decode(string text, string encoding) =>
        encoding == "base64" ? Convert.FromBase64String(text) : Encoding.UTF8.GetBytes(text);
}

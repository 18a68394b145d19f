using System.Text;
using System.Text.Json;

namespace Snapfn.Cli;

/// <summary>Writes a function's output: raw bytes on stdout, or one JSON object per line with --json.</summary>
public static class OutputWriter
{
    private static readonly JsonSerializerOptions _json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // Outputs are shown to people: keep quotes and angle brackets readable instead of \u0022.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
    private static readonly UTF8Encoding _strictUtf8 = new(false, true);

    public static void WriteRaw(byte[] output)
    {
        ArgumentNullException.ThrowIfNull(output);
        using var stdout = Console.OpenStandardOutput();
        stdout.Write(output);
        stdout.Flush();
    }

    /// <summary>Output as text when it is UTF-8, otherwise base64 (images, gzip) with "output_encoding" saying so.</summary>
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

    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, _json));
}

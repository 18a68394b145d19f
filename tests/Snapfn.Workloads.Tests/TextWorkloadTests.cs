using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Snapfn.Platform;

namespace Snapfn.Workloads.Tests;

/// <summary>aes, compression and json, booted on inputs A and B, each output checked by .NET's own implementation.</summary>
public sealed class TextWorkloadTests
{
    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Aes_output_is_the_ctr_ciphertext_that_dotnet_computes(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("aes", set);
        using var output = JsonDocument.Parse(Guests.Run("aes", input));
        var root = output.RootElement;
        Assert.Equal(input.Length, root.GetProperty("bytes").GetInt32());
        Assert.True(root.GetProperty("roundtrip").GetBoolean());
        Assert.Equal(Convert.ToHexStringLower(AesCtr(input)), root.GetProperty("ciphertext").GetString());
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Compression_output_is_one_gzip_member_that_inflates_to_the_input(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("compression", set);
        var output = Guests.Run("compression", input);

        Assert.Equal([0x1f, 0x8b, 0x08], output[..3]);
        Assert.Equal(0, output[3] & 0x08); // FLG.FNAME: no file name
        Assert.Equal(0u, BitConverter.ToUInt32(output, 4)); // MTIME
        Assert.True(output.Length < input.Length, $"{output.Length} bytes of gzip for {input.Length} bytes of text");
        Assert.Equal(Crc32(input), BitConverter.ToUInt32(output, output.Length - 8));
        Assert.Equal((uint)input.Length, BitConverter.ToUInt32(output, output.Length - 4));

        using var gzip = new GZipStream(new MemoryStream(output), CompressionMode.Decompress);
        using var inflated = new MemoryStream();
        gzip.CopyTo(inflated);
        Assert.Equal(input, inflated.ToArray());
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Json_output_is_the_input_compacted(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("json", set);
        var output = Guests.Run("json", input);

        using var expected = JsonDocument.Parse(input);
        using var actual = JsonDocument.Parse(output);
        AssertSameJson(expected.RootElement, actual.RootElement, "$");
        // And byte for byte, WORKLOADS.md's compact form: no whitespace, numbers as written, minimal escapes.
        var compact = new StringBuilder();
        Compact(expected.RootElement, compact);
        Assert.Equal(compact.ToString(), Encoding.UTF8.GetString(output));
    }

    /// <summary>AES-256-CTR per NIST SP 800-38A with key 00..1f and initial counter f0..ff, by .NET's AES.</summary>
    private static byte[] AesCtr(byte[] input)
    {
        using var aes = Aes.Create();
        aes.Key = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];
        var blocks = (input.Length + 15) / 16;
        var counters = new byte[blocks * 16];
        var counter = new UInt128(0xf0f1f2f3f4f5f6f7, 0xf8f9fafbfcfdfeff);
        for (var i = 0; i < blocks; i++)
        {
            var value = counter + (UInt128)i; // wraps modulo 2^128
            for (var b = 0; b < 16; b++)
                counters[i * 16 + b] = (byte)(value >> (8 * (15 - b)));
        }
        var keystream = aes.EncryptEcb(counters, PaddingMode.None);
        var output = new byte[input.Length];
        for (var i = 0; i < input.Length; i++)
            output[i] = (byte)(input[i] ^ keystream[i]);
        return output;
    }

    /// <summary>CRC-32 of RFC 1952 (reflected, polynomial 0xEDB88320), computed here rather than trusted.</summary>
    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>Same tree: kinds, member names and order (duplicates included), strings, and each number's text.</summary>
    private static void AssertSameJson(JsonElement expected, JsonElement actual, string path)
    {
        Assert.True(expected.ValueKind == actual.ValueKind, $"{path}: {actual.ValueKind}, expected {expected.ValueKind}");
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var e = expected.EnumerateObject().ToList();
                var a = actual.EnumerateObject().ToList();
                Assert.True(e.Count == a.Count, $"{path}: {a.Count} members, expected {e.Count}");
                for (var i = 0; i < e.Count; i++)
                {
                    Assert.True(e[i].Name == a[i].Name, $"{path}: member {i} is '{a[i].Name}', expected '{e[i].Name}'");
                    AssertSameJson(e[i].Value, a[i].Value, $"{path}.{e[i].Name}");
                }
                break;
            case JsonValueKind.Array:
                Assert.True(expected.GetArrayLength() == actual.GetArrayLength(), $"{path}: array length");
                for (var i = 0; i < expected.GetArrayLength(); i++)
                    AssertSameJson(expected[i], actual[i], $"{path}[{i}]");
                break;
            case JsonValueKind.String:
                Assert.True(expected.GetString() == actual.GetString(), $"{path}: '{actual.GetString()}', expected '{expected.GetString()}'");
                break;
            case JsonValueKind.Number:
                Assert.True(expected.GetRawText() == actual.GetRawText(), $"{path}: {actual.GetRawText()}, expected {expected.GetRawText()}");
                break;
            default:
                break;
        }
    }

    private static void Compact(JsonElement value, StringBuilder text)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                text.Append('{');
                var firstMember = true;
                foreach (var member in value.EnumerateObject())
                {
                    if (!firstMember)
                        text.Append(',');
                    firstMember = false;
                    CompactString(member.Name, text);
                    text.Append(':');
                    Compact(member.Value, text);
                }
                text.Append('}');
                break;
            case JsonValueKind.Array:
                text.Append('[');
                var firstItem = true;
                foreach (var item in value.EnumerateArray())
                {
                    if (!firstItem)
                        text.Append(',');
                    firstItem = false;
                    Compact(item, text);
                }
                text.Append(']');
                break;
            case JsonValueKind.String:
                CompactString(value.GetString()!, text);
                break;
            default:
                text.Append(value.GetRawText()); // numbers as written; true, false, null
                break;
        }
    }

    private static void CompactString(string s, StringBuilder text)
    {
        text.Append('"');
        foreach (var c in s)
        {
            text.Append(c switch
            {
                '"' => "\\\"",
                '\\' => @"\\",
                '\b' => @"\b",
                '\f' => @"\f",
                '\n' => @"\n",
                '\r' => @"\r",
                '\t' => @"\t",
                < ' ' => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        }
        text.Append('"');
    }
}

using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Snapfn.Platform;

namespace Snapfn.Workloads.Tests.Python;

/// <summary>
/// The Python suite's workloads that need the standard library or a pure-Python package (py-read-list, py-mmap,
/// py-json, py-aes, py-html, py-compression), booted on the C suite's inputs, each output checked here from the
/// input by the rule its guest/functions/py-NAME/README.md gives, never against another run of the function.
/// py-read-list's and py-mmap's inputs A and B are the same (InputTests checks that), so they run once.
/// </summary>
public sealed partial class StdlibWorkloadTests(ITestOutputHelper log)
{
    private const ulong Golden = 0x9e3779b97f4a7c15;
    private const ulong FnvOffset = 0xcbf29ce484222325;
    private const ulong FnvPrime = 0x100000001b3;

    [Fact]
    public void Read_list_checksum_is_the_fnv_fold_of_the_constructed_values()
    {
        Guests.RequireKvm();
        using var output = JsonDocument.Parse(Guests.RunPython("py-read-list", Guests.Input("py-read-list", InputSet.A)));
        const int Elements = 13_421_772;
        const ulong Top = 1UL << 59;
        var h = FnvOffset;
        for (var i = 0UL; i < Elements; i++)
            h = unchecked((h ^ (Top | (i * Golden & (Top - 1)))) * FnvPrime);

        var root = output.RootElement;
        Assert.Equal(Elements, root.GetProperty("elements").GetInt32());
        Assert.Equal(Hex(h), root.GetProperty("checksum").GetString());
        // 32 bytes an int plus the list's 8-byte pointers, which CPython over-allocates by at most an eighth.
        var bytes = root.GetProperty("bytes").GetInt64();
        Assert.InRange(bytes, 40L * Elements + 56, 41L * Elements + 128);
    }

    [Fact]
    public void Mmap_checksum_is_the_fnv_fold_of_one_byte_a_page()
    {
        Guests.RequireKvm();
        var input = Guests.Input("py-mmap", InputSet.A);
        using var parameters = JsonDocument.Parse(input);
        var mib = parameters.RootElement.GetProperty("size_mib").GetInt32();
        using var output = JsonDocument.Parse(Guests.RunPython("py-mmap", input));

        var pages = (ulong)mib * 256;
        var h = FnvOffset;
        for (var p = 0UL; p < pages; p++)
            h = unchecked((h ^ ((((p + 1) * Golden) >> 56) | 1)) * FnvPrime);
        var root = output.RootElement;
        Assert.Equal(mib, root.GetProperty("size_mib").GetInt32());
        Assert.Equal(pages, root.GetProperty("pages").GetUInt64());
        Assert.Equal(Hex(h), root.GetProperty("checksum").GetString());
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Json_output_is_the_input_as_python_dumps_it_compact(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("py-json", set);
        var output = Guests.RunPython("py-json", input);

        using var expected = JsonDocument.Parse(input);
        using var actual = JsonDocument.Parse(output);
        AssertSameValue(expected.RootElement, actual.RootElement, "$");
        // And byte for byte: json.dumps's compact form, numbers as Python's int and float print them.
        var dumped = new StringBuilder();
        PythonDumps(expected.RootElement, dumped);
        Assert.Equal(dumped.ToString(), Encoding.UTF8.GetString(output));
        log.WriteLine($"py-json {set}: {input.Length} bytes in, {output.Length} out");
    }

    [Fact]
    public void Python_float_repr_matches_documented_examples()
    {
        // CPython's repr: the shortest round-tripping digits, positional for exponents -4 < e <= 16.
        Assert.Equal("5000.0", PythonFloatRepr(5e3));
        Assert.Equal("12.05", PythonFloatRepr(12.050));
        Assert.Equal("0.1", PythonFloatRepr(0.1));
        Assert.Equal("0.0001", PythonFloatRepr(1e-4));
        Assert.Equal("1e-05", PythonFloatRepr(1e-5));
        Assert.Equal("-3.7e-12", PythonFloatRepr(-3.7e-12));
        Assert.Equal("1234567890123456.0", PythonFloatRepr(1234567890123456.0));
        Assert.Equal("1e+16", PythonFloatRepr(1e16));
        Assert.Equal("-530000000000000.0", PythonFloatRepr(-5.3e14));
        Assert.Equal("-0.0", PythonFloatRepr(-0.0));
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Aes_output_is_the_ctr_ciphertext_that_dotnet_computes(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("py-aes", set);
        using var output = JsonDocument.Parse(Guests.RunPython("py-aes", input));
        var root = output.RootElement;
        Assert.Equal(input.Length, root.GetProperty("bytes").GetInt32());
        Assert.True(root.GetProperty("roundtrip").GetBoolean());
        Assert.Equal(Convert.ToHexStringLower(AesCtr(input)), root.GetProperty("ciphertext").GetString());
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Html_table_parses_back_to_the_generated_cells(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("py-html", set);
        using var parameters = JsonDocument.Parse(input);
        var rows = parameters.RootElement.GetProperty("rows").GetInt32();
        var cols = parameters.RootElement.GetProperty("cols").GetInt32();
        var seed = parameters.RootElement.GetProperty("seed").GetUInt64();
        var html = Encoding.UTF8.GetString(Guests.RunPython("py-html", input));

        // Parsed back: the title and every row's cells, unescaped.
        var title = TitlePattern().Match(html).Groups[1].Value;
        Assert.Equal(HtmlTitle(rows, cols, seed), WebUtility.HtmlDecode(title));
        var parsed = RowPattern().Matches(html)
            .Select(row => CellPattern().Matches(row.Groups[1].Value).Select(c => WebUtility.HtmlDecode(c.Groups[1].Value)).ToList())
            .ToList();
        Assert.Equal(rows, parsed.Count);
        for (var r = 0; r < rows; r++)
        {
            Assert.Equal(cols, parsed[r].Count);
            for (var c = 0; c < cols; c++)
                Assert.True(HtmlCell(seed, (ulong)r * (ulong)cols + (ulong)c) == parsed[r][c], $"cell ({r}, {c}): '{parsed[r][c]}'");
        }
        // And byte for byte, the layout README.md gives.
        Assert.Equal(HtmlPage(rows, cols, seed), html);
    }

    [Fact]
    public void Html_cells_match_the_documented_example()
    {
        Assert.Equal("NbjlRXX", HtmlCell(1, 0));
        Assert.Equal("xzVr6YFU", HtmlCell(1, 1));
        Assert.Equal("&CzuN5", HtmlCell(1, 3));
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Compression_output_is_one_gzip_member_that_inflates_to_the_input(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("py-compression", set);
        var output = Guests.RunPython("py-compression", input);

        Assert.Equal([0x1f, 0x8b, 0x08], output[..3]);
        Assert.Equal(0, output[3]); // FLG: no name, comment, extra field or header CRC
        Assert.Equal(0u, BitConverter.ToUInt32(output, 4)); // MTIME
        Assert.Equal(2, output[8]); // XFL: the slowest, best compression (level 9)
        Assert.Equal(3, output[9]); // OS: Unix, as zlib writes it
        Assert.True(output.Length < input.Length, $"{output.Length} bytes of gzip for {input.Length} bytes of input");
        Assert.Equal(Crc32(input), BitConverter.ToUInt32(output, output.Length - 8));
        Assert.Equal((uint)input.Length, BitConverter.ToUInt32(output, output.Length - 4));

        using var gzip = new GZipStream(new MemoryStream(output), CompressionMode.Decompress);
        using var inflated = new MemoryStream();
        gzip.CopyTo(inflated);
        Assert.Equal(input, inflated.ToArray());
        log.WriteLine($"py-compression {set}: {input.Length} bytes to {output.Length}");
    }

    private static string Hex(ulong value) => value.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>The members Python's dict keeps: in first-seen order, a repeated name's last value.</summary>
    private static List<(string Name, JsonElement Value)> PythonMembers(JsonElement value)
    {
        var members = new List<(string Name, JsonElement Value)>();
        foreach (var member in value.EnumerateObject())
        {
            var at = members.FindIndex(m => m.Name == member.Name);
            if (at < 0)
                members.Add((member.Name, member.Value));
            else
                members[at] = (member.Name, member.Value);
        }
        return members;
    }

    private static bool IsIntegerLiteral(string number) => number.IndexOfAny(['.', 'e', 'E']) < 0;

    /// <summary>Same value: kinds, member names and order, strings, integers exactly and floats as the same double.</summary>
    private static void AssertSameValue(JsonElement expected, JsonElement actual, string path)
    {
        Assert.True(expected.ValueKind == actual.ValueKind, $"{path}: {actual.ValueKind}, expected {expected.ValueKind}");
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var e = PythonMembers(expected);
                var a = actual.EnumerateObject().ToList();
                Assert.True(e.Count == a.Count, $"{path}: {a.Count} members, expected {e.Count}");
                for (var i = 0; i < e.Count; i++)
                {
                    Assert.True(e[i].Name == a[i].Name, $"{path}: member {i} is '{a[i].Name}', expected '{e[i].Name}'");
                    AssertSameValue(e[i].Value, a[i].Value, $"{path}.{e[i].Name}");
                }
                break;
            case JsonValueKind.Array:
                Assert.True(expected.GetArrayLength() == actual.GetArrayLength(), $"{path}: array length");
                for (var i = 0; i < expected.GetArrayLength(); i++)
                    AssertSameValue(expected[i], actual[i], $"{path}[{i}]");
                break;
            case JsonValueKind.String:
                Assert.True(expected.GetString() == actual.GetString(), $"{path}: '{actual.GetString()}', expected '{expected.GetString()}'");
                break;
            case JsonValueKind.Number:
                var text = expected.GetRawText();
                if (IsIntegerLiteral(text))
                    Assert.True(BigInteger.Parse(text, CultureInfo.InvariantCulture) == BigInteger.Parse(actual.GetRawText(), CultureInfo.InvariantCulture), $"{path}: {actual.GetRawText()}, expected {text}");
                else
                    Assert.True(expected.GetDouble() == actual.GetDouble() && !IsIntegerLiteral(actual.GetRawText()), $"{path}: {actual.GetRawText()}, expected the float {text}");
                break;
            default:
                break;
        }
    }

    /// <summary>json.dumps(value, separators=(",", ":"), ensure_ascii=False) of what json.loads made of the input.</summary>
    private static void PythonDumps(JsonElement value, StringBuilder text)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                text.Append('{');
                var members = PythonMembers(value);
                for (var i = 0; i < members.Count; i++)
                {
                    if (i > 0)
                        text.Append(',');
                    PythonString(members[i].Name, text);
                    text.Append(':');
                    PythonDumps(members[i].Value, text);
                }
                text.Append('}');
                break;
            case JsonValueKind.Array:
                text.Append('[');
                var first = true;
                foreach (var item in value.EnumerateArray())
                {
                    if (!first)
                        text.Append(',');
                    first = false;
                    PythonDumps(item, text);
                }
                text.Append(']');
                break;
            case JsonValueKind.String:
                PythonString(value.GetString()!, text);
                break;
            case JsonValueKind.Number:
                var number = value.GetRawText();
                text.Append(IsIntegerLiteral(number)
                    ? BigInteger.Parse(number, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)
                    : PythonFloatRepr(value.GetDouble()));
                break;
            default:
                text.Append(value.GetRawText()); // true, false, null
                break;
        }
    }

    /// <summary>Python's encoder with ensure_ascii=False: these escapes, lowercase \u00xx below U+0020, all else raw.</summary>
    private static void PythonString(string s, StringBuilder text)
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

    /// <summary>
    /// CPython's repr of a finite float: the fewest significant digits that read back as the same double (the
    /// correctly rounded ones), then positional when the decimal point position d is in -3..16, else d1.ddde±XX.
    /// </summary>
    private static string PythonFloatRepr(double value)
    {
        if (value == 0)
            return double.IsNegative(value) ? "-0.0" : "0.0";
        var magnitude = Math.Abs(value);
        var scientific = "";
        for (var precision = 1; precision <= 17; precision++)
        {
            scientific = magnitude.ToString("E" + (precision - 1).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            if (double.Parse(scientific, CultureInfo.InvariantCulture) == magnitude)
                break;
        }
        var mark = scientific.IndexOf('E', StringComparison.Ordinal);
        var digits = scientific[..mark].Replace(".", "", StringComparison.Ordinal).TrimEnd('0');
        var point = int.Parse(scientific[(mark + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) + 1;
        string text;
        if (point <= -4 || point > 16)
        {
            var exponent = point - 1;
            text = digits[..1] + (digits.Length > 1 ? "." + digits[1..] : "") + (exponent < 0 ? "e-" : "e+") +
                Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
        }
        else if (point <= 0)
            text = "0." + new string('0', -point) + digits;
        else if (point >= digits.Length)
            text = digits + new string('0', point - digits.Length) + ".0";
        else
            text = digits[..point] + "." + digits[point..];
        return value < 0 ? "-" + text : text;
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

    private const string HtmlAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 &<>\"'";

    /// <summary>py-html's cell <paramref name="index"/> (row·cols + column): v = mix64(seed·1000003 + index); 1 + v>>61
    /// characters, character k = ALPHABET[(byte k of v, least significant first) % 68].</summary>
    private static string HtmlCell(ulong seed, ulong index)
    {
        var v = SpecRng.Mix64(unchecked(seed * 1000003 + index));
        var length = 1 + (int)(v >> 61);
        var text = new StringBuilder(length);
        for (var k = 0; k < length; k++)
            text.Append(HtmlAlphabet[(int)((v >> (8 * k)) & 0xff) % HtmlAlphabet.Length]);
        return text.ToString();
    }

    private static string HtmlTitle(int rows, int cols, ulong seed) =>
        string.Create(CultureInfo.InvariantCulture, $"Snapfn table: {rows} rows & {cols} columns, seed {seed}");

    private static string HtmlPage(int rows, int cols, ulong seed)
    {
        var html = new StringBuilder("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>");
        html.Append(HtmlEscape(HtmlTitle(rows, cols, seed))).Append("</title>\n</head>\n<body>\n<table>");
        for (var r = 0; r < rows; r++)
        {
            html.Append("\n<tr>");
            for (var c = 0; c < cols; c++)
                html.Append("\n<td>").Append(HtmlEscape(HtmlCell(seed, (ulong)r * (ulong)cols + (ulong)c))).Append("</td>");
            html.Append("\n</tr>");
        }
        return html.Append("\n</table>\n</body>\n</html>\n").ToString();
    }

    /// <summary>Chameleon's escaping of text content: &amp;, &lt; and &gt;; quotes stay as they are.</summary>
    private static string HtmlEscape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal);

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

    [GeneratedRegex("<title>(.*)</title>")]
    private static partial Regex TitlePattern();

    [GeneratedRegex("<tr>(.*?)\n</tr>", RegexOptions.Singleline)]
    private static partial Regex RowPattern();

    [GeneratedRegex("<td>(.*?)</td>")]
    private static partial Regex CellPattern();
}

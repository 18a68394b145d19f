using System.Text;
using System.Text.Json;
using Snapfn.Platform;
using Snapfn.Workloads.Tests.Verifiers;

namespace Snapfn.Workloads.Tests.Python;

/// <summary>
/// The Python suite's workloads that need the standard library or a pure-Python package (py-read-list, py-mmap,
/// py-json, py-aes, py-html, py-compression), booted on the C suite's inputs, each output checked here from the
/// input by the rule its guest/functions/py-NAME/README.md gives, never against another run of the function.
/// py-read-list's and py-mmap's inputs A and B are the same (InputTests checks that), so they run once.
/// </summary>
public sealed class StdlibWorkloadTests(ITestOutputHelper log)
{
    [Fact]
    public void Read_list_checksum_is_the_fnv_fold_of_the_constructed_values()
    {
        Guests.RequireKvm();
        Guests.SkipOnSoftCpu("py-read-list's init() builds its fixed list of 13 421 772 ints and every request walks it in Python (over 5 minutes there)");
        using var output = JsonDocument.Parse(Guests.RunScript("py-read-list", Guests.Input("py-read-list", InputSet.A)));
        const int Elements = 13_421_772;
        const ulong Top = 1UL << 59;
        var h = WordChecksum.Start;
        for (var i = 0UL; i < Elements; i++)
            h = WordChecksum.Fold(h, Top | (unchecked(i * SpecRng.Golden) & (Top - 1)));

        var root = output.RootElement;
        Assert.Equal(Elements, root.GetProperty("elements").GetInt32());
        Assert.Equal(WordChecksum.Hex(h), root.GetProperty("checksum").GetString());
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
        using var output = JsonDocument.Parse(Guests.RunScript("py-mmap", input));

        var pages = (ulong)mib * 256;
        var h = WordChecksum.Start;
        for (var p = 0UL; p < pages; p++)
            h = WordChecksum.Fold(h, (unchecked((p + 1) * SpecRng.Golden) >> 56) | 1);
        var root = output.RootElement;
        Assert.Equal(mib, root.GetProperty("size_mib").GetInt32());
        Assert.Equal(pages, root.GetProperty("pages").GetUInt64());
        Assert.Equal(WordChecksum.Hex(h), root.GetProperty("checksum").GetString());
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Json_output_is_the_input_as_python_dumps_it_compact(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("py-json", set);
        var output = Guests.RunScript("py-json", input);

        using var expected = JsonDocument.Parse(input);
        using var actual = JsonDocument.Parse(output);
        PythonJson.Rules.AssertSameValue(expected.RootElement, actual.RootElement);
        // And byte for byte: json.dumps's compact form, numbers as Python's int and float print them.
        Assert.Equal(PythonJson.Rules.Compact(expected.RootElement), Encoding.UTF8.GetString(output));
        log.WriteLine($"py-json {set}: {input.Length} bytes in, {output.Length} out");
    }

    [Fact]
    public void Python_float_repr_matches_documented_examples()
    {
        // CPython's repr: the shortest round-tripping digits, positional for exponents -4 < e <= 16.
        Assert.Equal("5000.0", PythonJson.FloatRepr(5e3));
        Assert.Equal("12.05", PythonJson.FloatRepr(12.050));
        Assert.Equal("0.1", PythonJson.FloatRepr(0.1));
        Assert.Equal("0.0001", PythonJson.FloatRepr(1e-4));
        Assert.Equal("1e-05", PythonJson.FloatRepr(1e-5));
        Assert.Equal("-3.7e-12", PythonJson.FloatRepr(-3.7e-12));
        Assert.Equal("1234567890123456.0", PythonJson.FloatRepr(1234567890123456.0));
        Assert.Equal("1e+16", PythonJson.FloatRepr(1e16));
        Assert.Equal("-530000000000000.0", PythonJson.FloatRepr(-5.3e14));
        Assert.Equal("-0.0", PythonJson.FloatRepr(-0.0));
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Aes_output_is_the_ctr_ciphertext_that_dotnet_computes(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("py-aes", set);
        AesReference.AssertReport(input, Guests.RunScript("py-aes", input));
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
        var html = Encoding.UTF8.GetString(Guests.RunScript("py-html", input));

        // The C suite's title and layout (README.md), with py-html's own cells and escaping.
        HtmlTable.AssertPage(html, HtmlTable.Title(rows, cols, seed), rows, cols,
            (r, c) => HtmlCell(seed, (ulong)r * (ulong)cols + (ulong)c), ChameleonEscape);
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
        var output = Guests.RunScript("py-compression", input);

        GzipMember.AssertIsOneMemberOf(output, input);
        Assert.Equal(0, output[3]); // FLG: no name, comment, extra field or header CRC
        Assert.Equal(2, output[8]); // XFL: the slowest, best compression (level 9)
        Assert.Equal(3, output[9]); // OS: Unix, as zlib writes it
        log.WriteLine($"py-compression {set}: {input.Length} bytes to {output.Length}");
    }

    /// <summary>py-html's cell <paramref name="index"/> (row·cols + column): v = mix64(seed·1000003 + index); 1 + v>>61
    /// characters, character k = ALPHABET[(byte k of v, least significant first) % 68].</summary>
    private static string HtmlCell(ulong seed, ulong index)
    {
        var v = SpecRng.Mix64(unchecked(seed * 1000003 + index));
        var length = 1 + (int)(v >> 61);
        var text = new StringBuilder(length);
        for (var k = 0; k < length; k++)
            text.Append(HtmlTable.Alphabet[(int)((v >> (8 * k)) & 0xff) % HtmlTable.Alphabet.Length]);
        return text.ToString();
    }

    /// <summary>Chameleon's escaping of text content: &amp;, &lt; and &gt;; quotes stay as they are.</summary>
    private static string ChameleonEscape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal);
}

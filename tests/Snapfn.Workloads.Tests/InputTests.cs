using System.Text.Json;
using Snapfn.Platform;

namespace Snapfn.Workloads.Tests;

/// <summary>The C# input generators: deterministic, of the sizes in WORKLOADS.md's table, in the formats the guests read.</summary>
public sealed class InputTests
{
    public static TheoryData<string> Workloads { get; } =
        ["read-list", "mmap", "json", "aes", "html", "matmul", "pagerank", "compression", "image", "video", "recognition"];

    private static readonly Dictionary<string, Func<InputSet, byte[]>> _generators = new()
    {
        ["read-list"] = ParameterInputs.ReadList,
        ["mmap"] = ParameterInputs.Mmap,
        ["json"] = JsonDocumentInputs.Json,
        ["aes"] = TextInputs.Aes,
        ["html"] = ParameterInputs.Html,
        ["matmul"] = ParameterInputs.Matmul,
        ["pagerank"] = ParameterInputs.Pagerank,
        ["compression"] = set => set == InputSet.A ? TextInputs.CompressionA() : JsonDocumentInputs.Json(InputSet.B),
        ["image"] = JpegInputs.Image,
        ["video"] = MotionJpegInputs.Video,
        ["recognition"] = JpegInputs.Recognition,
    };

    /// <summary>The generators themselves, called twice: <see cref="WorkloadInputs.Get"/> caches, so only a direct
    /// call can show a generator that is not deterministic. Which generator serves which function is checked
    /// against independent facts (the committed files, the sizes and picture formats of the table) below, not
    /// against this table.</summary>
    [Theory]
    [MemberData(nameof(Workloads))]
    public void Every_call_makes_the_same_bytes(string function)
    {
        foreach (var set in new[] { InputSet.A, InputSet.B })
            Assert.Equal(_generators[function](set), _generators[function](set));
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void A_python_function_takes_the_inputs_of_its_C_function(string function)
    {
        Assert.Contains(WorkloadInputs.PythonPrefix + function, WorkloadInputs.Functions);
        foreach (var set in new[] { InputSet.A, InputSet.B })
            Assert.Equal(WorkloadInputs.Get(Guests.Catalog, function, set), WorkloadInputs.Get(Guests.Catalog, WorkloadInputs.PythonPrefix + function, set));
    }

    [Fact]
    public void Inputs_are_fresh_arrays_that_callers_may_change()
    {
        var input = WorkloadInputs.Get(Guests.Catalog, "json", InputSet.A);
        input[0] ^= 0xFF;
        Assert.NotEqual(input, WorkloadInputs.Get(Guests.Catalog, "json", InputSet.A));
    }

    [Fact]
    public void Every_workload_and_the_inline_test_guests_have_inputs()
    {
        foreach (var function in Workloads.Select(row => row.Data).Append("hello-world").Append("touch"))
            Assert.True(WorkloadInputs.Has(Guests.Catalog, function), function);
        Assert.False(WorkloadInputs.Has(Guests.Catalog, "echo"));
        var e = Assert.Throws<ArgumentException>(() => WorkloadInputs.Get(Guests.Catalog, "echo", InputSet.A));
        Assert.Contains("--input", e.Message);
    }

    [Theory]
    [InlineData("read-list", false)]
    [InlineData("mmap", false)]
    [InlineData("json", true)]
    [InlineData("aes", true)]
    [InlineData("html", true)]
    [InlineData("matmul", true)]
    [InlineData("pagerank", true)]
    [InlineData("compression", true)]
    [InlineData("image", true)]
    [InlineData("video", true)]
    [InlineData("recognition", true)]
    public void Inputs_A_and_B_differ_where_the_paper_has_two(string function, bool differ)
    {
        var a = WorkloadInputs.Get(Guests.Catalog, function, InputSet.A);
        var b = WorkloadInputs.Get(Guests.Catalog, function, InputSet.B);
        Assert.Equal(differ, !a.AsSpan().SequenceEqual(b));
    }

    /// <summary>The text and JSON generators are ports of make_inputs.py: the committed files must not drift from them.</summary>
    [Theory]
    [InlineData("json", InputSet.A, "a.json")]
    [InlineData("json", InputSet.B, "b.json")]
    [InlineData("aes", InputSet.A, "a.txt")]
    [InlineData("aes", InputSet.B, "b.txt")]
    [InlineData("compression", InputSet.A, "a.txt")]
    [InlineData("compression", InputSet.B, "b.json")]
    [InlineData("html", InputSet.A, "a.json")]
    [InlineData("html", InputSet.B, "b.json")]
    [InlineData("matmul", InputSet.B, "b.json")]
    [InlineData("pagerank", InputSet.B, "b.json")]
    [InlineData("mmap", InputSet.A, "a.json")]
    [InlineData("read-list", InputSet.A, "a.json")]
    public void Text_inputs_equal_the_files_of_the_native_tests(string function, InputSet set, string file)
    {
        var path = Path.Combine(Guests.Directory, "..", "functions", function, "inputs", file);
        Assert.Equal(File.ReadAllBytes(path), WorkloadInputs.Get(Guests.Catalog, function, set));
    }

    [Theory]
    [InlineData("json", InputSet.A, 13355, true)]
    [InlineData("json", InputSet.B, 148291, true)]
    [InlineData("aes", InputSet.A, 20000, false)]
    [InlineData("aes", InputSet.B, 22000, false)]
    [InlineData("compression", InputSet.A, 13000, false)]
    [InlineData("compression", InputSet.B, 148291, true)]
    public void Text_inputs_have_the_sizes_of_the_table(string function, InputSet set, int bytes, bool json)
    {
        var input = WorkloadInputs.Get(Guests.Catalog, function, set);
        Assert.Equal(bytes, input.Length);
        Assert.True(input.All(b => b is >= 0x20 and < 0x7F or (byte)'\n') || json, "plain ASCII text");
        if (json)
            JsonDocument.Parse(input).Dispose();
    }

    /// <summary>Sizes within 3% of the table's (ImageSharp is not the encoder that made the paper-sized files).</summary>
    [Theory]
    [InlineData("image", InputSet.A, 104691, 1024, 768)]
    [InlineData("image", InputSet.B, 107079, 1024, 768)]
    [InlineData("recognition", InputSet.A, 61781, 640, 480)]
    [InlineData("recognition", InputSet.B, 83113, 800, 600)]
    public void Jpeg_inputs_are_baseline_colour_4_2_0_of_the_tables_size(string function, InputSet set, int bytes, int width, int height)
    {
        var input = WorkloadInputs.Get(Guests.Catalog, function, set);
        Assert.InRange(input.Length, bytes * 0.97, bytes * 1.03);
        AssertColourJpeg(input, width, height);
    }

    [Theory]
    [InlineData(InputSet.A, 346544)]
    [InlineData(InputSet.B, 390695)]
    public void Video_inputs_are_thirty_colour_frames_of_640_by_480(InputSet set, int bytes)
    {
        var input = WorkloadInputs.Get(Guests.Catalog, "video", set);
        Assert.InRange(input.Length, bytes * 0.97, bytes * 1.03);
        var frames = JpegFile.Frames(input);
        Assert.Equal(MotionJpegInputs.Frames, frames.Count);
        Assert.All(frames, frame => AssertColourJpeg(frame, MotionJpegInputs.Width, MotionJpegInputs.Height));
        Assert.Equal(frames.Count, frames.Distinct(new BytesComparer()).Count());
    }

    private static void AssertColourJpeg(byte[] jpeg, int width, int height)
    {
        var header = JpegFile.Header(jpeg);
        Assert.Equal(0xC0, header.Sof);
        Assert.Equal((width, height), (header.Width, header.Height));
        Assert.Equal([(2, 2), (1, 1), (1, 1)], header.Components.Select(c => (c.H, c.V)));
    }

    private sealed class BytesComparer : IEqualityComparer<byte[]>
    {
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => obj.Length;
    }
}

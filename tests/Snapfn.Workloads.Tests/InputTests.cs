using System.Security.Cryptography;
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

    [Theory]
    [InlineData("hello-world")]
    [InlineData("json")]
    public void A_node_function_takes_the_inputs_of_its_C_function_and_has_a_folder(string function)
    {
        Assert.Contains(WorkloadInputs.NodePrefix + function, WorkloadInputs.Functions);
        foreach (var set in new[] { InputSet.A, InputSet.B })
            Assert.Equal(WorkloadInputs.Get(Guests.Catalog, function, set), WorkloadInputs.Get(Guests.Catalog, WorkloadInputs.NodePrefix + function, set));
        var node = Guests.Catalog.Get(WorkloadInputs.NodePrefix + function);
        Assert.Equal(FunctionRuntime.Script, node.Runtime);
        Assert.Equal(ScriptRuntime.Node, ScriptFunction.Language(node.CodePath));
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

    /// <summary>
    /// Inputs A and B as the recordings were made with (their provenance hashes depend on the bytes): pinned when
    /// the generators took size parameters for the drift ladders, so a change to a generator that moves A or B
    /// fails here. The JPEGs are ImageSharp's encoding on the x86-64 (AVX2) they were pinned on; its SIMD paths
    /// could round a coefficient differently on another kind of CPU, and then the recordings made here would not
    /// match there either.
    /// </summary>
    [Theory]
    [InlineData("read-list", InputSet.A, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("read-list", InputSet.B, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("mmap", InputSet.A, 16, "eafeca0d162a720dcbc8c5cee8fdede651e65a0eeabbb835e127a8771a0c47ff")]
    [InlineData("mmap", InputSet.B, 16, "eafeca0d162a720dcbc8c5cee8fdede651e65a0eeabbb835e127a8771a0c47ff")]
    [InlineData("json", InputSet.A, 13355, "8c1c4c2c22a6e22112ef9d2fa84808d289b2520b167b212ae709770a0989c511")]
    [InlineData("json", InputSet.B, 148291, "900a2b7a79cd7c26135fa6c788103bbf98f8464a305693971198fa6e4f5bcaf4")]
    [InlineData("aes", InputSet.A, 20000, "3cb12d6e2cf72587f3ed1e5efc00564fceeac8584c9d818143d23dc32cfa7c8f")]
    [InlineData("aes", InputSet.B, 22000, "3d3d80f50bb41d313a03f8e3bc424c2ae5e0279de5654a91f06c8a7d78e3afdb")]
    [InlineData("html", InputSet.A, 32, "868b51810cf3e51864502d68edfecf10a470121ae9db2c7f10b291f5e2c42165")]
    [InlineData("html", InputSet.B, 32, "a1a35659b3470bbe84127eac3a8fd3ee9f4222bbaecc274238fa568a83cabc5b")]
    [InlineData("matmul", InputSet.A, 19, "ef09b2e241a72004ca5b8bdf8181b0d2cc7fcf49531595921ac85d941e9a87e9")]
    [InlineData("matmul", InputSet.B, 19, "fbf8db64bfcd5122cc9b93a381d2e8db5c1647ae9021a33600b593b92513a569")]
    [InlineData("pagerank", InputSet.A, 20, "10c720bb442d3b47bd68ea4791e77ca8b2030687244b1f5843115766118057fe")]
    [InlineData("pagerank", InputSet.B, 21, "1104ec4750432a852a3d441643428cb16a5480a92e0799cd8185d71c6f3af779")]
    [InlineData("compression", InputSet.A, 13000, "134f46bd37898f8a9ddf07a880dee8d04bc7699c2c4a2c3313dfc56fe6733e90")]
    [InlineData("compression", InputSet.B, 148291, "900a2b7a79cd7c26135fa6c788103bbf98f8464a305693971198fa6e4f5bcaf4")]
    [InlineData("image", InputSet.A, 105449, "e42ff2afa6e98779f564c648a89dd8f6b5e3b2d7ade85dd254e2b664be26ea80")]
    [InlineData("image", InputSet.B, 105915, "8a284e4d3199e4f7cb09d40bce35601cead984be0d51f27c8f9d3ec0384a16e5")]
    [InlineData("video", InputSet.A, 343756, "3323ff309d1e59c14a5a60f7dc6e3dbcb2d70e043231bddfb1d2bd85e5fdc0b7")]
    [InlineData("video", InputSet.B, 391517, "e691f86a320dbddc3ad81b127b002ab56ce249a36abb4145e55c24a7bbaa50d7")]
    [InlineData("recognition", InputSet.A, 61872, "0b2fec4df463243f4190929029c6fd5306309df9953bceb88910f3433b7f2fb4")]
    [InlineData("recognition", InputSet.B, 83427, "e9dfd4b3fd5779cf2e35d578df9ccb70c22efea89bad39b905cfcd291ac2803b")]
    public void Inputs_A_and_B_are_the_bytes_the_recordings_were_made_with(string function, InputSet set, int length, string sha256)
    {
        var input = WorkloadInputs.Get(Guests.Catalog, function, set);
        Assert.Equal(length, input.Length);
        Assert.Equal(sha256, Convert.ToHexStringLower(SHA256.HashData(input)));
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

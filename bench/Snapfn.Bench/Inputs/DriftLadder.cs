using System.Globalization;
using Snapfn.Platform;

namespace Snapfn.Bench.Inputs;

/// <summary>
/// The inputs of the working-set-change experiment (E2, "drift"): per function whose input size can vary, six
/// inputs of growing size and a seventh of the third's size drawn from another seed. The experiment records with
/// the third and tests all seven. The FaaSnap artifact's ladders (its test-6inputs.json) span ×15 to ×16 in
/// four ×2 steps (json 200 KB … 3 MB, image 100 KB … 1.6 MB, matmul n = 500 … 2000, i.e. ×16 in cells,
/// pagerank 25 k … 400 k nodes); these keep its spans over five steps of about ×1.74 (16^(1/5)), rounded, and
/// give the other functions spans of ×16 from starts like the artifact's (WORKLOADS.md has the same table):
/// <code>
/// function     unit    the six sizes (the third is recorded)               content, seeds (sizes / other)
/// json         bytes   200 K, 350 K, 600 K, 1 M, 1.75 M, 3 M               JSON document, 13 / 14
/// compression  bytes   100 K, 175 K, 300 K, 530 K, 920 K, 1.6 M            JSON document, 33 / 34
/// aes          bytes   5 000, 8 700, 15 000, 26 000, 46 000, 80 000        text, 23 / 24
/// html         rows    100, 175, 300, 530, 920, 1 600, of 100 columns      parameters, 3 / 4
/// matmul       n       500, 660, 870, 1 150, 1 520, 2 000                  parameters, 3 / 4
/// pagerank     nodes   25 k, 44 k, 76 k, 130 k, 230 k, 400 k               parameters, 2 / 3
/// image        bytes   100 K, 175 K, 300 K, 530 K, 920 K, 1.6 M, nominal   town scene 1024×768 … 4096×3072, 7 / 9
/// recognition  bytes   image's pictures, as in the artifact                the same
/// video        frames  8, 14, 24, 42, 72, 128 of 640×480 (97 KB … 1.4 MB)  input A's pan and quality, 9 / 20
/// </code>
/// Tolerances: a document ends less than 1 KB past its size; a picture is within 3% of its nominal size; the
/// other-content picture and clip are within 3% of the recorded rung's length (their seeds were picked, once,
/// as the nearest to it among 8 … 24). The largest rungs stay far inside the guests' limits (32 MiB buffers,
/// 2 GiB of memory, html's 4 M cells, the JPEG decoder's 64 M pixels). read-list, mmap and the test guests take
/// no input whose size matters: no ladder. A Python function py-NAME takes NAME's ladder, as it takes NAME's
/// inputs A and B.
/// </summary>
public static class DriftLadder
{
    /// <summary>The growing sizes of a ladder; the other-content rung comes after them.</summary>
    public const int Sizes = 6;

    /// <summary>The index of the rung the experiment records with (and whose size the last rung repeats).</summary>
    public const int Recorded = 2;

    /// <summary>image's pictures: 4:3, ×16 in pixels from input A's 1024×768 (×1.32 a side), and a quality that
    /// rises with the size so that the bytes grow ×16 too (a smooth scene in more pixels compresses better).</summary>
    private static readonly (int Width, int Height, int Quality)[] _pictures =
        [(1024, 768, 77), (1344, 1008, 85), (1824, 1368, 89), (2368, 1776, 93), (3136, 2352, 95), (4096, 3072, 98)];

    // One ladder for both: recognition takes image's pictures, as in the artifact, and they are rendered once.
    private static readonly Ladder _pictureLadder = new("bytes", [100_000, 175_000, 300_000, 530_000, 920_000, 1_600_000], 7, 9,
        (rung, seed) => JpegInputs.Still(_pictures[rung].Width, _pictures[rung].Height, seed, _pictures[rung].Quality));

    private static readonly Dictionary<string, Ladder> _ladders = new(StringComparer.Ordinal)
    {
        ["json"] = Ladder.OfSizes("bytes", [200_000, 350_000, 600_000, 1_000_000, 1_750_000, 3_000_000], 13, 14, JsonDocumentInputs.Json),
        ["compression"] = Ladder.OfSizes("bytes", [100_000, 175_000, 300_000, 530_000, 920_000, 1_600_000], 33, 34, JsonDocumentInputs.Json),
        ["aes"] = Ladder.OfSizes("bytes", [5_000, 8_700, 15_000, 26_000, 46_000, 80_000], 23, 24, TextInputs.Ascii),
        ["html"] = Ladder.OfSizes("rows", [100, 175, 300, 530, 920, 1_600], 3, 4, (rows, seed) => ParameterInputs.Html(rows, 100, seed)),
        ["matmul"] = Ladder.OfSizes("n", [500, 660, 870, 1_150, 1_520, 2_000], 3, 4, ParameterInputs.Matmul),
        ["pagerank"] = Ladder.OfSizes("nodes", [25_000, 44_000, 76_000, 130_000, 230_000, 400_000], 2, 3, ParameterInputs.Pagerank),
        ["image"] = _pictureLadder,
        ["recognition"] = _pictureLadder,
        ["video"] = Ladder.OfSizes("frames", [8, 14, 24, 42, 72, 128], 9, 20, MotionJpegInputs.Clip),
    };

    /// <summary>The functions with a ladder, C and Python (py-NAME), in name order.</summary>
    public static IReadOnlyList<string> Functions { get; } =
        [.. _ladders.Keys.SelectMany(name => new[] { name, WorkloadInputs.PythonPrefix + name }).Order(StringComparer.Ordinal)];

    /// <summary>Whether <paramref name="function"/> (or py-NAME) has a ladder: whether its input size can vary.</summary>
    public static bool Has(string function)
    {
        ArgumentNullException.ThrowIfNull(function);
        return _ladders.ContainsKey(WorkloadInputs.Source(function));
    }

    /// <summary>
    /// The seven rungs of <paramref name="function"/>'s ladder in order: the six sizes, smallest first (the one at
    /// <see cref="Recorded"/> marked <see cref="DriftRung.IsRecorded"/>), then the recorded size with other
    /// content. Each rung's bytes are made on first use, kept, and the same on every call; py-NAME shares NAME's.
    /// </summary>
    public static IReadOnlyList<DriftRung> For(FunctionCatalog catalog, string function)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(function);
        if (!_ladders.TryGetValue(WorkloadInputs.Source(function), out var ladder))
            throw new ArgumentException($"function '{function}' has no input ladder (functions with one: {string.Join(", ", Functions)}); read-list, mmap and the test guests take no input whose size can vary");
        var rungs = new List<DriftRung>(Sizes + 1);
        for (var i = 0; i <= Sizes; i++)
        {
            var other = i == Sizes;
            var size = ladder.Sizes[other ? Recorded : i];
            var label = $"{function} {ladder.Describe(size)}{(other ? " (other content)" : "")}";
            rungs.Add(new DriftRung(label, size, ladder.Unit, i == Recorded, other, ladder.Bytes(i)));
        }
        return rungs;
    }

    /// <summary>A ladder's sizes and its rungs' bytes, each made on first use from its size (or rung) and seed.</summary>
    private sealed class Ladder
    {
        private readonly Lazy<byte[]>[] _bytes;

        /// <param name="make">Rung i's input, for i among the six sizes, from a seed.</param>
        public Ladder(string unit, int[] sizes, ulong seed, ulong otherSeed, Func<int, ulong, byte[]> make)
        {
            Unit = unit;
            Sizes = sizes;
            _bytes = [.. Enumerable.Range(0, DriftLadder.Sizes + 1)
                .Select(i => new Lazy<byte[]>(() => i < DriftLadder.Sizes ? make(i, seed) : make(Recorded, otherSeed)))];
        }

        public string Unit { get; }

        public int[] Sizes { get; }

        /// <summary>A ladder whose input is made from the size itself.</summary>
        public static Ladder OfSizes(string unit, int[] sizes, ulong seed, ulong otherSeed, Func<int, ulong, byte[]> make) =>
            new(unit, sizes, seed, otherSeed, (rung, s) => make(sizes[rung], s));

        public Lazy<byte[]> Bytes(int rung) => _bytes[rung];

        public string Describe(int size) => Unit switch
        {
            "bytes" when size >= 1_000_000 => Invariant($"{size / 1e6:0.##} MB"),
            "bytes" => Invariant($"{size / 1e3:0.#} KB"),
            "n" => Invariant($"n={size}"),
            "nodes" => Invariant($"{size / 1e3:0.#}k nodes"),
            _ => Invariant($"{size} {Unit}"),
        };

        private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
    }
}

using System.Globalization;
using System.Text;

namespace Snapfn.Bench.Inputs;

/// <summary>
/// The functions whose input is a small JSON object of parameters (WORKLOADS.md gives their ranges): the work is
/// made inside the guest from these, so A and B differ in size or seed. read-list takes no input.
/// </summary>
public static class ParameterInputs
{
    public static byte[] ReadList(InputSet set) => [];

    /// <summary>Both 512 MiB: the paper's mmap test is the same request twice.</summary>
    public static byte[] Mmap(InputSet set) => Utf8("""{"size_mib":512}""");

    public static byte[] Html(InputSet set) => set == InputSet.A ? Html(300, 100, 1) : Html(400, 100, 2);

    /// <summary><c>{"rows":R,"cols":C,"seed":S}</c>: a table of R·C cells.</summary>
    public static byte[] Html(int rows, int cols, ulong seed) => Utf8(Invariant($$"""{"rows":{{rows}},"cols":{{cols}},"seed":{{seed}}}"""));

    public static byte[] Matmul(InputSet set) => set == InputSet.A ? Matmul(2000, 1) : Matmul(2200, 2);

    /// <summary><c>{"n":N,"seed":S}</c>: two N×N matrices.</summary>
    public static byte[] Matmul(int n, ulong seed) => Utf8(Invariant($$"""{"n":{{n}},"seed":{{seed}}}"""));

    public static byte[] Pagerank(InputSet set) => set == InputSet.A ? Pagerank(90000, 1) : Pagerank(100000, 1);

    /// <summary><c>{"n":N,"seed":S}</c>: a graph of N nodes.</summary>
    public static byte[] Pagerank(int n, ulong seed) => Utf8(Invariant($$"""{"n":{{n}},"seed":{{seed}}}"""));

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

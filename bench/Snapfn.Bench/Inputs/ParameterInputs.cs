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

    public static byte[] Html(InputSet set) =>
        Utf8(set == InputSet.A ? """{"rows":300,"cols":100,"seed":1}""" : """{"rows":400,"cols":100,"seed":2}""");

    public static byte[] Matmul(InputSet set) =>
        Utf8(set == InputSet.A ? """{"n":2000,"seed":1}""" : """{"n":2200,"seed":2}""");

    public static byte[] Pagerank(InputSet set) =>
        Utf8(set == InputSet.A ? """{"n":90000,"seed":1}""" : """{"n":100000,"seed":1}""");

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}

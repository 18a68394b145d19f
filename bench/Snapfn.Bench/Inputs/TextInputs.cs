using System.Text;

namespace Snapfn.Bench.Inputs;

/// <summary>
/// Pseudo-English text (sentences of words from a serverless vocabulary, with punctuation and line breaks), the
/// input of aes (A 20 000 bytes, B 22 000) and of compression A (13 000 bytes). A port of text() in
/// guest/tests/workloads/make_inputs.py, draw for draw, so its bytes equal the files committed for the native
/// tests.
/// </summary>
public static class TextInputs
{
    private static readonly string[] _words =
        ("the of and to in is was that for on with as by at from snapshot memory page fault guest kernel "
         + "function request cold start warm cache disk working set loading region record restore virtual "
         + "machine serverless latency throughput invocation sandbox firecracker userfaultfd mincore").Split(' ');

    private static readonly string[] _endings = [". ", ". ", ", ", "! ", "? ", ".\n"];

    public static byte[] Aes(InputSet set) => set == InputSet.A ? Ascii(20000, 21) : Ascii(22000, 22);

    /// <summary>Compression's input A; its input B is json's input B (JsonDocumentInputs).</summary>
    public static byte[] CompressionA() => Ascii(13000, 31);

    /// <summary>Exactly <paramref name="length"/> bytes of text drawn from <paramref name="seed"/>.</summary>
    public static byte[] Ascii(int length, ulong seed) => Encoding.ASCII.GetBytes(Text(new XorShift64Star(seed), length));

    /// <summary>Exactly <paramref name="length"/> ASCII characters: whole sentences, the last one cut.</summary>
    internal static string Text(XorShift64Star rng, int length)
    {
        var text = new StringBuilder(length + 200);
        while (text.Length < length)
        {
            var count = 4 + rng.Below(12);
            for (var i = 0; i < count; i++)
            {
                var word = rng.Pick(_words);
                if (i > 0)
                    text.Append(' ');
                text.Append(i == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : word);
            }
            text.Append(rng.Pick(_endings));
        }
        return text.ToString(0, length);
    }
}

namespace Snapfn.Bench.Inputs;

/// <summary>
/// One input of a function's <see cref="DriftLadder"/>: one of its six growing sizes, or the extra rung of the
/// recorded size with other content.
/// </summary>
public sealed class DriftRung
{
    private readonly Lazy<byte[]> _bytes;

    internal DriftRung(string label, double size, string unit, bool isRecorded, bool otherContent, Lazy<byte[]> bytes)
    {
        Label = label;
        Size = size;
        Unit = unit;
        IsRecorded = isRecorded;
        OtherContent = otherContent;
        _bytes = bytes;
    }

    /// <summary>The function and the size, e.g. "json 600 KB", "matmul n=870", "html 300 rows (other content)".</summary>
    public string Label { get; }

    /// <summary>
    /// The size in <see cref="Unit"/>, for a chart's x axis. For the generated documents and pictures it is the
    /// nominal size: the input's length is within the tolerance <see cref="DriftLadder"/> states.
    /// </summary>
    public double Size { get; }

    /// <summary>"bytes", "n" (matmul's matrix order), "nodes", "rows" (of 100 cells) or "frames".</summary>
    public string Unit { get; }

    /// <summary>The third rung, the one the experiment records with.</summary>
    public bool IsRecorded { get; }

    /// <summary>The extra rung: the recorded rung's size, drawn from another seed.</summary>
    public bool OtherContent { get; }

    /// <summary>
    /// The input: a new array on every get (callers may change it), the same bytes on every call. Made on the first
    /// get and kept, as <see cref="WorkloadInputs"/> keeps its inputs: a picture takes a second to render.
    /// </summary>
    public byte[] Bytes => [.. _bytes.Value];

    public override string ToString() => Label;
}

namespace Snapfn.Vmm;

/// <summary>Which of a guest's output streams some bytes came from.</summary>
public enum GuestOutputKind
{
    /// <summary>A Linux program's standard output (a Python function's print): a byte stream, split into lines by the reader.</summary>
    Stdout,

    /// <summary>A Linux program's standard error (a traceback): a byte stream.</summary>
    Stderr,

    /// <summary>A C-runtime guest's LOG hypercall: each write is one whole line.</summary>
    Log,
}

namespace Snapfn.Vmm;

/// <summary>
/// Names the privileged instruction at a crashed guest's RIP, for the crash report. A guest has no IDT, so the #GP
/// that `out`, `hlt` or `cli` raise at CPL 3 ends as a triple fault, whose registers still point at the faulting
/// instruction; "the program executed a privileged I/O instruction" says more than "triple fault".
/// </summary>
public static class PrivilegedInstruction
{
    private const int MaxPrefixes = 14;

    /// <summary>A description such as "a privileged I/O instruction (out)", or null when the bytes at RIP are not a
    /// privileged instruction (or cannot be read).</summary>
    public static string? Describe(ReadOnlySpan<byte> code)
    {
        var i = 0;
        // Legacy prefixes (operand/address size, segment, lock, rep) and REX, as they may precede in/out/ins/outs.
        while (i < code.Length && i < MaxPrefixes && code[i] is 0x66 or 0x67 or 0xf0 or 0xf2 or 0xf3 or 0x26 or 0x2e or 0x36 or 0x3e or 0x64 or 0x65
                   or (>= 0x40 and <= 0x4f))
            i++;
        if (i >= code.Length)
            return null;
        return code[i] switch
        {
            0xe6 or 0xe7 or 0xee or 0xef => "a privileged I/O instruction (out)",
            0xe4 or 0xe5 or 0xec or 0xed => "a privileged I/O instruction (in)",
            0x6c or 0x6d => "a privileged I/O instruction (ins)",
            0x6e or 0x6f => "a privileged I/O instruction (outs)",
            0xf4 => "a privileged instruction (hlt)",
            0xfa => "a privileged instruction (cli)",
            0xfb => "a privileged instruction (sti)",
            _ => null,
        };
    }
}

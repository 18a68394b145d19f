using System.Globalization;

namespace Snapfn.Workloads.Tests.Verifiers;

/// <summary>
/// WORKLOADS.md's read-list checksum, FNV-1a over 64-bit words (py-read-list and py-mmap fold their words the same
/// way), and the 16 lowercase hex digits every parameter function prints a 64-bit checksum as.
/// </summary>
public static class WordChecksum
{
    public const ulong Start = 0xcbf29ce484222325;

    public static ulong Fold(ulong h, ulong word) => unchecked((h ^ word) * 0x100000001b3);

    public static string Hex(ulong value) => value.ToString("x16", CultureInfo.InvariantCulture);
}

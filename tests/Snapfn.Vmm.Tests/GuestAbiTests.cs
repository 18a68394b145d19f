using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Snapfn.Vmm.Tests;

/// <summary>The C header the guests are built with and <see cref="GuestAbi"/> must say the same thing.</summary>
public sealed class GuestAbiTests
{
    [Fact]
    public void Csharp_abi_matches_snapfn_abi_h()
    {
        var header = System.IO.Path.GetFullPath(System.IO.Path.Combine(Guests.Directory, "..", "runtime", "include"));
        var expected = new Dictionary<string, ulong>
        {
            ["SNAPFN_ABI_MAGIC"] = GuestAbi.Magic,
            ["SNAPFN_ABI_VERSION"] = GuestAbi.Version,
            ["SNAPFN_MAILBOX_ADDR"] = GuestAbi.MailboxAddress,
            ["SNAPFN_ELF_BASE"] = GuestAbi.ElfBase,
            ["SNAPFN_HC_PORT"] = GuestAbi.HypercallPort,
            ["SNAPFN_HC_LOG"] = (ulong)Hypercall.Log,
            ["SNAPFN_HC_READY"] = (ulong)Hypercall.Ready,
            ["SNAPFN_HC_RESULT"] = (ulong)Hypercall.Result,
            ["SNAPFN_HC_ABORT"] = (ulong)Hypercall.Abort,
            ["SNAPFN_HC_DISCARD"] = (ulong)Hypercall.Discard,
            ["sizeof(struct snapfn_mailbox)"] = (ulong)Marshal.SizeOf<Mailbox>(),
        };
        foreach (var (c, cs) in new[]
                 {
                     ("magic", "Magic"), ("memory_size", "MemorySize"), ("input_addr", "InputAddress"),
                     ("output_capacity", "OutputCapacity"), ("heap_start", "HeapStart"), ("heap_end", "HeapEnd"),
                     ("arg0", "Arg0"), ("arg1", "Arg1"), ("input_length", "InputLength"),
                 })
            expected[$"offsetof(struct snapfn_mailbox, {c})"] = (ulong)Marshal.OffsetOf<Mailbox>(cs);

        var dir = Directory.CreateTempSubdirectory("snapfn-abi-");
        try
        {
            var source = "#include <stdio.h>\n#include <stddef.h>\n#include \"snapfn_abi.h\"\nint main(void) {\n" +
                string.Concat(expected.Keys.Select(k => $"    printf(\"%s\\t%llu\\n\", \"{k}\", (unsigned long long)({k}));\n")) +
                "    return 0;\n}\n";
            File.WriteAllText(System.IO.Path.Combine(dir.FullName, "abi.c"), source);
            Run("gcc", $"-I{header} -o {dir.FullName}/abi {dir.FullName}/abi.c");
            var actual = Run($"{dir.FullName}/abi", "").Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split('\t')).ToDictionary(p => p[0], p => ulong.Parse(p[1], CultureInfo.InvariantCulture));
            Assert.Equal(expected.OrderBy(p => p.Key), actual.OrderBy(p => p.Key));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private static string Run(string program, string arguments)
    {
        using var p = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, error);
        return output;
    }
}

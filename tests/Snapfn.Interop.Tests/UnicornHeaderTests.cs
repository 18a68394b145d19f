using System.Runtime.InteropServices;
using Snapfn.Interop;

namespace Snapfn.Interop.Tests;

/// <summary>
/// Compiles a C program against Unicorn's headers and checks every constant and struct layout the software vCPU's
/// binding declares: a wrong register number reads another register, silently.
/// </summary>
public sealed class UnicornHeaderTests
{
    private const string Header = "/usr/include/unicorn/unicorn.h";
    private static readonly Lazy<Dictionary<string, ulong>> _native = new(CompileAndRun);

    public static TheoryData<string, ulong> Values => new()
    {
        { "UC_ARCH_X86", Unicorn.UC_ARCH_X86 },
        { "UC_MODE_64", Unicorn.UC_MODE_64 },
        { "UC_PROT_ALL", Unicorn.UC_PROT_ALL },
        { "UC_HOOK_INTR", Unicorn.UC_HOOK_INTR },
        { "UC_HOOK_INSN", Unicorn.UC_HOOK_INSN },
        { "UC_HOOK_MEM_UNMAPPED", Unicorn.UC_HOOK_MEM_UNMAPPED },
        { "UC_HOOK_INSN_INVALID", Unicorn.UC_HOOK_INSN_INVALID },
        { "UC_X86_INS_IN", Unicorn.UC_X86_INS_IN },
        { "UC_X86_INS_OUT", Unicorn.UC_X86_INS_OUT },
        { "UC_X86_INS_SYSCALL", Unicorn.UC_X86_INS_SYSCALL },
        { "UC_X86_INS_CPUID", Unicorn.UC_X86_INS_CPUID },
        { "UC_ERR_OK", Unicorn.UC_ERR_OK },
        { "UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0)", Unicorn.UC_CTL_TB_FLUSH_WRITE },
        { "UC_X86_REG_RAX", Unicorn.UC_X86_REG_RAX },
        { "UC_X86_REG_RBX", Unicorn.UC_X86_REG_RBX },
        { "UC_X86_REG_RCX", Unicorn.UC_X86_REG_RCX },
        { "UC_X86_REG_RDX", Unicorn.UC_X86_REG_RDX },
        { "UC_X86_REG_RSI", Unicorn.UC_X86_REG_RSI },
        { "UC_X86_REG_RDI", Unicorn.UC_X86_REG_RDI },
        { "UC_X86_REG_RSP", Unicorn.UC_X86_REG_RSP },
        { "UC_X86_REG_RBP", Unicorn.UC_X86_REG_RBP },
        { "UC_X86_REG_R8", Unicorn.UC_X86_REG_R8 },
        { "UC_X86_REG_R15", Unicorn.UC_X86_REG_R8 + 7 },
        { "UC_X86_REG_RIP", Unicorn.UC_X86_REG_RIP },
        { "UC_X86_REG_RFLAGS", Unicorn.UC_X86_REG_RFLAGS },
        { "UC_X86_REG_CS", Unicorn.UC_X86_REG_CS },
        { "UC_X86_REG_SS", Unicorn.UC_X86_REG_SS },
        { "UC_X86_REG_DS", Unicorn.UC_X86_REG_DS },
        { "UC_X86_REG_ES", Unicorn.UC_X86_REG_ES },
        { "UC_X86_REG_FS", Unicorn.UC_X86_REG_FS },
        { "UC_X86_REG_GS", Unicorn.UC_X86_REG_GS },
        { "UC_X86_REG_CR0", Unicorn.UC_X86_REG_CR0 },
        { "UC_X86_REG_CR2", Unicorn.UC_X86_REG_CR2 },
        { "UC_X86_REG_CR3", Unicorn.UC_X86_REG_CR3 },
        { "UC_X86_REG_CR4", Unicorn.UC_X86_REG_CR4 },
        { "UC_X86_REG_IDTR", Unicorn.UC_X86_REG_IDTR },
        { "UC_X86_REG_GDTR", Unicorn.UC_X86_REG_GDTR },
        { "UC_X86_REG_LDTR", Unicorn.UC_X86_REG_LDTR },
        { "UC_X86_REG_TR", Unicorn.UC_X86_REG_TR },
        { "UC_X86_REG_FPCW", Unicorn.UC_X86_REG_FPCW },
        { "UC_X86_REG_FPSW", Unicorn.UC_X86_REG_FPSW },
        { "UC_X86_REG_FPTAG", Unicorn.UC_X86_REG_FPTAG },
        { "UC_X86_REG_FP0", Unicorn.UC_X86_REG_FP0 },
        { "UC_X86_REG_FP7", Unicorn.UC_X86_REG_FP0 + 7 },
        { "UC_X86_REG_XMM0", Unicorn.UC_X86_REG_XMM0 },
        { "UC_X86_REG_XMM15", Unicorn.UC_X86_REG_XMM0 + 15 },
        { "UC_X86_REG_MSR", Unicorn.UC_X86_REG_MSR },
        { "UC_X86_REG_MXCSR", Unicorn.UC_X86_REG_MXCSR },
        { "UC_X86_REG_FS_BASE", Unicorn.UC_X86_REG_FS_BASE },
        { "UC_X86_REG_GS_BASE", Unicorn.UC_X86_REG_GS_BASE },
        { "sizeof(uc_x86_mmr)", Size<Unicorn.uc_x86_mmr>() },
        { "offsetof(uc_x86_mmr, base)", Offset<Unicorn.uc_x86_mmr>("base") },
        { "offsetof(uc_x86_mmr, limit)", Offset<Unicorn.uc_x86_mmr>("limit") },
        { "offsetof(uc_x86_mmr, flags)", Offset<Unicorn.uc_x86_mmr>("flags") },
        { "sizeof(uc_x86_msr)", Size<Unicorn.uc_x86_msr>() },
        { "offsetof(uc_x86_msr, value)", Offset<Unicorn.uc_x86_msr>("value") },
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void Matches_unicorns_header(string expression, ulong value)
    {
        if (!File.Exists(Header))
            Assert.Skip($"{Header} is missing: scripts/softcpu-deps installs it (Debian package libunicorn-dev)");
        Assert.Equal(_native.Value[expression], value);
    }

    private static unsafe ulong Size<T>() where T : unmanaged => (ulong)sizeof(T);

    private static ulong Offset<T>(string field) => (ulong)Marshal.OffsetOf<T>(field);

    private static Dictionary<string, ulong> CompileAndRun() => Snapfn.Tests.HeaderProbe.Evaluate("""
                #include <unicorn/unicorn.h>
                #include <stddef.h>
                #include <stdio.h>
        """, Values.Select(row => (string)row.Data.Item1));
}

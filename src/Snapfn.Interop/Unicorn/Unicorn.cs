using System.Runtime.InteropServices;

namespace Snapfn.Interop;

/// <summary>
/// The few entry points of the Unicorn CPU emulator (Debian's libunicorn2, QEMU's x86-64 TCG with a C API) that the
/// software vCPU uses. Values are those of unicorn/unicorn.h and unicorn/x86.h of Unicorn 2.0.
/// </summary>
public static unsafe class Unicorn
{
    public const string Library = "libunicorn.so.2";

    public const int UC_ARCH_X86 = 4;
    public const int UC_MODE_64 = 8;
    public const int UC_PROT_ALL = 7;

    public const int UC_HOOK_INTR = 1;
    public const int UC_HOOK_INSN = 2;
    public const int UC_HOOK_BLOCK = 8;
    public const int UC_HOOK_MEM_UNMAPPED = 112;
    public const int UC_HOOK_INSN_INVALID = 16384;

    public const int UC_X86_INS_IN = 218;
    public const int UC_X86_INS_OUT = 500;
    public const int UC_X86_INS_SYSCALL = 699;
    public const int UC_X86_INS_CPUID = 113;

    public const int UC_ERR_OK = 0;

    /// <summary>UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0): drops every translated block.</summary>
    public const int UC_CTL_TB_FLUSH_WRITE = 10 | (1 << 30);

    public const int UC_X86_REG_RAX = 35, UC_X86_REG_RBX = 37, UC_X86_REG_RCX = 38, UC_X86_REG_RDX = 40;
    public const int UC_X86_REG_RSI = 43, UC_X86_REG_RDI = 39, UC_X86_REG_RSP = 44, UC_X86_REG_RBP = 36;
    public const int UC_X86_REG_R8 = 106; // R8..R15 are consecutive
    public const int UC_X86_REG_RIP = 41;
    public const int UC_X86_REG_RFLAGS = 253;
    public const int UC_X86_REG_CS = 11, UC_X86_REG_SS = 49, UC_X86_REG_DS = 17, UC_X86_REG_ES = 28;
    public const int UC_X86_REG_FS = 32, UC_X86_REG_GS = 33;
    public const int UC_X86_REG_CR0 = 50, UC_X86_REG_CR2 = 52, UC_X86_REG_CR3 = 53, UC_X86_REG_CR4 = 54;
    public const int UC_X86_REG_IDTR = 242, UC_X86_REG_GDTR = 243, UC_X86_REG_LDTR = 244, UC_X86_REG_TR = 245;
    public const int UC_X86_REG_FPCW = 246, UC_X86_REG_FPSW = 31, UC_X86_REG_FPTAG = 247;
    public const int UC_X86_REG_FP0 = 82; // FP0..FP7 are consecutive: the physical x87 registers
    public const int UC_X86_REG_XMM0 = 122; // XMM0..XMM15 are consecutive
    public const int UC_X86_REG_MSR = 248;
    public const int UC_X86_REG_MXCSR = 249;
    public const int UC_X86_REG_FS_BASE = 250, UC_X86_REG_GS_BASE = 251;

    /// <summary>uc_x86_mmr: a descriptor-table or segment register.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct uc_x86_mmr
    {
        public ushort selector;
        public ulong @base;
        public uint limit;
        public uint flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct uc_x86_msr
    {
        public uint rid;
        public ulong value;
    }

    [DllImport(Library)]
    public static extern int uc_open(int arch, int mode, out nint uc);

    [DllImport(Library)]
    public static extern int uc_close(nint uc);

    [DllImport(Library)]
    public static extern int uc_mem_map_ptr(nint uc, ulong address, nuint size, uint perms, void* ptr);

    [DllImport(Library)]
    public static extern int uc_reg_read(nint uc, int regid, void* value);

    [DllImport(Library)]
    public static extern int uc_reg_write(nint uc, int regid, void* value);

    [DllImport(Library)]
    public static extern int uc_reg_read_batch(nint uc, int* regs, void** values, int count);

    [DllImport(Library)]
    public static extern int uc_reg_write_batch(nint uc, int* regs, void** values, int count);

    [DllImport(Library)]
    public static extern int uc_emu_start(nint uc, ulong begin, ulong until, ulong timeout, nuint count);

    [DllImport(Library)]
    public static extern int uc_emu_stop(nint uc);

    /// <summary>uc_hook_add for hooks that take no extra argument (interrupts, unmapped memory, invalid instructions).</summary>
    [DllImport(Library, EntryPoint = "uc_hook_add")]
    public static extern int uc_hook_add(nint uc, out nuint hook, int type, void* callback, nint userData, ulong begin, ulong end);

    /// <summary>uc_hook_add for UC_HOOK_INSN, whose variadic argument is the instruction (passed as a fixed one: on
    /// x86-64 an integer vararg travels exactly like a fixed argument).</summary>
    [DllImport(Library, EntryPoint = "uc_hook_add")]
    public static extern int uc_hook_add_insn(nint uc, out nuint hook, int type, void* callback, nint userData, ulong begin, ulong end, int instruction);

    [DllImport(Library)]
    public static extern int uc_ctl(nint uc, int control);

    [DllImport(Library)]
    public static extern nint uc_strerror(int error);

    public static string ErrorText(int error) => Marshal.PtrToStringUTF8(uc_strerror(error)) ?? $"error {error}";

    /// <summary>Throws when <paramref name="error"/> is not UC_ERR_OK.</summary>
    public static void Check(int error, string operation)
    {
        if (error != UC_ERR_OK)
            throw new SyscallException($"{operation} failed in the software CPU (Unicorn): {ErrorText(error)}");
    }

    /// <summary>Whether libunicorn can be loaded; <paramref name="reason"/> says what to install when not.</summary>
    public static bool IsLoadable(out string reason)
    {
        if (NativeLibrary.TryLoad(Library, out var handle))
        {
            NativeLibrary.Free(handle);
            reason = "";
            return true;
        }
        reason = $"{Library} is not installed: run scripts/softcpu-deps (Debian package libunicorn2)";
        return false;
    }
}

namespace Snapfn.Vmm.Tests;

public sealed class PrivilegedInstructionTests
{
    [Theory]
    [InlineData(new byte[] { 0xef }, "a privileged I/O instruction (out)")]             // out dx, eax (the hypercall)
    [InlineData(new byte[] { 0xe7, 0xf0 }, "a privileged I/O instruction (out)")]       // out 0xf0, eax (the stub)
    [InlineData(new byte[] { 0x66, 0xef }, "a privileged I/O instruction (out)")]       // out dx, ax
    [InlineData(new byte[] { 0xec }, "a privileged I/O instruction (in)")]
    [InlineData(new byte[] { 0xf3, 0x6e }, "a privileged I/O instruction (outs)")]      // rep outsb
    [InlineData(new byte[] { 0xf4 }, "a privileged instruction (hlt)")]
    [InlineData(new byte[] { 0xfa }, "a privileged instruction (cli)")]
    public void Privileged_instructions_are_named(byte[] code, string expected) =>
        Assert.Equal(expected, PrivilegedInstruction.Describe(code));

    [Theory]
    [InlineData(new byte[] { 0x0f, 0x0b })]        // ud2
    [InlineData(new byte[] { 0x48, 0x89, 0x07 })]  // mov [rdi], rax
    [InlineData(new byte[] { 0x66, 0x66 })]        // prefixes only
    [InlineData(new byte[0])]
    public void Other_code_is_not(byte[] code) => Assert.Null(PrivilegedInstruction.Describe(code));
}

using Snapfn.Platform;

namespace Snapfn.Daemon.Tests;

/// <summary>User functions made the way a user makes them (the `snapfn new` template, `snapfn build`), some with
/// their handler replaced to fail in one specific way.</summary>
public static class TestFunctions
{
    public const string CrashingHandler = """
        #include <snapfn.h>
        void snapfn_init(void) {}
        size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
        {
            (void)in; (void)in_len; (void)out; (void)out_cap;
            __builtin_trap();
        }
        """;

    public const string SpinningHandler = """
        #include <snapfn.h>
        void snapfn_init(void) {}
        size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
        {
            (void)in; (void)in_len; (void)out; (void)out_cap;
            for (volatile uint64_t i = 0;; i++) {}
        }
        """;

    public const string AbortingHandler = """
        #include <snapfn.h>
        void snapfn_init(void) {}
        size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
        {
            (void)out; (void)out_cap;
            snapfn_abort("refusing %zu bytes of input", in_len);
            (void)in;
        }
        """;

    /// <summary>Creates NAME from the template under <paramref name="root"/> (optionally with another main.c) and builds it.</summary>
    public static (FunctionProject Project, byte[] Elf) Build(string root, string name, string? mainC = null)
    {
        var project = FunctionProject.Create(Path.Combine(root, name), name, GuestSdk.Default());
        if (mainC is not null)
            File.WriteAllText(Path.Combine(project.Directory, "main.c"), mainC);
        var build = FunctionBuilder.Build(project, GuestSdk.Default());
        return (project, File.ReadAllBytes(build.ElfPath));
    }
}

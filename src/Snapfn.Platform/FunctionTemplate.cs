namespace Snapfn.Platform;

/// <summary>The files of a new function folder (see <see cref="FunctionProject.Create"/>).</summary>
public static class FunctionTemplate
{
    public static string MainC(string name) => $$"""
        /* {{name}}: a Snapfn function.
         *
         * snapfn_init() runs once, before the snapshot is taken: do the expensive set-up there (tables, models),
         * and every invocation starts with it done. snapfn_handle() runs once per request.
         * snapfn.h lists everything the runtime offers (there is no libc); sdk/include holds a copy to read.
         *
         * Build: `snapfn build .` (or `make`). Register: `snapfn deploy .`. Then `snapfn snapshot {{name}}` and
         * `snapfn invoke {{name}} --input-text '{"name":"Ada"}'`. */
        #include <snapfn.h>

        static char greeting[32];

        void snapfn_init(void)
        {
            snprintf(greeting, sizeof greeting, "Hello");
        }

        size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
        {
            char name[128];
            if (!snapfn_json_get(in, in_len, "name", name, sizeof name))
                snprintf(name, sizeof name, "world");
            int n = snprintf((char *)out, out_cap, "%s, %s! (from {{name}})", greeting, name);
            if (n < 0)
                snapfn_abort("formatting the greeting failed");
            return (size_t)n < out_cap ? (size_t)n : out_cap;
        }

        """;

    /// <summary>A Makefile that builds the folder through the SDK's Makefile, so the flags live in one place.</summary>
    public static string Makefile(string sdkRoot) => $"""
        # Builds this function against the Snapfn guest SDK (same flags and runtime as the built-in functions).
        # Equivalent to `snapfn build .`. SNAPFN_SDK is the guest/ folder of a Snapfn checkout.
        SNAPFN_SDK ?= {sdkRoot}
        NAME := $(shell sed -n 's/.*"name": *"\([^"]*\)".*/\1/p' snapfn.json)

        all:
        	$(MAKE) -C $(SNAPFN_SDK) user-function USER_DIR=$(CURDIR) USER_ELF=$(CURDIR)/build/$(NAME).elf

        clean:
        	rm -rf build

        .PHONY: all clean

        """;
}

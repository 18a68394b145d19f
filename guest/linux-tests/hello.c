/* hello: the process start-up a Linux program expects, seen from inside the guest.
 * Run as `/tests/hello-static a b` (or -dynamic, -pie) with SNAPFN_TEST=1 in the environment. */
#include "lt.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;
extern char _start[];

static _Thread_local int tls_counter = 41;

static void check_auxv(char **argv)
{
    unsigned long pagesz = getauxval(AT_PAGESZ);
    lt_check("auxv-pagesz", pagesz == 4096, "AT_PAGESZ = %lu", pagesz);

    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    if (lt_check("auxv-random", rnd != NULL, "AT_RANDOM missing")) {
        unsigned or = 0;
        for (int i = 0; i < 16; i++)
            or |= rnd[i];
        lt_check("auxv-random-bytes", or != 0, "the 16 AT_RANDOM bytes are all zero");
    }

    const char *execfn = (const char *)getauxval(AT_EXECFN);
    lt_check("auxv-execfn", execfn != NULL && strcmp(execfn, argv[0]) == 0, "AT_EXECFN = %s, argv[0] = %s",
             execfn ? execfn : "(missing)", argv[0]);

    errno = 0;
    unsigned long secure = getauxval(AT_SECURE);
    lt_check("auxv-secure", secure == 0 && errno == 0, "AT_SECURE = %lu (%s)", secure, errno ? "missing" : "present");
    unsigned long hwcap = getauxval(AT_HWCAP);
    lt_check("auxv-hwcap", hwcap != 0, "AT_HWCAP = 0");

    unsigned long ehdr = getauxval(AT_SYSINFO_EHDR);
    lt_check("auxv-sysinfo-ehdr", ehdr == 0x100000, "AT_SYSINFO_EHDR = 0x%lx, want 0x100000", ehdr);
    if (ehdr) {
        lt_check("vdso-elf-magic", memcmp((const void *)ehdr, ELFMAG, SELFMAG) == 0, "no ELF header at 0x%lx", ehdr);
        lt_check("vdso-clock-gettime", lt_vdso_sym("__vdso_clock_gettime") != NULL,
                 "__vdso_clock_gettime@LINUX_2.6 not found");
    }

    /* What ld.so and static glibc's start-up read: the program headers and the entry point. */
    const Elf64_Phdr *phdr = (const Elf64_Phdr *)getauxval(AT_PHDR);
    unsigned long phent = getauxval(AT_PHENT), phnum = getauxval(AT_PHNUM);
    bool has_load = false;
    for (unsigned long i = 0; phdr && phent == sizeof(Elf64_Phdr) && i < phnum; i++)
        has_load |= phdr[i].p_type == PT_LOAD;
    lt_check("auxv-phdr", phdr && phent == sizeof(Elf64_Phdr) && phnum > 0 && has_load,
             "AT_PHDR %p, AT_PHENT %lu, AT_PHNUM %lu, PT_LOAD %s", (const void *)phdr, phent, phnum,
             has_load ? "found" : "not found");
    unsigned long entry = getauxval(AT_ENTRY);
    lt_check("auxv-entry", entry == (unsigned long)_start, "AT_ENTRY 0x%lx, _start %p", entry, (void *)_start);
    unsigned long base = getauxval(AT_BASE);
    if (strcmp(LT_VARIANT, "static") == 0)
        lt_check("auxv-base", base == 0, "AT_BASE 0x%lx for a static program", base);
    else
        lt_check("auxv-base", base != 0, "AT_BASE is 0 for a dynamic program (the interpreter's address)");

    lt_check("auxv-ids",
             getauxval(AT_UID) == (unsigned long)syscall(SYS_getuid) &&
                 getauxval(AT_EUID) == (unsigned long)syscall(SYS_geteuid) &&
                 getauxval(AT_GID) == (unsigned long)syscall(SYS_getgid) &&
                 getauxval(AT_EGID) == (unsigned long)syscall(SYS_getegid),
             "AT_UID %lu AT_EUID %lu AT_GID %lu AT_EGID %lu, getuid %ld geteuid %ld getgid %ld getegid %ld",
             getauxval(AT_UID), getauxval(AT_EUID), getauxval(AT_GID), getauxval(AT_EGID), syscall(SYS_getuid),
             syscall(SYS_geteuid), syscall(SYS_getgid), syscall(SYS_getegid));
}

/* The initial stack: argc, argv[], NULL, envp[], NULL, then the auxiliary vector (pairs up to AT_NULL). */
static void check_stack_layout(int argc, char **argv, char **envp)
{
    lt_check("envp-follows-argv", envp == argv + argc + 1, "argv %p, argc %d, envp %p", (void *)argv, argc,
             (void *)envp);
    char **e = envp;
    while (*e)
        e++;
    const unsigned long *aux = (const unsigned long *)(e + 1);
    unsigned long pagesz = 0;
    int pairs = 0;
    for (; aux[0] != AT_NULL && pairs < 256; aux += 2, pairs++)
        if (aux[0] == AT_PAGESZ)
            pagesz = aux[1];
    lt_check("auxv-follows-envp", aux[0] == AT_NULL && pagesz == 4096 && pairs > 5,
             "%d pairs after envp, AT_PAGESZ there = %lu", pairs, pagesz);
}

int main(int argc, char **argv, char **envp)
{
    lt_init();
    printf("hello from %s\n", argv[0]);

    lt_check("argc", argc == 3, "argc = %d, want 3 (run as %s a b)", argc, argv[0]);
    lt_check("argv", argc == 3 && strcmp(argv[1], "a") == 0 && strcmp(argv[2], "b") == 0 && argv[argc] == NULL,
             "argv[1..] = %s %s", argc > 1 ? argv[1] : "(none)", argc > 2 ? argv[2] : "(none)");
    lt_check("argv0-absolute", argv[0][0] == '/', "argv[0] = %s", argv[0]);

    bool found = false;
    for (char **e = envp; *e; e++)
        found |= strcmp(*e, "SNAPFN_TEST=1") == 0;
    lt_check("envp", found, "SNAPFN_TEST=1 is not in envp");
    const char *v = getenv("SNAPFN_TEST");
    lt_check("getenv", v && strcmp(v, "1") == 0, "getenv(\"SNAPFN_TEST\") = %s", v ? v : "(null)");
    lt_check("environ", environ == envp, "environ %p, envp %p", (void *)environ, (void *)envp);
    check_stack_layout(argc, argv, envp);

    check_auxv(argv);

    errno = 12345;
    lt_check("errno-tls", errno == 12345, "errno read back %d", errno);
    tls_counter++;
    lt_check("thread-local", tls_counter == 42, "thread-local counter %d, want 42", tls_counter);
    errno = 0;
    long r = close(-1);
    lt_check("errno-from-syscall", r == -1 && errno == EBADF, "close(-1) = %ld, errno %s", r, lt_errname(errno));

    return lt_finish();
}

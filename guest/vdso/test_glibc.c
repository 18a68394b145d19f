/* vdso-glibc-run [--shift] VDSO PROGRAM [ARGS...]: runs a Linux program on the host with build/vdso.so as its
 * vDSO, to show that glibc (static start-up, and ld.so for dynamic programs) accepts the image and calls it.
 *
 * A small ELF loader: the vDSO's bytes at 0x100000 and a data page at 0x110000 (filled from the host clocks,
 * then made read-only), the program's PT_LOAD segments (and its PT_INTERP's) copied into fresh memory, a new
 * stack with argv, envp and an auxiliary vector whose AT_SYSINFO_EHDR is 0x100000, and a jump to the entry
 * point. System calls go to the host kernel as usual. The process is pinned to one CPU, as a guest has one.
 * Exits with the program's status; 3 if it cannot be loaded. */
#define _GNU_SOURCE
#include "snapfn_vdso.h"
#include "test_glibc.h"
#include "test_page.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096UL
#define STACK_SIZE (8UL << 20)

extern char **environ;

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vdso-glibc-run: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(3);
}

static uintptr_t page_down(uintptr_t v)
{
    return v & ~(PAGE - 1);
}

static uintptr_t page_up(uintptr_t v)
{
    return (v + PAGE - 1) & ~(PAGE - 1);
}

struct loaded {
    uintptr_t bias;  /* load address - link address (0 for ET_EXEC) */
    uintptr_t entry; /* with bias */
    uintptr_t phdr;  /* the program headers in memory */
    unsigned phnum;
    char interp[256];
};

/* Copies an ELF's PT_LOAD segments into one fresh anonymous range (at their addresses for ET_EXEC, anywhere
 * for ET_DYN), each then given its segment's protection. */
static void load_elf(const char *path, struct loaded *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("%s: %s", path, strerror(errno));
    Elf64_Ehdr eh;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_machine != EM_X86_64 || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
        eh.e_phentsize != sizeof(Elf64_Phdr))
        die("%s: not an x86-64 executable", path);
    Elf64_Phdr ph[64];
    size_t ph_bytes = eh.e_phnum * sizeof ph[0];
    if (eh.e_phnum > 64 || pread(fd, ph, ph_bytes, (off_t)eh.e_phoff) != (ssize_t)ph_bytes)
        die("%s: cannot read the program headers", path);

    uintptr_t lo = UINTPTR_MAX, hi = 0;
    out->interp[0] = '\0';
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD) {
            if (page_down(ph[i].p_vaddr) < lo)
                lo = page_down(ph[i].p_vaddr);
            if (page_up(ph[i].p_vaddr + ph[i].p_memsz) > hi)
                hi = page_up(ph[i].p_vaddr + ph[i].p_memsz);
        } else if (ph[i].p_type == PT_INTERP) {
            if (ph[i].p_filesz >= sizeof out->interp ||
                pread(fd, out->interp, ph[i].p_filesz, (off_t)ph[i].p_offset) != (ssize_t)ph[i].p_filesz)
                die("%s: bad PT_INTERP", path);
            out->interp[ph[i].p_filesz] = '\0';
        }
    }
    if (lo >= hi)
        die("%s: no PT_LOAD", path);
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | (eh.e_type == ET_EXEC ? MAP_FIXED_NOREPLACE : 0);
    void *at = mmap(eh.e_type == ET_EXEC ? (void *)lo : NULL, hi - lo, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (at == MAP_FAILED || (eh.e_type == ET_EXEC && at != (void *)lo))
        die("%s: cannot map 0x%lx..0x%lx: %s", path, (unsigned long)lo, (unsigned long)hi, strerror(errno));
    out->bias = (uintptr_t)at - lo;

    out->phdr = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        uintptr_t dst = ph[i].p_vaddr + out->bias;
        if (pread(fd, (void *)dst, ph[i].p_filesz, (off_t)ph[i].p_offset) != (ssize_t)ph[i].p_filesz)
            die("%s: short read of a segment", path);
        if (eh.e_phoff >= ph[i].p_offset && eh.e_phoff < ph[i].p_offset + ph[i].p_filesz)
            out->phdr = dst + (eh.e_phoff - ph[i].p_offset);
    }
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        int prot = (ph[i].p_flags & PF_R ? PROT_READ : 0) | (ph[i].p_flags & PF_W ? PROT_WRITE : 0) |
                   (ph[i].p_flags & PF_X ? PROT_EXEC : 0);
        uintptr_t start = page_down(ph[i].p_vaddr + out->bias);
        if (mprotect((void *)start, page_up(ph[i].p_vaddr + out->bias + ph[i].p_memsz) - start, prot) != 0)
            die("%s: mprotect: %s", path, strerror(errno));
    }
    if (!out->phdr)
        die("%s: the program headers are not in a loaded segment", path);
    out->entry = eh.e_entry + out->bias;
    out->phnum = eh.e_phnum;
    close(fd);
}

static void map_vdso(const char *path, bool shift)
{
    void *image = mmap((void *)SNAPFN_VDSO_BASE, SNAPFN_VDSO_MAX_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    void *page = mmap((void *)SNAPFN_VDSO_DATA_ADDR, PAGE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (image != (void *)SNAPFN_VDSO_BASE || page != (void *)SNAPFN_VDSO_DATA_ADDR)
        die("cannot map 0x100000..0x111000: %s", strerror(errno));
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: %s", path, strerror(errno));
    size_t n = fread(image, 1, SNAPFN_VDSO_MAX_SIZE, f);
    fclose(f);
    if (n == 0)
        die("%s: empty", path);
    test_fill_page(page, test_calibrate(), shift ? TEST_GLIBC_MONOTONIC_SHIFT_S * 1000000000LL : 0,
                   shift ? TEST_GLIBC_REALTIME_SHIFT_S * 1000000000LL : 0);
    /* As in the guest: the program can execute the image and read the page, and write neither. */
    if (mprotect(image, SNAPFN_VDSO_MAX_SIZE, PROT_READ | PROT_EXEC) != 0 || mprotect(page, PAGE, PROT_READ) != 0)
        die("mprotect: %s", strerror(errno));
}

static void pin_to_one_cpu(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &set)) {
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            sched_setaffinity(0, sizeof set, &set);
            return;
        }
    }
}

int main(int argc, char **argv)
{
    bool shift = argc > 1 && strcmp(argv[1], "--shift") == 0;
    int first = shift ? 2 : 1;
    if (argc - first < 2) {
        fprintf(stderr, "usage: vdso-glibc-run [--shift] VDSO PROGRAM [ARGS...]\n");
        return 2;
    }
    const char *program = argv[first + 1];
    int prog_argc = argc - first - 1;
    char **prog_argv = argv + first + 1;

    map_vdso(argv[first], shift);
    struct loaded exe, interp;
    load_elf(program, &exe);
    uintptr_t start = exe.entry, base = 0;
    if (exe.interp[0]) {
        load_elf(exe.interp, &interp);
        start = interp.entry;
        base = interp.bias;
    }
    pin_to_one_cpu();

    /* The initial stack, from the top: strings, AT_RANDOM's bytes, then (16-byte aligned) argc, argv, envp,
     * auxv. */
    char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
    if (stack == MAP_FAILED)
        die("cannot map a stack: %s", strerror(errno));
    char *top = stack + STACK_SIZE;
    int envc = 0;
    while (environ[envc])
        envc++;
    char *execfn = top -= strlen(program) + 1;
    strcpy(execfn, program);
    char *platform = top -= 7;
    strcpy(platform, "x86_64");
    unsigned char *random = (unsigned char *)(top -= 16);
    for (int i = 0; i < 16; i++)
        random[i] = (unsigned char)(test_rdtsc() >> (i % 8));
    char **strings = calloc((size_t)(prog_argc + envc), sizeof *strings);
    if (!strings)
        die("out of memory");
    for (int i = 0; i < prog_argc + envc; i++) {
        const char *s = i < prog_argc ? prog_argv[i] : environ[i - prog_argc];
        top -= strlen(s) + 1;
        strcpy(top, s);
        strings[i] = top;
    }
    const unsigned long aux[][2] = {
        {AT_SYSINFO_EHDR, SNAPFN_VDSO_BASE},
        {AT_HWCAP, getauxval(AT_HWCAP)},
        {AT_PAGESZ, PAGE},
        {AT_CLKTCK, 100},
        {AT_PHDR, exe.phdr},
        {AT_PHENT, sizeof(Elf64_Phdr)},
        {AT_PHNUM, exe.phnum},
        {AT_BASE, base},
        {AT_FLAGS, 0},
        {AT_ENTRY, exe.entry},
        {AT_UID, getuid()},
        {AT_EUID, geteuid()},
        {AT_GID, getgid()},
        {AT_EGID, getegid()},
        {AT_SECURE, 0},
        {AT_RANDOM, (unsigned long)random},
        {AT_HWCAP2, getauxval(AT_HWCAP2)},
        {AT_EXECFN, (unsigned long)execfn},
        {AT_PLATFORM, (unsigned long)platform},
        {AT_MINSIGSTKSZ, getauxval(AT_MINSIGSTKSZ)},
        {AT_NULL, 0},
    };
    size_t words = 1 + (size_t)prog_argc + 1 + (size_t)envc + 1 + 2 * (sizeof aux / sizeof aux[0]);
    unsigned long *sp = (unsigned long *)(((uintptr_t)top - words * 8) & ~15UL);
    unsigned long *w = sp;
    *w++ = (unsigned long)prog_argc;
    for (int i = 0; i < prog_argc; i++)
        *w++ = (unsigned long)strings[i];
    *w++ = 0;
    for (int i = 0; i < envc; i++)
        *w++ = (unsigned long)strings[prog_argc + i];
    *w++ = 0;
    memcpy(w, aux, sizeof aux);
    fflush(NULL);

    /* The process entry convention: rsp at argc, rdx = 0 (no function for the program to register atexit). */
    __asm__ volatile("mov %0, %%rsp\n\t"
                     "xor %%edx, %%edx\n\t"
                     "jmp *%1"
                     :
                     : "r"(sp), "r"(start)
                     : "memory");
    __builtin_unreachable();
}

/* Build-time check of vdso.so against the contract in snapfn_vdso.h: the VMM copies the file byte for byte to
 * SNAPFN_VDSO_BASE and glibc then reads it in place, so anything the loader would have had to fix up (an
 * offset that differs from the address, a relocation, bss, a writable segment) would be silently wrong.
 * Usage: check-vdso FILE. Prints what is wrong and exits 1, or exits 0. */
#include "snapfn_vdso.h"

#include <elf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *path;
static int problems;

__attribute__((format(printf, 1, 2))) static void problem(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "check-vdso: %s: ", path);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    problems++;
}

static unsigned char *image;
static size_t image_size;

/* A pointer to [off, off + n) of the file, or NULL (with a problem) if that is not inside it. */
static const void *at(uint64_t off, uint64_t n, const char *what)
{
    if (off > image_size || n > image_size - off) {
        problem("%s (offset 0x%llx, %llu bytes) is outside the file", what, (unsigned long long)off,
                (unsigned long long)n);
        return NULL;
    }
    return image + off;
}

/* Addresses in the dynamic section are guest addresses; the file holds them at address - base. */
static const void *at_addr(uint64_t addr, uint64_t n, const char *what)
{
    if (addr < SNAPFN_VDSO_BASE) {
        problem("%s at 0x%llx is below the image base", what, (unsigned long long)addr);
        return NULL;
    }
    return at(addr - SNAPFN_VDSO_BASE, n, what);
}

static const char *const exported[] = {
    "__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_clock_getres", "__vdso_getcpu",
    "clock_gettime",        "gettimeofday",        "time",        "clock_getres",        "getcpu",
};

static void check_dynamic(const Elf64_Dyn *dyn, size_t count)
{
    uint64_t strtab = 0, strsz = 0, symtab = 0, hash = 0, versym = 0, verdef = 0, verdefnum = 0, soname = 0;
    bool have_gnu_hash = false, have_soname = false;
    for (size_t i = 0; i < count && dyn[i].d_tag != DT_NULL; i++) {
        uint64_t v = dyn[i].d_un.d_val;
        switch (dyn[i].d_tag) {
        case DT_STRTAB: strtab = v; break;
        case DT_STRSZ: strsz = v; break;
        case DT_SYMTAB: symtab = v; break;
        case DT_HASH: hash = v; break;
        case DT_GNU_HASH: have_gnu_hash = true; break;
        case DT_VERSYM: versym = v; break;
        case DT_VERDEF: verdef = v; break;
        case DT_VERDEFNUM: verdefnum = v; break;
        case DT_SONAME: soname = v; have_soname = true; break;
        case DT_REL: case DT_RELA: case DT_JMPREL: case DT_TEXTREL: case DT_RELR:
            problem("dynamic tag %lld: the vDSO must need no relocation", (long long)dyn[i].d_tag);
            break;
        case DT_NEEDED:
            problem("DT_NEEDED: the vDSO must depend on nothing");
            break;
        default:
            break;
        }
    }
    if (!strtab || !symtab || !hash || !have_gnu_hash || !versym || !verdef) {
        problem("dynamic section lacks one of DT_STRTAB, DT_SYMTAB, DT_HASH, DT_GNU_HASH, DT_VERSYM, DT_VERDEF");
        return;
    }
    const char *strs = at_addr(strtab, strsz, "string table");
    const uint32_t *h = at_addr(hash, 8, "hash table");
    if (!strs || !h || strsz == 0 || strs[strsz - 1] != '\0')
        return;
    if (!have_soname || soname >= strsz || strcmp(strs + soname, SNAPFN_VDSO_SONAME) != 0)
        problem("soname is not %s", SNAPFN_VDSO_SONAME);

    /* The version index named SNAPFN_VDSO_VERSION. */
    unsigned version_index = 0;
    uint64_t vd_addr = verdef;
    for (uint64_t n = 0; n < verdefnum; n++) {
        const Elf64_Verdef *vd = at_addr(vd_addr, sizeof *vd, "version definition");
        if (!vd)
            return;
        const Elf64_Verdaux *aux = at_addr(vd_addr + vd->vd_aux, sizeof *aux, "version name");
        if (!aux)
            return;
        if (aux->vda_name < strsz && strcmp(strs + aux->vda_name, SNAPFN_VDSO_VERSION) == 0)
            version_index = vd->vd_ndx;
        if (vd->vd_next == 0)
            break;
        vd_addr += vd->vd_next;
    }
    if (version_index == 0) {
        problem("no version definition %s", SNAPFN_VDSO_VERSION);
        return;
    }

    uint32_t nsyms = h[1]; /* DT_HASH's nchain is the number of symbols */
    const Elf64_Sym *syms = at_addr(symtab, (uint64_t)nsyms * sizeof(Elf64_Sym), "symbol table");
    const uint16_t *vers = at_addr(versym, (uint64_t)nsyms * 2, "version table");
    if (!syms || !vers)
        return;
    for (uint32_t i = 1; i < nsyms; i++)
        if (syms[i].st_shndx == SHN_UNDEF)
            problem("undefined dynamic symbol %s", syms[i].st_name < strsz ? strs + syms[i].st_name : "?");
    for (size_t e = 0; e < sizeof exported / sizeof exported[0]; e++) {
        bool plain = strncmp(exported[e], "__vdso_", 7) != 0;
        bool found = false;
        for (uint32_t i = 1; i < nsyms && !found; i++) {
            const Elf64_Sym *s = &syms[i];
            if (s->st_name >= strsz || strcmp(strs + s->st_name, exported[e]) != 0)
                continue;
            found = true;
            if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || ELF64_ST_BIND(s->st_info) != (plain ? STB_WEAK : STB_GLOBAL))
                problem("%s is not a %s function", exported[e], plain ? "weak" : "global");
            if ((vers[i] & 0x7fff) != version_index)
                problem("%s is not in version %s", exported[e], SNAPFN_VDSO_VERSION);
            if (s->st_value < SNAPFN_VDSO_BASE || s->st_value >= SNAPFN_VDSO_BASE + image_size)
                problem("%s at 0x%llx is outside the image", exported[e], (unsigned long long)s->st_value);
        }
        if (!found)
            problem("%s is not exported", exported[e]);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: check-vdso FILE\n");
        return 2;
    }
    path = argv[1];
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    image = malloc(SNAPFN_VDSO_MAX_SIZE + 1);
    if (!image) {
        fprintf(stderr, "check-vdso: out of memory\n");
        return 1;
    }
    image_size = fread(image, 1, SNAPFN_VDSO_MAX_SIZE + 1, f);
    fclose(f);
    if (image_size > SNAPFN_VDSO_MAX_SIZE) {
        problem("the file is larger than %lu bytes, so it would overlap the data page at 0x%lx", SNAPFN_VDSO_MAX_SIZE,
                SNAPFN_VDSO_DATA_ADDR);
        return 1;
    }

    const Elf64_Ehdr *eh = at(0, sizeof *eh, "ELF header");
    if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64 || eh->e_type != ET_DYN) {
        problem("not an x86-64 ELF64 shared object");
        return 1;
    }
    const Elf64_Phdr *ph = at(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof *ph, "program headers");
    if (!ph || eh->e_phentsize != sizeof *ph)
        return 1;

    bool first_load = true;
    const Elf64_Dyn *dyn = NULL;
    size_t ndyn = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        if (p->p_type == PT_LOAD) {
            if (p->p_vaddr - p->p_offset != SNAPFN_VDSO_BASE)
                problem("PT_LOAD %u: p_vaddr 0x%llx - p_offset 0x%llx is not 0x%lx", i,
                        (unsigned long long)p->p_vaddr, (unsigned long long)p->p_offset, SNAPFN_VDSO_BASE);
            /* glibc takes the first PT_LOAD's address as that of the ELF header (AT_SYSINFO_EHDR). */
            if (first_load && p->p_offset != 0)
                problem("the first PT_LOAD does not start at the ELF header");
            first_load = false;
            if (p->p_filesz != p->p_memsz)
                problem("PT_LOAD %u: memsz differs from filesz (bss is not in the file)", i);
            if (p->p_flags & PF_W)
                problem("PT_LOAD %u is writable", i);
            at(p->p_offset, p->p_filesz, "PT_LOAD contents");
        } else if (p->p_type == PT_DYNAMIC) {
            dyn = at(p->p_offset, p->p_filesz, "dynamic section");
            ndyn = p->p_filesz / sizeof(Elf64_Dyn);
            if (p->p_vaddr - p->p_offset != SNAPFN_VDSO_BASE)
                problem("PT_DYNAMIC: p_vaddr - p_offset is not 0x%lx", SNAPFN_VDSO_BASE);
        } else if (p->p_type == PT_TLS || p->p_type == PT_INTERP) {
            problem("program header %u has type %u, which a vDSO cannot have", i, p->p_type);
        }
    }
    if (first_load)
        problem("no PT_LOAD");
    if (!dyn)
        problem("no PT_DYNAMIC");
    else
        check_dynamic(dyn, ndyn);

    const Elf64_Shdr *sh = eh->e_shnum ? at(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof *sh, "section headers") : NULL;
    for (unsigned i = 0; sh && i < eh->e_shnum; i++)
        if (sh[i].sh_type == SHT_REL || sh[i].sh_type == SHT_RELA || sh[i].sh_type == SHT_RELR)
            problem("section %u holds relocations", i);

    return problems ? 1 : 0;
}

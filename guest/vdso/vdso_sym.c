/* Symbol lookup in a mapped vDSO image (vdso_sym.h). */
#include "vdso_sym.h"

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

void *snapfn_vdso_sym(uintptr_t base, const char *name, const char *version)
{
    if (!base)
        return NULL;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64)
        return NULL;

    /* The image is mapped as one piece from its header: file offset o is at base + o, and an address a in the
     * dynamic section at a + bias, bias from the first PT_LOAD (what glibc's setup_vdso computes). */
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
    const Elf64_Dyn *dyn = NULL;
    uintptr_t bias = 0;
    bool have_load = false;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && !have_load) {
            bias = base + ph[i].p_offset - ph[i].p_vaddr;
            have_load = true;
        } else if (ph[i].p_type == PT_DYNAMIC) {
            dyn = (const Elf64_Dyn *)(base + ph[i].p_offset);
        }
    }
    if (!have_load || !dyn)
        return NULL;

    const Elf64_Sym *symtab = NULL;
    const char *strtab = NULL;
    const uint32_t *hash = NULL;
    const uint16_t *versym = NULL;
    const Elf64_Verdef *verdef = NULL;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        uintptr_t p = (uintptr_t)dyn->d_un.d_ptr + bias;
        switch (dyn->d_tag) {
        case DT_SYMTAB: symtab = (const Elf64_Sym *)p; break;
        case DT_STRTAB: strtab = (const char *)p; break;
        case DT_HASH: hash = (const uint32_t *)p; break;
        case DT_VERSYM: versym = (const uint16_t *)p; break;
        case DT_VERDEF: verdef = (const Elf64_Verdef *)p; break;
        default: break;
        }
    }
    if (!symtab || !strtab || !hash)
        return NULL;

    for (uint32_t i = 1; i < hash[1]; i++) { /* hash[1] is nchain, the number of symbols */
        const Elf64_Sym *s = &symtab[i];
        if (s->st_shndx == SHN_UNDEF || ELF64_ST_TYPE(s->st_info) != STT_FUNC || strcmp(strtab + s->st_name, name) != 0)
            continue;
        if (versym && verdef) {
            unsigned want = versym[i] & 0x7fff;
            const Elf64_Verdef *vd = verdef;
            bool matched = false;
            for (;;) {
                const Elf64_Verdaux *aux = (const Elf64_Verdaux *)((const char *)vd + vd->vd_aux);
                matched = vd->vd_ndx == want && strcmp(strtab + aux->vda_name, version) == 0;
                if (matched || vd->vd_next == 0)
                    break;
                vd = (const Elf64_Verdef *)((const char *)vd + vd->vd_next);
            }
            if (!matched)
                continue;
        }
        return (void *)(s->st_value + bias);
    }
    return NULL;
}

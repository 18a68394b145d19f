/* Finding a vDSO's entry points the way glibc does (its symbol table through DT_HASH, checked against the
 * version definitions). Used by the guest tests on the image at AT_SYSINFO_EHDR and by test-vdso on vdso.so
 * mapped in a host process. Trusts the image: it is for tests, not for loading untrusted files. */
#ifndef SNAPFN_VDSO_SYM_H
#define SNAPFN_VDSO_SYM_H

#include <stdint.h>

/* The address of function `name` with version `version` in the ELF image whose header is at `base`, or NULL. */
void *snapfn_vdso_sym(uintptr_t base, const char *name, const char *version);

#endif

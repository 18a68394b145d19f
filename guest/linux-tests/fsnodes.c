/* fsnodes: the file-system calls CPython's own tests found missing (issue 24): chmod without following a link
 * (glibc's emulation through O_PATH and /proc/self/fd), the chown family, mknod and FIFOs, hard links, a trailing
 * slash on a name that does not exist, statfs of the root. Run as `/tests/fsnodes-static` (no arguments). */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
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

static bool owned_by(const char *path, bool follow, unsigned uid, unsigned gid)
{
    struct stat st;
    return (follow ? stat(path, &st) : lstat(path, &st)) == 0 && st.st_uid == uid && st.st_gid == gid;
}

/* Root, as on Linux: a /tmp file takes any owner (kept by the VMM, shown by every stat, following hard links and
 * renames, and not passed on to a new file that gets a removed file's inode number); the root is EROFS; procfs's
 * entries keep root's. */
static void check_chown(void)
{
    const char *file = "/tmp/fsn-own", *link = "/tmp/fsn-own-link", *other = "/tmp/fsn-own-2", *moved = "/tmp/fsn-own-moved";
    int fd = open(file, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    symlink(file, link);
    struct stat st;
    lt_check("stat-owner-root", owned_by(file, true, 0, 0), "not root's");
    lt_check("stat-root-owner-root", stat("/usr/lib", &st) == 0 && st.st_uid == 0 && st.st_gid == 0, "uid %u gid %u", st.st_uid, st.st_gid);
    lt_sys_ok("chown-same", syscall(SYS_chown, file, 0, 0));
    lt_sys_ok("chown-minus-one", syscall(SYS_chown, file, -1, -1));
    lt_check("chown-root-stays-root", owned_by(file, true, 0, 0), "not root's");

    lt_sys_ok("chown-other-ids", syscall(SYS_chown, file, 1000, 1001));
    lt_check("chown-shown-by-stat", owned_by(file, true, 1000, 1001), "not 1000:1001");
    lt_check("chown-shown-by-fstat", fstat(fd, &st) == 0 && st.st_uid == 1000 && st.st_gid == 1001, "uid %u gid %u", st.st_uid, st.st_gid);
    lt_sys_ok("chown-gid-only", syscall(SYS_chown, file, -1, 50));
    lt_check("chown-keeps-minus-one", owned_by(file, true, 1000, 50), "not 1000:50");
    lt_check("chown-mode-kept", stat(file, &st) == 0 && (st.st_mode & 07777) == 0600, "mode 0%o", st.st_mode & 07777);

    lt_sys_ok("lchown-link", syscall(SYS_lchown, link, 7, 8));
    lt_check("lchown-link-itself", owned_by(link, false, 7, 8), "the link is not 7:8");
    lt_check("lchown-not-target", owned_by(link, true, 1000, 50), "the target changed");
    lt_sys_ok("fchownat-nofollow", syscall(SYS_fchownat, AT_FDCWD, link, 0, 0, AT_SYMLINK_NOFOLLOW));
    lt_check("fchownat-nofollow-link", owned_by(link, false, 0, 0) && owned_by(file, true, 1000, 50), "wrong owners");
    lt_sys_ok("chown-follows-link", syscall(SYS_chown, link, 3, 4));
    lt_check("chown-follows-link-target", owned_by(file, true, 3, 4) && owned_by(link, false, 0, 0), "wrong owners");

    lt_sys_ok("fchown", syscall(SYS_fchown, fd, 0, 0));
    lt_check("fchown-back-to-root", owned_by(file, true, 0, 0), "not root's");
    int opath = open(file, O_PATH);
    lt_sys_errno("fchown-opath-ebadf", syscall(SYS_fchown, opath, 0, 0), EBADF);
    lt_sys_ok("fchownat-empty-path-opath", syscall(SYS_fchownat, opath, "", 21, 22, AT_EMPTY_PATH));
    lt_check("fchownat-empty-path-owner", owned_by(file, true, 21, 22), "not 21:22");
    close(opath);
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    lt_sys_ok("chown-proc-self-fd", syscall(SYS_chown, proc, 9, 9));
    lt_check("chown-proc-self-fd-owner", owned_by(file, true, 9, 9), "not 9:9");

    lt_sys_ok("link-owned", syscall(SYS_link, file, other));
    lt_check("hard-link-same-owner", owned_by(other, true, 9, 9), "the second name is not 9:9");
    lt_sys_ok("rename-owned", rename(other, moved));
    lt_check("rename-keeps-owner", owned_by(moved, true, 9, 9), "renamed is not 9:9");
    unlink(moved);

    /* A removed file's inode number goes to a new file (ext4 and tmpfs reuse them at once); its owner must not. */
    struct stat old;
    lt_sys_ok("stat-before-unlink", stat(file, &old));
    close(fd);
    unlink(link);
    unlink(file);
    bool reused = false, all_root = true;
    for (int i = 0; i < 64 && !reused; i++) {
        char name[64];
        snprintf(name, sizeof name, "/tmp/fsn-own-new-%d", i);
        close(open(name, O_CREAT | O_WRONLY, 0600));
        reused = stat(name, &st) == 0 && st.st_ino == old.st_ino;
        all_root = all_root && st.st_uid == 0 && st.st_gid == 0;
    }
    lt_check("new-file-not-old-owner", all_root, "a new file has an owner it was never given (inode reused: %d)", reused);
    for (int i = 0; i < 64; i++) {
        char name[64];
        snprintf(name, sizeof name, "/tmp/fsn-own-new-%d", i);
        unlink(name);
    }

    lt_check("mkfifo-owned", mkfifo("/tmp/fsn-own-fifo", 0600) == 0 && syscall(SYS_chown, "/tmp/fsn-own-fifo", 5, 6) == 0, "mkfifo or chown failed");
    lt_check("fifo-owner", owned_by("/tmp/fsn-own-fifo", true, 5, 6), "not 5:6");
    unlink("/tmp/fsn-own-fifo");
    lt_sys_ok("chown-tmp-dir", syscall(SYS_chown, "/tmp", 11, 12));
    lt_check("tmp-dir-owner", owned_by("/tmp", true, 11, 12), "/tmp is not 11:12");
    lt_sys_ok("chown-tmp-dir-back", syscall(SYS_chown, "/tmp", 0, 0));

    lt_sys_errno("chown-root-erofs", syscall(SYS_chown, "/usr/lib", 0, 0), EROFS);
    lt_sys_errno("chown-proc-entry-eperm", syscall(SYS_chown, "/proc/self/status", 5, 5), EPERM);
    lt_sys_errno("chown-missing-enoent", syscall(SYS_chown, "/tmp/fsn-missing", 0, 0), ENOENT);
    lt_sys_errno("fchown-closed-ebadf", syscall(SYS_fchown, 999, 0, 0), EBADF);
    lt_sys_errno("fchownat-bad-flag-einval", syscall(SYS_fchownat, AT_FDCWD, "/tmp", 0, 0, 0x1), EINVAL);
}

static bool write_all(int fd, const char *text)
{
    return write(fd, text, strlen(text)) == (ssize_t)strlen(text);
}

static void *open_fifo_for_writing(void *path)
{
    int fd = open(path, O_WRONLY);
    if (fd >= 0) {
        write_all(fd, "through the fifo");
        close(fd);
    }
    return (void *)(long)fd;
}

/* mknod makes regular files and FIFOs in /tmp; a FIFO opened from two threads is a pipe between them. */
static void check_mknod_and_fifos(void)
{
    const char *fifo = "/tmp/fsn-fifo", *reg = "/tmp/fsn-node";
    struct stat st;
    lt_sys_ok("mknod-regular", syscall(SYS_mknodat, AT_FDCWD, reg, S_IFREG | 0640, 0));
    lt_check("mknod-regular-stat", stat(reg, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0640 && st.st_size == 0,
             "mode 0%o size %ld", st.st_mode, (long)st.st_size);
    lt_sys_errno("mknod-exists-eexist", syscall(SYS_mknod, reg, S_IFIFO | 0600, 0), EEXIST);
    unlink(reg);
    lt_sys_ok("mknod-type-zero-is-regular", syscall(SYS_mknod, reg, 0600, 0));
    lt_check("mknod-type-zero-stat", stat(reg, &st) == 0 && S_ISREG(st.st_mode), "mode 0%o", st.st_mode);
    unlink(reg);
    lt_sys_errno("mknod-char-device-eperm", syscall(SYS_mknod, reg, S_IFCHR | 0600, makedev(1, 3)), EPERM);
    lt_sys_errno("mknod-block-device-eperm", syscall(SYS_mknod, reg, S_IFBLK | 0600, makedev(8, 0)), EPERM);
    lt_sys_errno("mknod-bad-type-einval", syscall(SYS_mknod, reg, 0170000 | 0600, 0), EINVAL);
    lt_sys_ok("mknod-socket", syscall(SYS_mknod, reg, S_IFSOCK | 0600, 0));
    lt_check("mknod-socket-stat", stat(reg, &st) == 0 && S_ISSOCK(st.st_mode), "mode 0%o", st.st_mode);
    lt_sys_errno("mknod-socket-open-enxio", open(reg, O_RDONLY), ENXIO);
    unlink(reg);
    lt_sys_errno("mknod-root-erofs", syscall(SYS_mknod, "/usr/fsn-fifo", S_IFIFO | 0600, 0), EROFS);
    lt_sys_errno("mknod-no-parent-enoent", syscall(SYS_mknod, "/tmp/fsn-none/fifo", S_IFIFO | 0600, 0), ENOENT);
    lt_sys_ok("mkfifo", mkfifo(fifo, 0600));
    lt_check("mkfifo-stat", stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0600, "mode 0%o", st.st_mode);
    lt_check("mkfifo-lstat", lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "mode 0%o", st.st_mode);

    lt_sys_errno("fifo-write-nonblock-no-reader-enxio", open(fifo, O_WRONLY | O_NONBLOCK), ENXIO);
    int reader = open(fifo, O_RDONLY | O_NONBLOCK);
    lt_check("fifo-read-nonblock-opens", reader >= 0, "%s", lt_errname(errno));
    struct stat fst;
    lt_check("fifo-fstat", fstat(reader, &fst) == 0 && S_ISFIFO(fst.st_mode) && stat(fifo, &st) == 0 && fst.st_ino == st.st_ino,
             "mode 0%o ino %lu vs %lu", fst.st_mode, (unsigned long)fst.st_ino, (unsigned long)st.st_ino);
    char buffer[64] = {0};
    lt_check("fifo-read-no-writer-eof", read(reader, buffer, sizeof buffer) == 0, "%s", lt_errname(errno));
    struct pollfd polled = {.fd = reader, .events = POLLIN};
    int ready = poll(&polled, 1, 0);
    lt_check("fifo-poll-no-hangup-before-a-writer", ready == 0 && polled.revents == 0, "poll %d, revents 0x%x", ready, polled.revents);
    int writer = open(fifo, O_WRONLY | O_NONBLOCK);
    lt_check("fifo-write-nonblock-with-reader", writer >= 0, "%s", lt_errname(errno));
    lt_check("fifo-write", write_all(writer, "hello"), "%s", lt_errname(errno));
    ssize_t n = read(reader, buffer, sizeof buffer);
    lt_check("fifo-read", n == 5 && memcmp(buffer, "hello", 5) == 0, "read %zd", n);
    lt_sys_errno("fifo-read-empty-eagain", read(reader, buffer, sizeof buffer), EAGAIN);
    lt_sys_errno("fifo-lseek-espipe", lseek(reader, 0, SEEK_SET), ESPIPE);
    close(writer);
    ready = poll(&polled, 1, 0);
    lt_check("fifo-poll-hangup-after-the-writer", ready == 1 && (polled.revents & POLLHUP), "poll %d, revents 0x%x", ready, polled.revents);
    close(reader);
    int both = open(fifo, O_RDWR);
    lt_check("fifo-rdwr-opens-at-once", both >= 0 && write_all(both, "x") && read(both, buffer, 1) == 1 && buffer[0] == 'x', "%s",
             lt_errname(errno));
    close(both);

    /* A blocking open waits for the other end, opened by another thread. */
    pthread_t thread;
    pthread_create(&thread, NULL, open_fifo_for_writing, (void *)fifo);
    reader = open(fifo, O_RDONLY);
    lt_check("fifo-blocking-open-meets-writer", reader >= 0, "%s", lt_errname(errno));
    size_t got = 0;
    while (reader >= 0 && got < sizeof buffer - 1 && (n = read(reader, buffer + got, sizeof buffer - 1 - got)) > 0)
        got += (size_t)n;
    buffer[got] = 0;
    void *result;
    pthread_join(thread, &result);
    lt_check("fifo-blocking-data", strcmp(buffer, "through the fifo") == 0 && (long)result >= 0, "read '%s', writer fd %ld", buffer,
             (long)result);
    close(reader);
    lt_sys_ok("fifo-unlink", unlink(fifo));
}

/* Hard links within /tmp: one inode under two names, st_nlink counts them, the data is shared and stays after the
 * first name goes. */
static void check_hard_links(void)
{
    const char *a = "/tmp/fsn-a", *b = "/tmp/fsn-b", *sym = "/tmp/fsn-sym", *c = "/tmp/fsn-c";
    int fd = open(a, O_CREAT | O_RDWR | O_TRUNC, 0600);
    write_all(fd, "shared");
    lt_sys_ok("link", syscall(SYS_link, a, b));
    struct stat sa, sb;
    lt_check("link-same-inode", stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_nlink == 2 && sb.st_nlink == 2,
             "ino %lu/%lu nlink %lu", (unsigned long)sa.st_ino, (unsigned long)sb.st_ino, (unsigned long)sa.st_nlink);
    write_all(fd, " data");
    lt_check("link-shares-data", stat(b, &sb) == 0 && sb.st_size == 11, "size %ld", (long)sb.st_size);
    lt_sys_errno("link-exists-eexist", syscall(SYS_link, a, b), EEXIST);
    lt_sys_errno("link-missing-enoent", syscall(SYS_link, "/tmp/fsn-missing", c), ENOENT);
    lt_sys_errno("link-into-root-erofs", syscall(SYS_link, a, "/usr/fsn-link"), EROFS);
    lt_sys_errno("link-from-root-exdev", syscall(SYS_link, "/usr/lib/python3.11/os.py", c), EXDEV);
    lt_sys_errno("link-directory-eperm", syscall(SYS_link, "/tmp", c), EPERM);
    lt_sys_errno("linkat-bad-flag-einval", syscall(SYS_linkat, AT_FDCWD, a, AT_FDCWD, c, 0x1), EINVAL);
    symlink(a, sym);
    lt_sys_ok("linkat-symlink-itself", syscall(SYS_linkat, AT_FDCWD, sym, AT_FDCWD, c, 0));
    lt_check("linkat-symlink-itself-is-link", lstat(c, &sb) == 0 && S_ISLNK(sb.st_mode), "mode 0%o", sb.st_mode);
    unlink(c);
    lt_sys_ok("linkat-follow", syscall(SYS_linkat, AT_FDCWD, sym, AT_FDCWD, c, AT_SYMLINK_FOLLOW));
    lt_check("linkat-follow-is-target", lstat(c, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_ino == sa.st_ino && sb.st_nlink == 3,
             "mode 0%o nlink %lu", sb.st_mode, (unsigned long)sb.st_nlink);
    unlink(c);
    lt_sys_ok("linkat-empty-path", syscall(SYS_linkat, fd, "", AT_FDCWD, c, AT_EMPTY_PATH));
    lt_check("linkat-empty-path-is-file", stat(c, &sb) == 0 && sb.st_ino == sa.st_ino, "ino %lu", (unsigned long)sb.st_ino);
    unlink(c);
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    lt_sys_ok("linkat-proc-self-fd-follow", syscall(SYS_linkat, AT_FDCWD, proc, AT_FDCWD, c, AT_SYMLINK_FOLLOW));
    lt_check("linkat-proc-self-fd-is-file", stat(c, &sb) == 0 && sb.st_ino == sa.st_ino, "ino %lu", (unsigned long)sb.st_ino);
    unlink(c);
    int tmpfile = open("/tmp", O_TMPFILE | O_RDWR, 0600);
    write_all(tmpfile, "anonymous");
    lt_sys_ok("linkat-tmpfile", syscall(SYS_linkat, tmpfile, "", AT_FDCWD, c, AT_EMPTY_PATH));
    lt_check("linkat-tmpfile-named", stat(c, &sb) == 0 && sb.st_size == 9 && sb.st_nlink == 1, "size %ld", (long)sb.st_size);
    close(tmpfile);
    unlink(c);
    int pipes[2];
    pipe(pipes);
    lt_sys_errno("linkat-pipe-exdev", syscall(SYS_linkat, pipes[0], "", AT_FDCWD, c, AT_EMPTY_PATH), EXDEV);
    close(pipes[0]);
    close(pipes[1]);
    unlink(sym);
    unlink(a);
    char buffer[16] = {0};
    int other = open(b, O_RDONLY);
    lt_check("link-survives-unlink", other >= 0 && read(other, buffer, sizeof buffer) == 11 && memcmp(buffer, "shared data", 11) == 0 &&
                                         fstat(other, &sb) == 0 && sb.st_nlink == 1,
             "read '%s' nlink %lu", buffer, (unsigned long)sb.st_nlink);
    close(other);
    close(fd);
    unlink(b);
}

/* A trailing slash names a directory: creating a file by it is EISDIR, opening a file by it ENOTDIR; mkdir takes it. */
static void check_trailing_slash(void)
{
    lt_sys_errno("creat-trailing-slash-eisdir", open("/tmp/fsn-nodir/", O_CREAT | O_WRONLY, 0644), EISDIR);
    lt_sys_errno("creat-trailing-slash-made-nothing", access("/tmp/fsn-nodir", F_OK), ENOENT);
    lt_sys_errno("creat-existing-dir-trailing-slash-eisdir", open("/tmp/", O_CREAT | O_RDONLY, 0644), EISDIR);
    close(open("/tmp/fsn-file", O_CREAT | O_WRONLY, 0644));
    lt_sys_errno("open-file-trailing-slash-enotdir", open("/tmp/fsn-file/", O_RDONLY), ENOTDIR);
    struct stat st;
    lt_sys_errno("stat-file-trailing-slash-enotdir", stat("/tmp/fsn-file/", &st), ENOTDIR);
    unlink("/tmp/fsn-file");
    lt_sys_ok("mkdir-trailing-slash", mkdir("/tmp/fsn-nodir/", 0755));
    int fd = open("/tmp/fsn-nodir/", O_RDONLY);
    lt_check("open-dir-trailing-slash", fd >= 0, "%s", lt_errname(errno));
    close(fd);
    rmdir("/tmp/fsn-nodir");
}

/* The root reads as a full read-only image of its real size. */
static void check_statfs_root(void)
{
    struct statfs st;
    long r = syscall(SYS_statfs, "/", &st);
    lt_check("statfs-root-size", r == 0 && st.f_blocks > 1000 && st.f_bfree == 0 && st.f_bavail == 0 && st.f_files > 100 && st.f_ffree == 0,
             "returned %ld: blocks %lu free %lu files %lu", r, (unsigned long)st.f_blocks, (unsigned long)st.f_bfree,
             (unsigned long)st.f_files);
}

/* True when getdents64 of dir lists exactly the bytes of name. */
static bool listed(const char *dir, const char *name)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    char buffer[8192];
    bool found = false;
    long n;
    while (!found && (n = syscall(SYS_getdents64, fd, buffer, sizeof buffer)) > 0) {
        for (long at = 0; at < n;) {
            unsigned short reclen;
            memcpy(&reclen, buffer + at + 16, sizeof reclen);
            if (strcmp(buffer + at + 19, name) == 0)
                found = true;
            at += reclen;
        }
    }
    close(fd);
    return found;
}

/* Names are bytes: one that is not UTF-8 is created, listed, found and removed as it was given. */
static void check_byte_names(void)
{
    const char *latin1 = "/tmp/fsn-\xe9t\xe9", *other = "/tmp/fsn-\xff\xfe", *replacement = "/tmp/fsn-\xef\xbf\xbdt\xef\xbf\xbd";
    int fd = open(latin1, O_CREAT | O_WRONLY | O_EXCL, 0600);
    lt_check("byte-name-create", fd >= 0, "%s", lt_errname(errno));
    close(fd);
    lt_check("byte-name-listed", listed("/tmp", "fsn-\xe9t\xe9"), "not listed as created");
    struct stat st;
    lt_sys_errno("byte-name-not-replacement", stat(replacement, &st), ENOENT);
    fd = open(other, O_CREAT | O_WRONLY | O_EXCL, 0600);
    lt_check("byte-name-distinct", fd >= 0, "%s", lt_errname(errno));
    close(fd);
    lt_sys_ok("byte-name-stat", stat(latin1, &st));
    lt_sys_ok("byte-name-mkdir", mkdir("/tmp/fsn-d\x80", 0700));
    lt_sys_ok("byte-name-chdir", chdir("/tmp/fsn-d\x80"));
    char cwd[64] = {0};
    lt_check("byte-name-getcwd", getcwd(cwd, sizeof cwd) && strcmp(cwd, "/tmp/fsn-d\x80") == 0, "getcwd '%s'", cwd);
    chdir("/");
    lt_sys_ok("byte-name-rmdir", rmdir("/tmp/fsn-d\x80"));
    lt_sys_ok("byte-name-unlink", unlink(latin1));
    lt_sys_ok("byte-name-unlink-other", unlink(other));
    lt_check("byte-name-gone", !listed("/tmp", "fsn-\xe9t\xe9"), "still listed");
}

/* dnotify: no watch can be set (EINVAL, as Linux with dnotify disabled); removing watches succeeds. */
static void check_dnotify(void)
{
    int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
    lt_sys_ok("f-notify-multishot-alone", fcntl(fd, F_NOTIFY, DN_MULTISHOT));
    lt_sys_ok("f-notify-remove", fcntl(fd, F_NOTIFY, 0));
    lt_sys_errno("f-notify-watch-einval", fcntl(fd, F_NOTIFY, DN_CREATE | DN_MULTISHOT), EINVAL);
    close(fd);
    lt_sys_errno("f-notify-closed-ebadf", fcntl(fd, F_NOTIFY, 0), EBADF);
}

int main(void)
{
    lt_init();
    check_chmod_nofollow();
    check_chown();
    check_mknod_and_fifos();
    check_hard_links();
    check_trailing_slash();
    check_statfs_root();
    check_dnotify();
    check_byte_names();
    return lt_finish();
}

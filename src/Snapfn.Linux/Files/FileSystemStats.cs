using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>
/// What statfs and fstatfs tell a program about the file system a file is on. The guest's file systems are made up,
/// so are their statistics, in the form Linux gives them: a writable mount (/tmp) is a tmpfs whose size and inodes
/// are its <see cref="TmpQuota"/> and whose free space is what the quota leaves; the read-only root reads as a
/// read-only image (squashfs) of its real size with nothing free; /proc, /sys, the devices, pipes, sockets and the anonymous files
/// (eventfd, epoll) have the magic numbers of the kernel's own. Nothing of the host's file systems shows through.
/// </summary>
internal static class FileSystemStats
{
    private const long TMPFS_MAGIC = 0x01021994, SQUASHFS_MAGIC = 0x73717368, PROC_SUPER_MAGIC = 0x9fa0, SYSFS_MAGIC = 0x62656572,
        PIPEFS_MAGIC = 0x50495045, SOCKFS_MAGIC = 0x534F434B, ANON_INODE_FS_MAGIC = 0x09041934;
    private const long ST_RDONLY = 1, ST_NOSUID = 2, ST_NODEV = 4, ST_VALID = 0x20;
    private const long BlockSize = 4096;
    private const long NameMax = 255;

    /// <summary>The statistics of the file system <paramref name="path"/> (absolute, normalised, already found to
    /// exist) is on.</summary>
    public static Kernel.statfs ForPath(RootFileSystem root, string path)
    {
        if (DeviceFile.ForPath(path) is not null)
            return Virtual(TMPFS_MAGIC, ST_NOSUID);
        if (GuestPath.IsUnder(path, "/proc"))
            return Virtual(PROC_SUPER_MAGIC, ST_NOSUID | ST_NODEV);
        if (GuestPath.IsUnder(path, "/sys"))
            return Virtual(SYSFS_MAGIC, ST_RDONLY | ST_NOSUID | ST_NODEV);
        var (writable, space) = root.MountOf(path);
        if (!writable || space is null)
        {
            // A full read-only image of the mount's real size: shutil.disk_usage("/") must not say 0 total.
            var usage = root.UsageOf(path);
            var image = Virtual(SQUASHFS_MAGIC, ST_RDONLY | ST_NODEV);
            image.f_blocks = (ulong)((usage.Bytes + BlockSize - 1) / BlockSize);
            image.f_files = (ulong)usage.Entries;
            return image;
        }
        var quota = space.Quota;
        var st = Virtual(TMPFS_MAGIC, ST_NOSUID | ST_NODEV);
        st.f_blocks = (ulong)(quota.Bytes / BlockSize);
        st.f_bfree = st.f_bavail = (ulong)Math.Max(0, (quota.Bytes - space.Bytes) / BlockSize);
        st.f_files = (ulong)quota.Entries;
        st.f_ffree = (ulong)Math.Max(0, quota.Entries - space.Entries);
        return st;
    }

    /// <summary>The statistics of the file system <paramref name="file"/> is on.</summary>
    public static Kernel.statfs ForFile(RootFileSystem root, OpenFile file) => file switch
    {
        PipeEnd { IsNamed: false } or ChannelFile or StreamFile => Virtual(PIPEFS_MAGIC, 0),
        SocketEnd => Virtual(SOCKFS_MAGIC, 0),
        EventFile or EpollFile => Virtual(ANON_INODE_FS_MAGIC, 0),
        _ => ForPath(root, file.GuestPath),
    };

    private static Kernel.statfs Virtual(long type, long flags) => new()
    {
        f_type = type,
        f_bsize = BlockSize,
        f_frsize = BlockSize,
        f_namelen = NameMax,
        f_flags = flags | ST_VALID,
    };
}

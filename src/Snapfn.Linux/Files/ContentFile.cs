using System.Text;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>
/// A read-only file whose bytes the VMM makes up: /proc/cpuinfo, /proc/stat and /sys/devices/system/cpu/{possible,
/// present,online}, which libraries read to size their thread pools (PyTorch's cpuinfo aborts without them) and which
/// describe the guest: one CPU, with the host CPU's model and flags; /etc/passwd, /etc/group and /etc/nsswitch.conf
/// with the guest's users, whatever the root holds there; /proc/self/status and /proc/self/maps (ProcFiles).
/// </summary>
public sealed class ContentFile : OpenFile
{
    private readonly byte[] _content;
    private long _offset;

    public ContentFile(string guestPath, byte[] content, int statusFlags) : base(guestPath, statusFlags)
    {
        _content = content;
    }

    private static readonly Lazy<byte[]> _cpuInfo = new(MakeCpuInfo);

    /// <summary>The made-up files, by path; read once per process.</summary>
    public static IReadOnlyDictionary<string, Func<byte[]>> Known { get; } = new Dictionary<string, Func<byte[]>>(StringComparer.Ordinal)
    {
        ["/proc/cpuinfo"] = () => _cpuInfo.Value,
        ["/sys/devices/system/cpu/possible"] = () => "0\n"u8.ToArray(),
        ["/sys/devices/system/cpu/present"] = () => "0\n"u8.ToArray(),
        ["/sys/devices/system/cpu/online"] = () => "0\n"u8.ToArray(),
        // One CPU for libuv's uv_cpu_info (Node's os.cpus(), which is [] without the file, so that code sizing a pool
        // by os.cpus().length gets 0), in the format it parses (it aborts on another); the times are not kept: zero.
        ["/proc/stat"] = () => "cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\nintr 0\nctxt 0\nprocesses 1\nprocs_running 1\nprocs_blocked 0\n"u8.ToArray(),
        // Who the program is: root (uid 0, as getuid says) and nobody, with Debian's names and homes; glibc reads these
        // for getpwuid/getgrgid (its default without nsswitch.conf is "files", which the file here also says).
        ["/etc/passwd"] = () => "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"u8.ToArray(),
        ["/etc/group"] = () => "root:x:0:\nnogroup:x:65534:\n"u8.ToArray(),
        ["/etc/nsswitch.conf"] = () => "passwd: files\ngroup: files\nshadow: files\nhosts: files\n"u8.ToArray(),
    };

    public override long Read(Span<byte> buffer)
    {
        var n = ReadAt(buffer, _offset);
        if (n > 0)
            _offset += n;
        return n;
    }

    public override long ReadAt(Span<byte> buffer, long offset)
    {
        if (offset >= _content.Length)
            return 0;
        var n = (int)Math.Min(buffer.Length, _content.Length - offset);
        _content.AsSpan((int)offset, n).CopyTo(buffer);
        return n;
    }

    public override long Seek(long offset, int whence)
    {
        var target = whence switch
        {
            Kernel.SEEK_SET => offset,
            Kernel.SEEK_CUR => _offset + offset,
            Kernel.SEEK_END => _content.Length + offset,
            _ => -1,
        };
        if (target < 0)
            return -Errno.EINVAL;
        _offset = target;
        return target;
    }

    public override int Stat(out Kernel.stat st) => Stat(GuestPath, _content.Length, out st);

    public static int Stat(string path, long size, out Kernel.stat st)
    {
        st = default;
        st.st_mode = Kernel.S_IFREG | 0x124; // 0444
        st.st_nlink = 1;
        st.st_size = size;
        st.st_blksize = 4096;
        st.st_ino = 0x300 + (ulong)(uint)StringComparer.Ordinal.GetHashCode(path) % 0x1000;
        return 0;
    }

    /// <summary>The host's first processor block, renumbered as the guest's only CPU.</summary>
    private static byte[] MakeCpuInfo()
    {
        string host;
        try
        {
            host = File.ReadAllText("/proc/cpuinfo");
        }
        catch (IOException)
        {
            host = "";
        }
        var first = host.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "processor\t: 0\nvendor_id\t: unknown";
        var lines = first.Split('\n').Select(line =>
        {
            var key = line.Split(':')[0].Trim();
            return key switch
            {
                "processor" or "physical id" or "core id" or "apicid" or "initial apicid" => $"{key}\t: 0",
                "siblings" or "cpu cores" => $"{key}\t: 1",
                _ => line,
            };
        });
        return Encoding.ASCII.GetBytes(string.Join('\n', lines) + "\n\n");
    }
}

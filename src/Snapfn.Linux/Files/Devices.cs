using System.Security.Cryptography;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>The character devices a program may open: /dev/null, /dev/zero, /dev/urandom and /dev/random. Random
/// bytes are fresh host entropy on every read, so restored copies of one snapshot never share them.</summary>
public sealed class DeviceFile : OpenFile
{
    private readonly DeviceKind _kind;

    public DeviceFile(DeviceKind kind, string guestPath, int statusFlags) : base(guestPath, statusFlags)
    {
        _kind = kind;
    }

    /// <summary>The device a path names, or null.</summary>
    public static DeviceKind? ForPath(string path) => path switch
    {
        "/dev/null" => DeviceKind.Null,
        "/dev/zero" => DeviceKind.Zero,
        "/dev/urandom" => DeviceKind.Urandom,
        "/dev/random" => DeviceKind.Random,
        _ => null,
    };

    public override long Read(Span<byte> buffer)
    {
        switch (_kind)
        {
            case DeviceKind.Null:
                return 0;
            case DeviceKind.Zero:
                buffer.Clear();
                return buffer.Length;
            default:
                RandomNumberGenerator.Fill(buffer);
                return buffer.Length;
        }
    }

    public override long Write(ReadOnlySpan<byte> buffer) => buffer.Length;

    public override long ReadAt(Span<byte> buffer, long offset) => Read(buffer);

    public override long WriteAt(ReadOnlySpan<byte> buffer, long offset) => buffer.Length;

    public override long Seek(long offset, int whence) => 0;

    public override int Stat(out Kernel.stat st) => Stat(_kind, out st);

    public static int Stat(DeviceKind kind, out Kernel.stat st)
    {
        st = default;
        st.st_mode = Kernel.S_IFCHR | 0x1b6; // 0666
        st.st_nlink = 1;
        st.st_blksize = 4096;
        st.st_ino = 0x100 + (ulong)kind;
        // Linux's numbers: mem devices are major 1; null 3, zero 5, random 8, urandom 9.
        st.st_rdev = (1UL << 8) | kind switch
        {
            DeviceKind.Null => 3UL,
            DeviceKind.Zero => 5UL,
            DeviceKind.Random => 8UL,
            _ => 9UL,
        };
        return 0;
    }
}

public enum DeviceKind
{
    Null,
    Zero,
    Urandom,
    Random,
}

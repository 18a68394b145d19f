using System.Text;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Syscalls;

namespace Snapfn.Linux.Tests.Files;

/// <summary>A process state whose /tmp was crafted (a state file is data from disk): the reader refuses it before
/// anything could be written back. The bytes are written here as <see cref="ProcessState.Serialize"/> lays them
/// out, and a well-formed one is read back, so that each refusal is the /tmp check's and not a format error.</summary>
public sealed class TmpStateTests
{
    [Fact]
    public void A_well_formed_tmp_is_read_back()
    {
        var state = ProcessState.Deserialize(State(("dir", 1, 0x1ed, []), ("dir/file", 0, 0x1a4, "data"u8.ToArray()), ("link", 2, 0x1ff, "/etc"u8.ToArray())));
        Assert.Equal(["dir", "dir/file", "link"], state.Tmp.Select(e => e.Path));
    }

    public static TheoryData<string, int, string> Crafted => new()
    {
        { "../../etc/cron.d/x", 0, "x" },
        { "a/../../x", 0, "x" },
        { "/etc/passwd", 0, "x" },
        { "", 0, "x" },
        { "a//b", 0, "x" },
        { ".", 1, "" },
        { "nul\0name", 0, "x" },
        { "dir", 1, "content" },
        { "link", 2, "" },
        { "link", 2, "a\0b" },
        { "odd", 9, "x" },
    };

    [Theory]
    [MemberData(nameof(Crafted))]
    public void A_crafted_tmp_entry_is_refused(string path, int kind, string content)
    {
        var bytes = State((path, kind, 0x1a4, Encoding.UTF8.GetBytes(content)));
        Assert.Throws<InvalidDataException>(() => ProcessState.Deserialize(bytes));
    }

    [Fact]
    public void Owners_and_modification_times_are_written_and_read_back()
    {
        var time = new Kernel.timespec { tv_sec = 981173106, tv_nsec = 123456789 };
        var state = WithTmp(ProcessState.Deserialize(State()),
            new ProcessState.TmpEntry("f", ProcessState.TmpEntryKind.File, 0x1a4, "x"u8.ToArray()) { Uid = 1000, Gid = 1001, Modified = time },
            new ProcessState.TmpEntry("g", ProcessState.TmpEntryKind.File, 0x1a4, []));

        var read = ProcessState.Deserialize(state.Serialize());

        Assert.Equal((1000u, 1001u, time), (read.Tmp[0].Uid, read.Tmp[0].Gid, read.Tmp[0].Modified!.Value));
        Assert.Equal((0u, 0u, (Kernel.timespec?)null), (read.Tmp[1].Uid, read.Tmp[1].Gid, read.Tmp[1].Modified));
    }

    [Fact]
    public void An_owner_of_minus_one_or_a_bad_time_is_refused()
    {
        var state = ProcessState.Deserialize(State());
        Assert.Throws<InvalidDataException>(() => ProcessState.Deserialize(
            WithTmp(state, new ProcessState.TmpEntry("f", ProcessState.TmpEntryKind.File, 0x1a4, []) { Gid = uint.MaxValue }).Serialize()));
        Assert.Throws<InvalidDataException>(() => ProcessState.Deserialize(
            WithTmp(state, new ProcessState.TmpEntry("f", ProcessState.TmpEntryKind.File, 0x1a4, []) { Modified = new() { tv_nsec = -1 } }).Serialize()));
    }

    [Fact]
    public void Supplementary_groups_are_written_and_read_back()
    {
        var s = ProcessState.Deserialize(State());
        var state = new ProcessState
        {
            Program = s.Program, RootFingerprint = s.RootFingerprint, Cwd = s.Cwd, Umask = s.Umask, FsBase = s.FsBase, ThreadName = s.ThreadName,
            BrkStart = s.BrkStart, BrkEnd = s.BrkEnd, Mappings = s.Mappings, Descriptions = s.Descriptions, Pipes = s.Pipes,
            Descriptors = s.Descriptors, SignalActions = s.SignalActions, SignalMask = s.SignalMask, AlternateStack = s.AlternateStack,
            PendingRead = s.PendingRead, Tmp = s.Tmp, Threads = s.Threads, LeaderExitStatus = s.LeaderExitStatus, Groups = [10, 13, 20],
        };
        Assert.Equal([10u, 13u, 20u], ProcessState.Deserialize(state.Serialize()).Groups);
        Assert.Empty(s.Groups); // a version 1 state has none
    }

    private static ProcessState WithTmp(ProcessState s, params ProcessState.TmpEntry[] tmp) => new()
    {
        Program = s.Program, RootFingerprint = s.RootFingerprint, Cwd = s.Cwd, Umask = s.Umask, FsBase = s.FsBase, ThreadName = s.ThreadName,
        BrkStart = s.BrkStart, BrkEnd = s.BrkEnd, Mappings = s.Mappings, Descriptions = s.Descriptions, Pipes = s.Pipes,
        Descriptors = s.Descriptors, SignalActions = s.SignalActions, SignalMask = s.SignalMask, AlternateStack = s.AlternateStack,
        PendingRead = s.PendingRead, Tmp = tmp, Threads = s.Threads, LeaderExitStatus = s.LeaderExitStatus,
    };

    [Fact]
    public void Contents_past_the_snapshot_limit_are_refused()
    {
        var half = new byte[ProcessState.MaxTmpBytes / 2 + 1];
        Assert.Throws<InvalidDataException>(() => ProcessState.Deserialize(State(("a", 0, 0x1a4, half), ("b", 0, 0x1a4, half))));
    }

    private static byte[] State(params (string Path, int Kind, int Mode, byte[] Content)[] tmp)
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(1); // version
            w.Write("/usr/bin/python3");
            w.Write(""); // root fingerprint
            w.Write("/");
            w.Write(0x12); // umask
            w.Write(0UL); // FS base
            w.Write(4);
            w.Write("test"u8);
            w.Write(0x1000000UL); // brk start and end
            w.Write(0x1000000UL);
            w.Write(0); // mappings
            w.Write(0); // descriptions
            w.Write(0); // descriptors
            for (var signal = 1; signal <= SignalState.Count; signal++)
            {
                w.Write(0UL);
                w.Write(0UL);
                w.Write(0UL);
                w.Write(0UL);
            }
            w.Write(0UL); // signal mask
            w.Write(0UL); // alternate stack
            w.Write(0);
            w.Write(0UL);
            w.Write(false); // pending read
            w.Write(0UL);
            w.Write(0UL);
            w.Write(tmp.Length);
            foreach (var (path, kind, mode, content) in tmp)
            {
                w.Write(path);
                w.Write(kind);
                w.Write(mode);
                w.Write(content.Length);
                w.Write(content);
            }
        }
        return stream.ToArray();
    }
}

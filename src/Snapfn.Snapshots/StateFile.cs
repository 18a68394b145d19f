using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Snapfn.Interop;
using Snapfn.Vmm;

namespace Snapfn.Snapshots;

/// <summary>
/// The state file: magic, format version, the snapshot's identity and vCPU state, then a SHA-256 of everything
/// before it. Any flipped byte, truncation or foreign version is refused before a guest is built from it. The hash
/// finds corruption, not a forger (anyone who can write the file can hash it again): what the VMM owns is never
/// taken from it (docs/trust-model.md).
/// </summary>
public static class StateFile
{
    /// <summary>2: the process state of a Linux program follows the vCPU. 3: the digests of the VMM's pages and of
    /// the memory file follow the memory file's name.</summary>
    public const uint FormatVersion = 3;
    private static readonly byte[] _magic = "SNAPFNST"u8.ToArray();
    private const int HashSize = 32;

    public static byte[] Serialize(SnapshotState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(_magic);
            w.Write(FormatVersion);
            w.Write(state.Id.ToByteArray());
            w.Write(state.Function);
            w.Write(state.ElfSha256);
            w.Write(state.MemorySize);
            w.Write(state.ImageEnd);
            w.Write(state.MemoryFileName);
            w.Write(state.VmmPagesSha256.Length);
            w.Write(state.VmmPagesSha256);
            w.Write(state.MemoryDigest.ChunkSize);
            w.Write(state.MemoryDigest.Chunks.Count);
            foreach (var chunk in state.MemoryDigest.Chunks)
            {
                w.Write((ulong)chunk);
                w.Write((ulong)(chunk >> 64));
            }
            w.Write(state.CreatedAt.ToUnixTimeMilliseconds());
            WriteStruct(w, state.Vcpu.Regs);
            WriteStruct(w, state.Vcpu.Sregs);
            WriteStruct(w, state.Vcpu.Xcrs);
            w.Write(state.Vcpu.Xsave.Length);
            w.Write(state.Vcpu.Xsave);
            w.Write(state.Vcpu.Msrs.Count);
            foreach (var msr in state.Vcpu.Msrs)
            {
                w.Write(msr.Index);
                w.Write(msr.Value);
            }
            var process = state.Process?.Serialize() ?? [];
            w.Write(process.Length);
            w.Write(process);
        }
        var body = stream.ToArray();
        return [.. body, .. SHA256.HashData(body)];
    }

    /// <summary>Parses and verifies a state file; <paramref name="remedy"/> is what fixes a bad one.</summary>
    public static SnapshotState Deserialize(ReadOnlySpan<byte> bytes, string path, SnapshotRemedy remedy)
    {
        string Bad(string what) => $"snapshot state file '{path}' {what}";
        if (bytes.Length < _magic.Length + 4 + HashSize)
            throw new SnapshotInvalidException(Bad($"is truncated ({bytes.Length} bytes)"), remedy);
        if (!bytes[.._magic.Length].SequenceEqual(_magic))
            throw new SnapshotInvalidException(Bad("is not a Snapfn state file (bad magic)"), remedy);
        var version = BitConverter.ToUInt32(bytes[_magic.Length..]);
        if (version != FormatVersion)
            throw new SnapshotInvalidException(Bad(version < FormatVersion
                ? $"was written by an older Snapfn (format version {version}; this one reads version {FormatVersion}, which also keeps the digests `snapfn verify` checks)"
                : $"has format version {version}; this Snapfn reads version {FormatVersion}"), remedy);
        var body = bytes[..^HashSize];
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes[^HashSize..]))
            throw new SnapshotInvalidException(Bad("is corrupt or truncated (checksum mismatch)"), remedy);
        try
        {
            using var r = new BinaryReader(new MemoryStream(body.ToArray()), Encoding.UTF8);
            r.ReadBytes(_magic.Length + 4);
            var id = new Guid(r.ReadBytes(16));
            var function = r.ReadString();
            var elf = r.ReadString();
            var memorySize = r.ReadUInt64();
            var imageEnd = r.ReadUInt64();
            var memoryFile = r.ReadString();
            var vmmPages = r.ReadBytes(Count(r, 1));
            var chunkSize = r.ReadUInt64();
            var chunkCount = r.ReadInt32();
            if (chunkCount is < 0 or > MemoryDigest.MaxChunks || chunkSize != MemoryDigest.ChunkSizeFor(memorySize) ||
                (ulong)chunkCount != (memorySize + chunkSize - 1) / chunkSize)
                throw new SnapshotInvalidException(Bad("has a memory digest that does not fit its memory size"), remedy);
            var chunks = new UInt128[chunkCount];
            for (var i = 0; i < chunks.Length; i++)
                chunks[i] = r.ReadUInt64() | (UInt128)r.ReadUInt64() << 64;
            var created = DateTimeOffset.FromUnixTimeMilliseconds(r.ReadInt64());
            var regs = ReadStruct<Kvm.kvm_regs>(r);
            var sregs = ReadStruct<Kvm.kvm_sregs>(r);
            var xcrs = ReadStruct<Kvm.kvm_xcrs>(r);
            var xsave = r.ReadBytes(Count(r, 1));
            var msrs = new MsrValue[Count(r, 12)];
            for (var i = 0; i < msrs.Length; i++)
                msrs[i] = new MsrValue(r.ReadUInt32(), r.ReadUInt64());
            var processBytes = r.ReadInt32();
            if (processBytes < 0 || processBytes > r.BaseStream.Length - r.BaseStream.Position)
                throw new SnapshotInvalidException(Bad("has a process state longer than the file"), remedy);
            var process = processBytes == 0 ? null : Linux.ProcessState.Deserialize(r.ReadBytes(processBytes));
            if (r.BaseStream.Position != r.BaseStream.Length)
                throw new SnapshotInvalidException(Bad("has trailing bytes"), remedy);
            // Joined to the snapshot's folder: a path, a `..` or any other name could point outside it.
            if (!SnapshotFolder.IsMemoryFileName(memoryFile))
                throw new SnapshotInvalidException(Bad($"names memory file {Quoted(memoryFile)}, which is not a plain memory file name ({SnapshotFolder.MemoryFilePattern})"), remedy);
            return new SnapshotState
            {
                Id = id, Function = function, ElfSha256 = elf, MemorySize = memorySize, ImageEnd = imageEnd,
                MemoryFileName = memoryFile, VmmPagesSha256 = vmmPages, MemoryDigest = new MemoryDigest(chunkSize, chunks), CreatedAt = created, Vcpu = new VcpuState(regs, sregs, xsave, xcrs, msrs), Process = process,
            };
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or OverflowException or InvalidDataException or FormatException)
        {
            throw new SnapshotInvalidException(Bad("is malformed"), remedy, e);
        }
    }

    /// <summary>A count of entries of at least <paramref name="entrySize"/> bytes each that the rest of the file can
    /// hold: checked before anything is allocated for them, so a small file cannot make us allocate gigabytes.</summary>
    private static int Count(BinaryReader r, int entrySize)
    {
        var n = r.ReadInt32();
        return n >= 0 && n <= (r.BaseStream.Length - r.BaseStream.Position) / entrySize
            ? n
            : throw new InvalidDataException($"a count of {n} does not fit in the rest of the file");
    }

    /// <summary>A name from the file, quoted for a one-line message: control characters escaped, at most 80 shown.</summary>
    private static string Quoted(string name)
    {
        var shown = name.Length > 80 ? name[..80] + "…" : name;
        var text = new StringBuilder("'");
        foreach (var c in shown)
        {
            if (char.IsControl(c))
                text.Append($"\\u{(int)c:x4}");
            else
                text.Append(c);
        }
        return text.Append('\'').ToString();
    }

    private static void WriteStruct<T>(BinaryWriter w, T value) where T : unmanaged =>
        w.Write(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    private static T ReadStruct<T>(BinaryReader r) where T : unmanaged
    {
        var bytes = r.ReadBytes(Unsafe.SizeOf<T>());
        if (bytes.Length != Unsafe.SizeOf<T>())
            throw new EndOfStreamException();
        return MemoryMarshal.Read<T>(bytes);
    }
}

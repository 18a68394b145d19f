using System.Security.Cryptography;
using System.Text;
using Snapfn.Linux;
using Snapfn.Vmm;

namespace Snapfn.Snapshots;

/// <summary>
/// A function that is a Linux program (a Python function and its shim, say): booted with
/// <see cref="LinuxProcess.Start"/>, restored with its <see cref="ProcessState"/>. <paramref name="process"/> says
/// how the host runs it (root, mounts, program, output); <paramref name="codeSha256"/> identifies its code.
/// </summary>
public sealed class LinuxGuest(ProcessOptions process, string codeSha256) : IGuestProgram
{
    public ProcessOptions Process { get; } = process ?? throw new ArgumentNullException(nameof(process));

    public string Sha256 { get; } = codeSha256;

    public MicroVm Boot(MicroVmOptions options) => LinuxProcess.Start(ProcessFor(options)).Vm;

    public MicroVm Restore(SnapshotState state, VmShell shell, GuestMemory memory, MicroVmOptions options)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Process is not { } saved)
        {
            shell?.Dispose();
            throw new SnapshotInvalidException($"the snapshot of '{state.Function}' is of a C function, not of a Linux program",
                SnapshotRemedy.TakeSnapshot(state.Function));
        }
        try
        {
            // SnapshotRun.Start passes the snapshot's memory size, whatever the caller's options said.
            return LinuxProcess.Restore(saved, ProcessFor(options), shell!, memory, state.Layout, state.Vcpu).Vm;
        }
        catch (ProcessRestoreException e)
        {
            throw new SnapshotInvalidException(e.Message, SnapshotRemedy.TakeSnapshot(state.Function), e);
        }
    }

    public ProcessState? CaptureProcess(MicroVm vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        return (vm.SyscallHandler as LinuxProcess ?? throw new InvalidOperationException("the VM does not run a Linux program")).Capture();
    }

    /// <summary>The process options a VM built with <paramref name="options"/> runs with: its size, limits and log; the program's output lines go to the log,
    /// and its bytes to the VM's output switch (the same one the VM gets, so that a VM kept between requests sends
    /// each request's output where that request says).</summary>
    public ProcessOptions ProcessFor(MicroVmOptions options)
    {
        var output = GuestOutputSwitch.Of(options.Output);
        var stdout = new LineWriter(options.Log);
        var stderr = new LineWriter(options.Log);
        return Process with
        {
            Vm = options with { Output = output },
            StandardOutput = Process.StandardOutput ?? (bytes =>
            {
                stdout.Write(bytes);
                output.Write(GuestOutputKind.Stdout, bytes);
            }),
            StandardError = Process.StandardError ?? (bytes =>
            {
                stderr.Write(bytes);
                output.Write(GuestOutputKind.Stderr, bytes);
            }),
        };
    }

    /// <summary>SHA-256 over files, in the order given, with their names: identifies a function's code.</summary>
    public static string HashFiles(IEnumerable<(string Name, string Path)> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, path) in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(name + "\0"));
            hash.AppendData(File.ReadAllBytes(path));
            hash.AppendData("\0"u8);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Splits a byte stream into lines for a log (a program's stdout and stderr).</summary>
    private sealed class LineWriter(Action<string>? log)
    {
        private readonly List<byte> _line = [];

        public void Write(ReadOnlySpan<byte> bytes)
        {
            if (log is null)
                return;
            foreach (var b in bytes)
            {
                if (b == '\n')
                {
                    log(Encoding.UTF8.GetString([.. _line]));
                    _line.Clear();
                }
                else if (_line.Count < 64 * 1024)
                {
                    _line.Add(b);
                }
            }
        }
    }
}

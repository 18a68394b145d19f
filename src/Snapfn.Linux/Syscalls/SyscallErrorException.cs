namespace Snapfn.Linux.Syscalls;

/// <summary>A system call fails with an errno deep inside a helper; the dispatcher returns it negated.</summary>
public sealed class SyscallErrorException : Exception
{
    public SyscallErrorException(int errno) : base($"system call failed with {Abi.Errno.Name(errno)}")
    {
        Errno = errno;
    }

    public SyscallErrorException() { }

    public SyscallErrorException(string message) : base(message) { }

    public SyscallErrorException(string message, Exception innerException) : base(message, innerException) { }

    public int Errno { get; }
}

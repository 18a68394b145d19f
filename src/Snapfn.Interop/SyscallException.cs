using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Snapfn.Interop;

/// <summary>A failed system call: carries the errno, the operation ("ioctl(KVM_CREATE_VCPU)") and strerror's text.</summary>
public sealed class SyscallException : IOException
{
    public SyscallException(string operation, int errno)
        : base($"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
    {
        Operation = operation;
        Errno = errno;
        HResult = errno;
    }

    public SyscallException() : this("unknown operation", 0) { }

    public SyscallException(string message) : base(message) { Operation = "unknown operation"; }

    public SyscallException(string message, Exception innerException) : base(message, innerException) { Operation = "unknown operation"; }

    public string Operation { get; }

    public int Errno { get; }

    /// <summary>Returns <paramref name="result"/>, or throws with the last errno when it is negative.</summary>
    public static int Check(int result, string operation)
    {
        if (result < 0)
            Throw(operation, Marshal.GetLastPInvokeError());
        return result;
    }

    /// <inheritdoc cref="Check(int, string)"/>
    public static long Check(long result, string operation)
    {
        if (result < 0)
            Throw(operation, Marshal.GetLastPInvokeError());
        return result;
    }

    [DoesNotReturn]
    public static void Throw(string operation, int errno) => throw new SyscallException(operation, errno);
}

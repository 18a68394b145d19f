using System.Text;

namespace Snapfn.Linux.Files;

/// <summary>A host path or name as the *at system calls take it: UTF-8 with a NUL at the end.</summary>
internal static class CString
{
    public static byte[] Of(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}
